package metlog_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input/inputtest"
	"github.com/metlog/metlog/input/tcp"
)

// ackRouter runs the router's tcp input at addr ("127.0.0.1:0" for any
// port) into sink, until stop is called.
func ackRouter(t *testing.T, addr string, sink *inputtest.Sink) (string, func()) {
	t.Helper()
	cfg := tcp.Defaults()
	cfg.Address = addr
	var in *tcp.Input
	var err error
	for i := 0; ; i++ { // a port just closed may take a moment to be free
		if in, err = tcp.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
			break
		}
		if i == 200 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { in.Run(ctx, sink); close(done) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return in.Addr().String(), stop
}

func TestReliableSender(t *testing.T) {
	sink := &inputtest.Sink{}
	addr, _ := ackRouter(t, "127.0.0.1:0", sink)
	c, err := metlog.Dial("tcp+ack://"+addr, metlog.WithLogger("reliable"))
	if err != nil {
		t.Fatal(err)
	}
	const n = 20000
	for i := range n {
		c.Count("c", int64(i))
		if i%1000 == 999 { // the queue holds 4096: let it drain
			if err := c.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Dropped != 0 || s.Failed != 0 {
		t.Errorf("stats %+v", s)
	}
	msgs := sink.Messages()
	if len(msgs) != n {
		t.Fatalf("router got %d, want %d", len(msgs), n)
	}
	for i, o := range sink.Options() {
		if !o.Durable {
			t.Fatalf("message %d not delivered durably", i)
		}
	}
}

// The router goes away mid-stream and comes back on the same address:
// everything arrives, duplicates carry the same UUID.
func TestReliableSenderSurvivesRouterRestart(t *testing.T) {
	sink := &inputtest.Sink{}
	addr, stop := ackRouter(t, "127.0.0.1:0", sink)
	c, err := metlog.Dial("tcp+ack://"+addr, metlog.WithQueueSize(1<<16))
	if err != nil {
		t.Fatal(err)
	}
	const n = 30000
	for i := range n {
		if i == n/3 {
			stop()
			_, stop = ackRouter(t, addr, sink)
		}
		if i == 2*n/3 {
			stop()
			ackRouter(t, addr, sink)
		}
		c.Count("c", int64(i))
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[metlog.UUID]int64{}
	for _, m := range sink.Messages() {
		seen[m.UUID]++
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages arrived, want %d (stats %+v)", len(seen), n, c.Stats())
	}
	t.Logf("%d messages, %d duplicates", n, len(sink.Messages())-n)
}

func FuzzReliableSenderAcks(f *testing.F) {
	f.Add([]byte("\x1e\x02\x08\x05\x1f\x1a\x03abc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		metlog.ParseAckForTest(b)
	})
}
