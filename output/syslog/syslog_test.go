package syslog

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output/outputtest"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// testTime is the timestamp of the test messages.
var testTime = time.Date(2026, 11, 22, 5, 0, 0, 123456000, time.UTC)

func testMessages() []*metlog.Message {
	return []*metlog.Message{
		{Timestamp: testTime.UnixNano(), Type: "syslog", Logger: "app", Severity: metlog.Error, Hostname: "web01", Pid: 77,
			Payload: "first\nline two", Fields: []metlog.Field{
				metlog.String("facility", "local4"), metlog.String("msgid", "ORD"), metlog.String("order@32473.id", "9"),
				metlog.Int("other", 1)}},
		{Timestamp: testTime.UnixNano(), Type: "oldstyle", Severity: metlog.Info, Payload: "no logger, no host"},
	}
}

func newOutput(t *testing.T, cfg Config) *Output {
	t.Helper()
	o, err := New(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// octets frames msg with an octet count.
func octets(msg string) string { return strconv.Itoa(len(msg)) + " " + msg }

func TestFormats(t *testing.T) {
	first5424 := `<163>1 2026-11-22T05:00:00.123456Z web01 app 77 ORD [order@32473 id="9"] first`
	second5424 := `<14>1 2026-11-22T05:00:00.123456Z box metlog - - - no logger, no host`
	first3164 := `<163>Nov 22 05:00:00 web01 app[77]: first`
	second3164 := `<14>Nov 22 05:00:00 box metlog: no logger, no host`
	tests := []struct {
		format, framing string
		want            string
	}{
		{"rfc5424", "octet-counting", octets(first5424+"\nline two") + octets(second5424)},
		{"rfc5424", "newline", first5424 + " line two\n" + second5424 + "\n"},
		{"rfc3164", "octet-counting", octets(first3164+"\nline two") + octets(second3164)},
		{"rfc3164", "newline", first3164 + " line two\n" + second3164 + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.framing, func(t *testing.T) {
			srv := outputtest.NewTCPServer(t)
			cfg := Defaults()
			cfg.Address, cfg.Format, cfg.Framing, cfg.Timezone, cfg.Hostname = srv.Addr(), tt.format, tt.framing, "UTC", ""
			o := newOutput(t, cfg)
			o.hostname = "box"
			if err := o.Write(context.Background(), testMessages()); err != nil {
				t.Fatal(err)
			}
			o.Close()
			if got := srv.Next(t); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := Defaults()
	cfg.Address, cfg.Protocol, cfg.MaxMessageSize = pc.LocalAddr().String(), "udp", 480
	o := newOutput(t, cfg)
	msgs := testMessages()
	msgs[1].Payload = strings.Repeat("é", 300)
	if err := o.Write(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); !strings.HasSuffix(got, "first\nline two") {
		t.Errorf("datagram 1: %q", got)
	}
	n, _, err = pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); len(got) > 480 || len(got) < 478 || !strings.HasSuffix(got, "é") {
		t.Errorf("datagram 2: %d bytes, %q", len(got), got)
	}
	if s := o.Stats(); s.Messages != 2 || s.Truncated != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestCEF(t *testing.T) {
	msgs := outputtest.ReadMessages(t, "testdata/29-cef-plugin.json")
	cef := "CEF:0|Mozilla|Interop|1|LoginFailed|LoginFailed|5|cs1Label=requestClientApplication cs1=curl/7 requestMethod=GET request=/login src=10.1.2.3 dest=example.com suser=alice"
	tests := []struct {
		format string
		cef    bool
		want   string
	}{
		{"rfc3164", true, "<161>Nov 22 01:49:33 vm interop[18208]: " + cef + "\n"},
		{"rfc5424", true, "<161>1 2026-11-22T01:49:33.254298Z vm interop 18208 - - " + cef + "\n"},
		{"rfc5424", false, "<13>1 2026-11-22T01:49:33.254298Z vm ini-app 18208 - - " + cef + "\n"},
	}
	for _, tt := range tests {
		srv := outputtest.NewTCPServer(t)
		cfg := Defaults()
		cfg.Address, cfg.Format, cfg.Framing, cfg.Timezone, cfg.CEF = srv.Addr(), tt.format, "newline", "UTC", tt.cef
		o := newOutput(t, cfg)
		if err := o.Write(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
		o.Close()
		if got := srv.Next(t); got != tt.want {
			t.Errorf("%s cef=%v:\n got %q\nwant %q", tt.format, tt.cef, got, tt.want)
		}
	}
}

// A server that closed an idle connection costs no batch: the output
// notices before writing and connects again.
func TestReconnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	second := make(chan string, 1)
	go func() {
		c1, err := ln.Accept()
		if err != nil {
			return
		}
		c1.Read(make([]byte, 4096))
		c1.Close()
		c2, err := ln.Accept()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(c2)
		c2.Close()
		second <- string(b)
	}()
	cfg := Defaults()
	cfg.Address = ln.Addr().String()
	o := newOutput(t, cfg)
	msgs := testMessages()
	if err := o.Write(context.Background(), msgs[:1]); err != nil {
		t.Fatal(err)
	}
	// Await the server's close, and make the connection look idle.
	deadline := time.Now().Add(10 * time.Second)
	o.mu.Lock()
	for !o.peerClosed() {
		if time.Now().After(deadline) {
			t.Fatal("the server's close never arrived")
		}
	}
	o.lastUsed = time.Now().Add(-time.Minute)
	o.mu.Unlock()
	if err := o.Write(context.Background(), msgs[1:]); err != nil {
		t.Fatal(err)
	}
	o.Close()
	if got := <-second; !strings.HasSuffix(got, "no logger, no host") {
		t.Errorf("second connection got %q", got)
	}
}

func TestDialError(t *testing.T) {
	cfg := Defaults()
	cfg.Address = "127.0.0.1:" + outputtest.FreePort(t, "tcp")
	cfg.Timeout = 0
	if _, err := New(cfg, discard); err == nil {
		t.Fatal("zero timeout accepted")
	}
	cfg.Timeout = Defaults().Timeout
	o := newOutput(t, cfg)
	if err := o.Write(context.Background(), testMessages()); err == nil {
		t.Error("write to a closed port succeeded")
	}
}

func TestValidate(t *testing.T) {
	cfg := Config{Address: "nohost", Protocol: "sctp", Format: "json", Framing: "x", Facility: "local9",
		Timezone: "Mars/Olympus", MaxMessageSize: 1, TLS: TLS{CertFile: "c"}}
	err := cfg.Validate()
	for _, want := range []string{"address", "protocol", "format", "framing", "facility", "timezone",
		"max_message_size", "timeout", "tls"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// The sample configuration is the defaults, written out.
func TestSampleIsDefaults(t *testing.T) {
	var file struct {
		Output map[string]Config `toml:"output"`
	}
	dec := toml.NewDecoder(strings.NewReader(Sample()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		t.Fatal(err)
	}
	if got := file.Output["syslog"]; got != Defaults() {
		t.Errorf("sample %+v\ndefaults %+v", got, Defaults())
	}
}
