package statsd

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output/outputtest"
)

var update = flag.Bool("update", false, "rewrite the want.txt files of testdata/cases")

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func newOutput(t testing.TB, cfg Config) *Output {
	t.Helper()
	o, err := New(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// TestCases sends each testdata/cases/NAME/in.jsonl as one batch over TCP,
// with the logger namespace and DogStatsD tags on, and compares what statsd
// would receive, followed by the output's stats, with want.txt.
func TestCases(t *testing.T) {
	outputtest.Cases(t, *update, func(t *testing.T, batch []*metlog.Message) string {
		srv := outputtest.NewTCPServer(t)
		cfg := Defaults()
		cfg.Address, cfg.Protocol = srv.Addr(), "tcp"
		cfg.LoggerNamespace = true
		cfg.Tags = "dogstatsd"
		o := newOutput(t, cfg)
		if err := o.Write(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		o.Close()
		st := o.Stats()
		var got string
		if st.Sent > 0 {
			got = srv.Next(t)
		}
		return got + fmt.Sprintf("# sent=%d skipped=%d invalid=%d\n", st.Sent, st.Skipped, st.Invalid)
	})
}

func TestKeys(t *testing.T) {
	m := &metlog.Message{Type: "counter", Logger: "web app", Payload: "2",
		Fields: []metlog.Field{metlog.String("name", "Foo::Bar"), metlog.Float("rate", 0.5), metlog.String("region", "eu")}}
	for _, tc := range []struct {
		prefix string
		ns     bool
		tags   string
		want   string
	}{
		{"", false, "none", "Foo.Bar:2|c|@0.5\n"},
		{"metlog", false, "none", "metlog.Foo.Bar:2|c|@0.5\n"},
		{"metlog.eu", true, "none", "metlog.eu.web_app.Foo.Bar:2|c|@0.5\n"},
		{"", true, "dogstatsd", "web_app.Foo.Bar:2|c|@0.5|#region:eu\n"},
	} {
		cfg := Defaults()
		cfg.Prefix, cfg.LoggerNamespace, cfg.Tags = tc.prefix, tc.ns, tc.tags
		o := newOutput(t, cfg)
		got, ok := o.appendLine(nil, m)
		if !ok || string(got) != tc.want {
			t.Errorf("%+v: got %q %v, want %q", tc, got, ok, tc.want)
		}
	}
}

func TestUDPDatagrams(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cfg := Defaults()
	cfg.Address, cfg.MaxDatagram = pc.LocalAddr().String(), 100
	o := newOutput(t, cfg)
	var batch []*metlog.Message
	var want strings.Builder
	for i := range 30 {
		batch = append(batch, &metlog.Message{Type: "counter", Payload: "1",
			Fields: []metlog.Field{metlog.String("name", fmt.Sprintf("requests.%02d", i))}})
		fmt.Fprintf(&want, "requests.%02d:1|c\n", i)
	}
	if err := o.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	datagrams := 0
	for got.Len() < want.Len() {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got.String(), err)
		}
		if n > 100 || buf[n-1] != '\n' {
			t.Errorf("datagram %q", buf[:n])
		}
		got.Write(buf[:n])
		datagrams++
	}
	if got.String() != want.String() {
		t.Errorf("got %q\nwant %q", got.String(), want.String())
	}
	if datagrams != 5 { // 16 bytes a line, 6 lines a datagram
		t.Errorf("%d datagrams, want 5", datagrams)
	}
	if st := o.Stats(); st.Sent != 30 {
		t.Errorf("stats %+v", st)
	}
}

// With TCP, a server that went away makes Write fail, and the next Write
// after it is back connects again.
func TestTCPReconnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		got <- line
	}()
	cfg := Defaults()
	cfg.Address, cfg.Protocol, cfg.Timeout = addr, "tcp", config.Duration(time.Second)
	o := newOutput(t, cfg)
	counter := []*metlog.Message{{Type: "counter", Payload: "1", Fields: []metlog.Field{metlog.String("name", "c")}}}
	if err := o.Write(context.Background(), counter); err != nil {
		t.Fatal(err)
	}
	select {
	case line := <-got:
		if line != "c:1|c\n" {
			t.Errorf("got %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received within 10s")
	}
	ln.Close() // the server is gone, and its connection closed
	if err := o.Write(context.Background(), counter); err == nil {
		t.Fatal("write with the server gone succeeded")
	}
	srv := outputtest.NewTCPServerAt(t, addr)
	if err := o.Write(context.Background(), counter); err != nil {
		t.Fatal(err)
	}
	o.Close()
	if s := srv.Next(t); s != "c:1|c\n" {
		t.Errorf("after reconnecting, got %q", s)
	}
}

func TestWriteContextDone(t *testing.T) {
	cfg := Defaults()
	o := newOutput(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg.Protocol = "tcp"
	o2 := newOutput(t, cfg)
	counter := []*metlog.Message{{Type: "counter", Payload: "1", Fields: []metlog.Field{metlog.String("name", "c")}}}
	for _, out := range []*Output{o, o2} {
		if err := out.Write(ctx, counter); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", out.cfg.Protocol, err)
		}
	}
}

func TestValidate(t *testing.T) {
	c := Config{Address: "nohost", Protocol: "sctp", MaxDatagram: 10, Prefix: "a|b", Tags: "influx"}
	err := c.Validate()
	for _, want := range []string{`address "nohost"`, `protocol "sctp"`, "timeout must be positive",
		"max_datagram 10", `prefix "a|b"`, `tags "influx"`} {
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
	outputtest.CheckSample(t, "statsd", Sample(), Defaults)
}
