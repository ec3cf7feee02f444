package statsd

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input"
)

// tcpStream is a stream with every kind of line: split anywhere, "\r\n",
// blank lines, bad lines, lines over the limit (64 bytes here), and a last
// line without a newline.
var tcpStream = "a:1|c\r\n\nb:2|ms|@0.5\nbad line\n" +
	"long:" + strings.Repeat("9", 200) + "|c\n" +
	"c:+3|g|#env:prod\n" +
	"long2:" + strings.Repeat("8", 59) + "|c\r\n" + // 68 bytes
	"ok:" + strings.Repeat("7", 56) + "|c\r\n" + // 64 bytes: the limit
	"x:1|q\n" +
	"d:alice|s"

var tcpWant = []struct{ typ, name, payload string }{
	{"counter", "a", "1"}, {"timer", "b", "2"}, {"gauge", "c", "+3"},
	{"counter", "ok", strings.Repeat("7", 56)}, {"set", "d", "alice"},
}

func checkTCPStream(t *testing.T, got []*metlog.Message, s input.Snapshot, errs map[string]uint64) {
	t.Helper()
	if len(got) != len(tcpWant) {
		t.Fatalf("got %d messages, want %d", len(got), len(tcpWant))
	}
	for i, w := range tcpWant {
		m := got[i]
		if m.Type != w.typ || m.Fields[0].Strings[0] != w.name || m.Payload != w.payload {
			t.Errorf("message %d: %s %s %s, want %v", i, m.Type, m.Fields[0].Strings[0], m.Payload, w)
		}
	}
	if s.Received != uint64(len(tcpWant)) || s.Rejected["malformed"] != 2 || s.Rejected["too_large"] != 2 {
		t.Errorf("counters %+v", s)
	}
	if errs["no_value"] != 1 || errs["unknown_type"] != 1 {
		t.Errorf("line errors %v", errs)
	}
}

// However the stream is cut into reads, the same lines come out of it.
func TestTCPFraming(t *testing.T) {
	for _, chunk := range []int{1, 2, 3, 7, 13, 64, 65, 66, 100, len(tcpStream)} {
		t.Run(fmt.Sprint(chunk), func(t *testing.T) {
			cfg := Defaults()
			cfg.MaxLineSize = 64
			in := testInput(cfg)
			sink := newLineSink(false)
			server, client := net.Pipe()
			done := make(chan struct{})
			go func() {
				defer close(done)
				defer server.Close()
				in.serveConn(context.Background(), server, sink)
			}()
			for p := tcpStream; len(p) > 0; {
				n := min(chunk, len(p))
				if _, err := client.Write([]byte(p[:n])); err != nil {
					t.Fatal(err)
				}
				p = p[n:]
			}
			client.Close()
			<-done
			checkTCPStream(t, sink.Messages(), in.counters.Snapshot(), in.MalformedKinds())
		})
	}
}

func dialTCP(t *testing.T, in *Input) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", in.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTCPEndToEnd(t *testing.T) {
	cfg := Defaults()
	cfg.MaxLineSize = 64
	sink := newLineSink(false)
	in, stop := start(t, cfg, sink, true)
	c := dialTCP(t, in)
	if _, err := io.WriteString(c, tcpStream); err != nil {
		t.Fatal(err)
	}
	c.Close()
	got, err := sink.Wait(waitCtx(t), len(tcpWant))
	if err != nil {
		t.Fatal(err)
	}
	stop() // every count is in once Run has returned
	checkTCPStream(t, got, in.Counters().Snapshot(), in.MalformedKinds())
	for _, o := range sink.Options() {
		if o.NoWait {
			t.Fatal("TCP delivered without waiting for room")
		}
	}
}

// Many connections at once each get all their lines through.
func TestTCPManyConnections(t *testing.T) {
	cfg := Defaults()
	cfg.Batch = 64
	sink := newLineSink(false)
	in, _ := start(t, cfg, sink, true)
	const conns, lines = 64, 500
	var wg sync.WaitGroup
	for i := range conns {
		c := dialTCP(t, in)
		wg.Go(func() {
			var b strings.Builder
			for l := range lines {
				fmt.Fprintf(&b, "conn%d.hits:%d|c|#n:%d\n", i, l, l%10)
			}
			if _, err := io.WriteString(c, b.String()); err != nil {
				t.Error(err)
			}
			c.Close()
		})
	}
	wg.Wait()
	got, err := sink.Wait(waitCtx(t), conns*lines)
	if err != nil {
		t.Fatal(err, in.Counters().Snapshot())
	}
	next := map[string]int{} // per connection, the next payload expected
	for _, m := range got {
		name := m.Fields[0].Strings[0]
		if m.Payload != fmt.Sprint(next[name]) || m.Fields[2].Strings[0] != fmt.Sprint(next[name]%10) {
			t.Fatalf("%s: got %s, want %d in order", name, m.Payload, next[name])
		}
		next[name]++
	}
	if len(next) != conns {
		t.Errorf("%d connections delivered, want %d", len(next), conns)
	}
}

func TestTCPIdleTimeout(t *testing.T) {
	cfg := Defaults()
	cfg.IdleTimeout.UnmarshalText([]byte("50ms"))
	sink := newLineSink(false)
	in, _ := start(t, cfg, sink, true)
	c := dialTCP(t, in)
	if _, err := io.WriteString(c, "a:1|c\nb:1|c"); err != nil {
		t.Fatal(err)
	}
	// The server closes the connection once it idles out. It delivers the
	// whole line, but not the partial one: when a connection idles out
	// rather than ends, that may be a line cut short.
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read %v, want EOF", err)
	}
	if _, err := sink.Wait(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	if got := sink.Messages(); len(got) != 1 || got[0].Fields[0].Strings[0] != "a" {
		t.Errorf("got %d messages", len(got))
	}
}

func TestTCPMaxConnections(t *testing.T) {
	cfg := Defaults()
	cfg.MaxConnections = 1
	sink := newLineSink(false)
	in, _ := start(t, cfg, sink, true)
	first := dialTCP(t, in)
	io.WriteString(first, "a:1|c\n")
	if _, err := sink.Wait(waitCtx(t), 1); err != nil {
		t.Fatal(err) // the first connection is being served
	}
	second := dialTCP(t, in)
	second.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := second.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("second connection: read %v, want EOF", err)
	}
}

// gateSink holds every Deliver until release is closed.
type gateSink struct {
	*lineSink
	entered chan struct{}
	release chan struct{}
}

func (g *gateSink) Deliver(ctx context.Context, msgs []*metlog.Message, opts input.DeliverOptions) error {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.lineSink.Deliver(ctx, msgs, opts)
}

// A journal that is full makes a TCP connection wait, losing nothing.
func TestTCPBackpressure(t *testing.T) {
	cfg := Defaults()
	cfg.Batch = 10
	sink := &gateSink{lineSink: newLineSink(false), entered: make(chan struct{}, 1), release: make(chan struct{})}
	in, _ := start(t, cfg, sink, true)
	c := dialTCP(t, in)
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "n:%d|c\n", i)
	}
	go io.WriteString(c, b.String())
	select {
	case <-sink.entered:
	case <-waitCtx(t).Done():
		t.Fatal("no delivery")
	}
	if s := in.Counters().Snapshot(); s.Received != 0 || s.Dropped != 0 {
		t.Fatalf("counted while the journal is full: %+v", s)
	}
	close(sink.release)
	got, err := sink.Wait(waitCtx(t), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		if m.Payload != fmt.Sprint(i) {
			t.Fatalf("message %d: payload %s", i, m.Payload)
		}
	}
}
