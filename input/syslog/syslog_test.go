package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/syslog"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
)

// start runs an input on free loopback ports until the test ends or stop
// is called, then checks that Run returned nil and left no goroutine
// behind.
func start(t testing.TB, cfg Config, sink input.Sink) (in *Input, stop func()) {
	t.Helper()
	if cfg.Address != "" {
		cfg.Address = "127.0.0.1:0"
	}
	if cfg.TCPAddress != "" {
		cfg.TCPAddress = "127.0.0.1:0"
	}
	in, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, sink) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			// A context.AfterFunc callback may still be finishing (it only
			// arms a timer); a real leak is still there a second later.
			g := leaked()
			for i := 0; len(g) > 0 && i < 100; i++ {
				time.Sleep(10 * time.Millisecond)
				g = leaked()
			}
			if len(g) > 0 {
				t.Errorf("goroutines left after Run returned:\n%s", strings.Join(g, "\n\n"))
			}
		})
	}
	t.Cleanup(stop)
	return in, stop
}

// leaked returns the stacks of the goroutines still running this
// package's input code.
func leaked() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "input/syslog.(*Input)") {
			out = append(out, g)
		}
	}
	return out
}

func waitCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testConfig is the defaults with UTC timestamps.
func testConfig() Config {
	cfg := Defaults()
	cfg.Timezone = "UTC"
	return cfg
}

func TestValidate(t *testing.T) {
	cfg := Config{
		Address: "nohost", TCPAddress: "alsonohost", Timezone: "Mars/Olympus", MaxMessageSize: 10,
		ReadBuffer: -1, Batch: 0, ConnLimits: input.ConnLimits{MinRate: -1}, IdleTimeout: -1, TLS: input.TLS{CertFile: "x"},
	}
	err := cfg.Validate()
	for _, want := range []string{"address", "tcp_address", "message_type", "timezone", "max_message_size",
		"read_buffer", "batch", "max_connections", "min_rate", "idle_timeout", "tls"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	none := Defaults()
	none.Address, none.TCPAddress = "", ""
	if err := none.Validate(); err == nil || !strings.Contains(err.Error(), "tcp_address or both") {
		t.Errorf("no address: %v", err)
	}
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// The sample configuration is the defaults, written out.
func TestSampleIsDefaults(t *testing.T) {
	var file struct {
		Input map[string]Config `toml:"input"`
	}
	dec := toml.NewDecoder(strings.NewReader(Sample()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		t.Fatal(err)
	}
	if got := file.Input["syslog"]; got != Defaults() {
		t.Errorf("sample %+v\ndefaults %+v", got, Defaults())
	}
}

func TestBindError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig()
	cfg.Address = "127.0.0.1:0"
	cfg.TCPAddress = ln.Addr().String()
	if _, err := New(cfg, slog.Default()); err == nil {
		t.Error("New bound a taken port")
	}
}

func sendUDP(t *testing.T, addr net.Addr, datagrams ...string) {
	t.Helper()
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range datagrams {
		if _, err := c.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUDP(t *testing.T) {
	cfg := testConfig()
	cfg.TCPAddress = ""
	cfg.MaxMessageSize = 512
	sink := &inputtest.Sink{}
	in, _ := start(t, cfg, sink)
	long := "<14>1 2026-11-22T05:00:00Z h app - - - " + strings.Repeat("y", 600)
	sendUDP(t, in.Addr(),
		"<13>1 2026-11-22T05:00:00.5Z vm app 42 ID1 [x@1 a=\"b\"] hello\n",
		"<34>Nov 22 05:00:00 vm su[7]: bsd",
		"not syslog at all",
		long,
		"\n",
	)
	got, err := sink.Wait(waitCtx(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	byPayload := map[string]*metlog.Message{}
	for _, m := range got {
		byPayload[m.Payload[:min(len(m.Payload), 20)]] = m
	}
	m := byPayload["hello"]
	if m == nil || m.Logger != "app" || m.Hostname != "vm" || m.Pid != 42 || m.Severity != metlog.Notice ||
		m.Type != "syslog" || m.Field("x@1.a") == nil || m.Time() != time.Date(2026, 11, 22, 5, 0, 0, 5e8, time.UTC) {
		t.Errorf("rfc 5424: %+v", m)
	}
	if m := byPayload["bsd"]; m == nil || m.Logger != "su" || m.Pid != 7 || m.Severity != metlog.Critical {
		t.Errorf("rfc 3164: %+v", m)
	}
	if m := byPayload["not syslog at all"]; m == nil || m.Field(syslog.FieldParseError) == nil {
		t.Errorf("kept: %+v", m)
	}
	if m := byPayload[strings.Repeat("y", 20)]; m == nil || len(m.Payload) != 512-len(long)+600 ||
		m.Field(syslog.FieldParseError).Strings[0] != truncatedText {
		t.Errorf("truncated: %+v", m)
	}
	s := in.Counters().Snapshot()
	if s.Received != 4 || s.Rejected["malformed"] != 1 || s.Rejected["too_large"] != 1 {
		t.Errorf("counters %+v", s)
	}
	if e := in.MalformedKinds(); e["no_priority"] != 1 {
		t.Errorf("parse errors %v", e)
	}
}

func TestUDPJournalFull(t *testing.T) {
	cfg := testConfig()
	cfg.TCPAddress = ""
	sink := &inputtest.Sink{Full: true}
	in, _ := start(t, cfg, sink)
	sendUDP(t, in.Addr(), "<13>a: b")
	if err := sink.WaitCalls(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	// The input counts the drop once Deliver has returned.
	ctx := waitCtx(t)
	for s := in.Counters().Snapshot(); s.Dropped != 1 || s.Received != 0; s = in.Counters().Snapshot() {
		select {
		case <-ctx.Done():
			t.Fatalf("counters %+v", s)
		case <-time.After(time.Millisecond):
		}
	}
}

// streamInput is the stream of TestTCP, in each framing, and what comes
// out of it.
var streamInput = []string{
	"<13>1 2026-11-22T05:00:00Z vm a 1 - - first",
	"<13>Nov 22 05:00:00 vm b[2]: second",
	"garbage",
	"<13>1 2026-11-22T05:00:00Z vm c - - - " + strings.Repeat("z", 600),
	"<13>1 2026-11-22T05:00:00Z vm d - - - last",
}

func TestTCP(t *testing.T) {
	for _, octet := range []bool{false, true} {
		t.Run(map[bool]string{false: "newline", true: "octet"}[octet], func(t *testing.T) {
			cfg := testConfig()
			cfg.Address = ""
			cfg.MaxMessageSize = 512
			sink := &inputtest.Sink{}
			in, stop := start(t, cfg, sink)
			c, err := net.Dial("tcp", in.TCPAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			for _, m := range streamInput {
				if octet {
					sb.WriteString(strconv.Itoa(len(m)) + " " + m)
				} else {
					sb.WriteString(m + "\n")
				}
			}
			if _, err := c.Write([]byte(sb.String())); err != nil {
				t.Fatal(err)
			}
			got, err := sink.Wait(waitCtx(t), len(streamInput))
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			stop()
			want := []string{"a", "b", "", "c", "d"}
			for i, m := range got {
				if m.Logger != want[i] {
					t.Errorf("message %d: logger %q, want %q (%+v)", i, m.Logger, want[i], m)
				}
			}
			if got[2].Payload != "garbage" || got[3].Field(syslog.FieldParseError) == nil || got[4].Payload != "last" {
				t.Errorf("messages %+v", got)
			}
			if s := in.Counters().Snapshot(); s.Received != 5 || s.Rejected["malformed"] != 1 || s.Rejected["too_large"] != 1 {
				t.Errorf("counters %+v", s)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	ca := inputtest.NewCA(t)
	srv := ca.Server()
	cfg := testConfig()
	cfg.Address = ""
	cfg.TLS = input.TLS{CertFile: srv.CertFile, KeyFile: srv.KeyFile}
	sink := &inputtest.Sink{}
	in, _ := start(t, cfg, sink)
	c, err := tls.Dial("tcp", in.TCPAddr().String(), &tls.Config{RootCAs: ca.Pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "<165>1 2026-11-22T05:00:00Z vm tls - - - over tls"
	if _, err := c.Write([]byte(strconv.Itoa(len(msg)) + " " + msg)); err != nil {
		t.Fatal(err)
	}
	got, err := sink.Wait(waitCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Logger != "tls" || got[0].Payload != "over tls" {
		t.Errorf("got %+v", got[0])
	}
}

// stampingSink stamps every message without a UUID, as the router does,
// and keeps the UUIDs.
type stampingSink struct {
	inputtest.Sink
	mu    sync.Mutex
	uuids map[metlog.UUID]int
}

func (s *stampingSink) Deliver(ctx context.Context, msgs []*metlog.Message, opts input.DeliverOptions) error {
	s.mu.Lock()
	for _, m := range msgs {
		if m.UUID == (metlog.UUID{}) {
			m.UUID = metlog.NewUUID()
		}
		s.uuids[m.UUID]++
	}
	s.mu.Unlock()
	return s.Sink.Deliver(ctx, msgs, opts)
}

// Messages are reused from batch to batch; the UUID the router gave one
// must not pass to the next.
func TestUUIDsNotReused(t *testing.T) {
	cfg := testConfig()
	cfg.Address = ""
	cfg.Batch = 2
	sink := &stampingSink{uuids: map[metlog.UUID]int{}}
	in, _ := start(t, cfg, sink)
	c, err := net.Dial("tcp", in.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Repeat("<13>a: b\n", 10))); err != nil {
		t.Fatal(err)
	}
	if _, err := sink.Wait(waitCtx(t), 10); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.uuids) != 10 {
		t.Errorf("%d distinct UUIDs for 10 messages", len(sink.uuids))
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestParser is the parser New makes from cfg.
func newTestParser(cfg Config) syslog.Parser {
	loc, _ := time.LoadLocation(cfg.Timezone)
	return syslog.Parser{Type: cfg.MessageType, Location: loc}
}

// With client certificates, each message names its sender's in the field
// tls_client; a client without one is refused; Reload serves a renewed
// server certificate.
func TestMutualTLSIdentity(t *testing.T) {
	ca := inputtest.NewCA(t)
	srv := ca.Server()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "srv.crt"), filepath.Join(dir, "srv.key")
	srv.CopyTo(t, certFile, keyFile)
	cfg := testConfig()
	cfg.Address = ""
	cfg.TLS = input.TLS{CertFile: certFile, KeyFile: keyFile, ClientCAFile: ca.File}
	sink := &inputtest.Sink{}
	in, _ := start(t, cfg, sink)
	client := ca.Client("web-7")
	send := func(msg string) *tls.Conn {
		c, err := tls.Dial("tcp", in.TCPAddr().String(), &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{client.Cert}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(strconv.Itoa(len(msg)) + " " + msg)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := send(`<165>1 2026-11-22T05:00:00Z vm app - - - signed by its certificate`)
	got, err := sink.Wait(waitCtx(t), 1)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if f := got[0].Field("tls_client"); f == nil || f.Strings[0] != "web-7" {
		t.Errorf("tls_client = %+v in %+v", f, got[0])
	}

	// Without a client certificate nothing gets through.
	bare, err := tls.Dial("tcp", in.TCPAddr().String(), &tls.Config{RootCAs: ca.Pool})
	if err == nil {
		bare.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = bare.Read(make([]byte, 1))
		bare.Close()
	}
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("a client without a certificate was served (err %v)", err)
	}

	// A renewed certificate is served after Reload.
	renewed := ca.Server()
	renewed.CopyTo(t, certFile, keyFile)
	if err := in.Reload(); err != nil {
		t.Fatal(err)
	}
	c = send(`<165>1 2026-11-22T05:00:01Z vm app - - - after the renewal`)
	defer c.Close()
	if serial := c.ConnectionState().PeerCertificates[0].SerialNumber; serial.Cmp(renewed.Serial) != 0 {
		t.Errorf("served serial %v, want the renewed %v", serial, renewed.Serial)
	}
	if _, err := sink.Wait(waitCtx(t), 2); err != nil {
		t.Fatal(err)
	}
}

// Messages over a source's rate limit are dropped and counted.
func TestRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.Address = ""
	cfg.Rate, cfg.Burst = 0.001, 5
	sink := &inputtest.Sink{}
	in, _ := start(t, cfg, sink)
	c, err := net.Dial("tcp", in.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		fmt.Fprintf(c, "<13>Nov 22 05:00:0%d vm app: line %d\n", i, i)
	}
	c.Close()
	ctx := waitCtx(t)
	for s := in.Counters().Snapshot(); s.Received+s.Rejected["rate_limited"] < 8; s = in.Counters().Snapshot() {
		select {
		case <-ctx.Done():
			t.Fatalf("counters %+v", s)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if s := in.Counters().Snapshot(); s.Received != 5 || s.Rejected["rate_limited"] != 3 {
		t.Errorf("received %d, rate limited %d; want 5 and 3", s.Received, s.Rejected["rate_limited"])
	}
}
