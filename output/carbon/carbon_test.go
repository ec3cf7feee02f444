package carbon

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output/outputtest"
)

var update = flag.Bool("update", false, "rewrite the want.txt files of testdata/cases")

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func newOutput(t *testing.T, cfg Config) *Output {
	t.Helper()
	o, err := New(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// TestCases sends each testdata/cases/NAME/in.jsonl as one batch, with
// direct formatting and the logger namespace on, and compares what carbon
// would receive, followed by the output's stats, with want.txt.
func TestCases(t *testing.T) {
	outputtest.Cases(t, *update, func(t *testing.T, batch []*metlog.Message) string {
		srv := outputtest.NewTCPServer(t)
		cfg := Defaults()
		cfg.Address = srv.Addr()
		cfg.Direct = true
		cfg.LoggerNamespace = true
		o := newOutput(t, cfg)
		o.now = func() time.Time { return time.Unix(1795312000, 0) }
		if err := o.Write(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		o.Close()
		st := o.Stats()
		var got string
		if st.Lines > 0 {
			got = srv.Next(t)
		}
		return got + fmt.Sprintf("# lines=%d skipped=%d invalid=%d\n", st.Lines, st.Skipped, st.Invalid)
	})
}

func TestNaming(t *testing.T) {
	m := &metlog.Message{Timestamp: 1795312180e9, Type: "counter", Logger: "web app", Payload: "2",
		Fields: []metlog.Field{metlog.String("name", "hits"), metlog.Float("rate", 0.5)}}
	for _, tc := range []struct {
		prefix string
		ns     bool
		want   string
	}{
		{"", false, "counters.hits 4 1795312180\n"},
		{"stats", false, "stats.counters.hits 4 1795312180\n"},
		{"stats.eu", true, "stats.eu.counters.web_app.hits 4 1795312180\n"},
		{"", true, "counters.web_app.hits 4 1795312180\n"},
	} {
		cfg := Defaults()
		cfg.Direct, cfg.Prefix, cfg.LoggerNamespace = true, tc.prefix, tc.ns
		o := newOutput(t, cfg)
		got, _ := o.appendMessage(nil, m)
		if string(got) != tc.want {
			t.Errorf("prefix %q ns %v: got %q, want %q", tc.prefix, tc.ns, got, tc.want)
		}
	}
}

func TestDirectOff(t *testing.T) {
	o := newOutput(t, Defaults())
	for _, typ := range []string{"counter", "timer", "gauge"} {
		m := &metlog.Message{Type: typ, Payload: "1", Fields: []metlog.Field{metlog.String("name", "x")}}
		if got, r := o.appendMessage(nil, m); len(got) != 0 || !r.skipped {
			t.Errorf("%s: got %q %+v with direct off", typ, got, r)
		}
	}
}

// A gauge delta in a batch that failed is applied once, when the batch is
// finally written.
func TestGaugeDeltaRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := Defaults()
	cfg.Address, cfg.Direct, cfg.Timeout = addr, true, config.Duration(time.Second)
	o := newOutput(t, cfg)
	gauge := func(p string) []*metlog.Message {
		return []*metlog.Message{{Timestamp: 1795312180e9, Type: "gauge", Payload: p,
			Fields: []metlog.Field{metlog.String("name", "q")}}}
	}
	if err := o.Write(context.Background(), gauge("+5")); err == nil {
		t.Fatal("write with nothing listening succeeded")
	}
	srv := outputtest.NewTCPServerAt(t, addr)
	for _, p := range []string{"+5", "+1"} {
		if err := o.Write(context.Background(), gauge(p)); err != nil {
			t.Fatal(err)
		}
	}
	o.Close()
	if got, want := srv.Next(t), "gauges.q 5 1795312180\ngauges.q 6 1795312180\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// After carbon closes the connection (a restart), the next batch goes on a
// new connection rather than into the dead one.
func TestReconnectAfterPeerClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 2)
	go func() {
		// The first connection: read one line, then close it.
		c, err := ln.Accept()
		if err != nil {
			return
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		got <- line
		// The second: read until the output closes it.
		if c, err = ln.Accept(); err != nil {
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		got <- string(b)
	}()
	cfg := Defaults()
	cfg.Address = ln.Addr().String()
	o := newOutput(t, cfg)
	stat := func(v string) []*metlog.Message {
		return []*metlog.Message{{Type: "statmetric", Payload: "a.b " + v + " 1795312180\n"}}
	}
	if err := o.Write(context.Background(), stat("1")); err != nil {
		t.Fatal(err)
	}
	if line := <-got; line != "a.b 1 1795312180\n" {
		t.Errorf("first connection got %q", line)
	}
	if err := o.Write(context.Background(), stat("2")); err != nil {
		t.Fatal(err)
	}
	o.Close()
	select {
	case b := <-got:
		if b != "a.b 2 1795312180\n" {
			t.Errorf("second connection got %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no second connection")
	}
}

func TestUDPDatagrams(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := Defaults()
	cfg.Protocol, cfg.Address, cfg.MaxDatagram = "udp", pc.LocalAddr().String(), 100
	o := newOutput(t, cfg)
	var payload strings.Builder
	for i := range 20 {
		fmt.Fprintf(&payload, "metric.number.%02d %d 1795312180\n", i, i)
	}
	long := "a." + strings.Repeat("x", 150) + " 1 1795312180\n"
	payload.WriteString(long)
	if err := o.Write(context.Background(), []*metlog.Message{{Type: "statmetric", Payload: payload.String()}}); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for got.Len() < payload.Len() {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got.String(), err)
		}
		d := buf[:n]
		if n > 100 && string(d) != long {
			t.Errorf("datagram of %d bytes: %q", n, d)
		}
		if d[len(d)-1] != '\n' {
			t.Errorf("datagram splits a line: %q", d)
		}
		got.Write(d)
	}
	if got.String() != payload.String() {
		t.Errorf("got %q\nwant %q", got.String(), payload.String())
	}
}

// A Write blocked on a peer that stops reading returns at its deadline,
// whether that is the configured timeout or the context's end.
func TestWriteBlocked(t *testing.T) {
	// A small receive buffer, inherited by accepted connections, keeps the
	// peer's window small.
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	line := "x." + strings.Repeat("y", 1000) + " 1 1795312180\n"
	big := strings.Repeat(line, (5<<20)/len(line)) // beyond the output's send buffer
	for _, cancelCtx := range []bool{false, true} {
		ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		started := make(chan net.Conn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 1)) // the Write is under way; read no more
			started <- c
		}()
		cfg := Defaults()
		cfg.Address = ln.Addr().String()
		if !cancelCtx {
			cfg.Timeout = config.Duration(200 * time.Millisecond)
		}
		o := newOutput(t, cfg)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- o.Write(ctx, []*metlog.Message{{Type: "statmetric", Payload: big}}) }()
		select {
		case c := <-started:
			defer c.Close()
		case err := <-errc:
			t.Fatalf("Write returned %v before the peer read anything", err)
		}
		if cancelCtx {
			cancel()
		}
		select {
		case err := <-errc:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("cancel %v: err = %v, want a deadline error", cancelCtx, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("cancel %v: Write did not return", cancelCtx)
		}
	}
}

func TestValidate(t *testing.T) {
	c := Config{Address: "nohost", Protocol: "sctp", MaxDatagram: 10, Prefix: "a b"}
	err := c.Validate()
	for _, want := range []string{`address "nohost"`, `protocol "sctp"`, "timeout must be positive",
		"max_datagram 10", `prefix "a b"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// The sample configuration parses strictly and sets the defaults.
func TestSample(t *testing.T) {
	outputtest.CheckSample(t, "carbon", Sample(), Defaults)
}
