package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metlog/metlog"
)

// Scenario 1: reliable (tcp+ack://) senders stream messages while the
// router is killed with SIGKILL and restarted, again and again. Afterwards
// every message the senders had handed over is in the output exactly once
// or more; duplicates carry the same UUID and are bounded by what one
// crash can leave unacknowledged or uncommitted.
func TestKill9Cycles(t *testing.T) {
	cycles := scale(10, 100)
	n := scale(100_000, 1_000_000)
	const batchSize = 1024
	dir := t.TempDir()
	tcpAddr := freePort(t, "tcp")
	cfg := routerConfig(t, "") + fmt.Sprintf(`
[input.tcp]
address = %q
[output.all]
type = "file"
format = "heka"
path = "all.heka"
batch_size = %d
`, tcpAddr, batchSize)
	p := startProc(t, dir, cfg)
	// Two senders stream in goroutines of their own; the test kills the
	// router each time another n/(cycles+1) messages have been handed
	// over, whatever the senders are doing at that moment.
	const senders = 2
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // a failing test stops the senders
	var handed atomic.Int64
	sendDone := make(chan error, senders)
	var clients []*metlog.Client
	for range senders {
		c, err := metlog.Dial("tcp+ack://"+tcpAddr, metlog.WithQueueSize(1<<16), metlog.WithLogger("chaos"))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		go func() {
			for i := range n / senders {
				c.Count("n", int64(i))
				// The client never blocks the application: it drops when
				// its queue is full. Flush paces the stream to what the
				// sender takes, so that nothing is dropped.
				if i%5000 == 4999 {
					if err := c.Flush(ctx); err != nil {
						sendDone <- err
						return
					}
					handed.Add(5000)
				}
			}
			closeCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			sendDone <- c.CloseContext(closeCtx)
		}()
	}
	start := time.Now()
	var downtime time.Duration
	for k := 1; k <= cycles; k++ {
		target := int64(k * n / (cycles + 1))
		waitFor(t, 5*time.Minute, fmt.Sprintf("message %d to be handed over", target), func() bool {
			return handed.Load() >= target
		})
		p.kill()
		down := time.Now()
		p = startProc(t, dir, cfg)
		downtime += time.Since(down)
	}
	for range senders {
		select {
		case err := <-sendDone:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Minute):
			t.Fatal("the senders did not finish")
		}
	}
	elapsed := time.Since(start)
	for _, c := range clients {
		if s := c.Stats(); s.Dropped != 0 || s.Failed != 0 || s.Sent != uint64(n/senders) {
			t.Fatalf("client stats %+v: every message must be handed to the sender and acknowledged", s)
		}
	}
	p.caughtUp(2*time.Minute, "all")
	p.stop()

	count, total, torn := hekaUUIDs(t, filepath.Join(dir, "all.heka"))
	if len(count) != n {
		t.Fatalf("%d distinct messages in the output, want %d (%d missing)", len(count), n, n-len(count))
	}
	dups := total - n
	maxCopies := 0
	for _, k := range count {
		maxCopies = max(maxCopies, k)
	}
	// A crash can leave unacknowledged at most the sender's resend buffer
	// (resent after the reconnect) and undelivered-or-uncommitted at most
	// the output's batches in flight; both come back with the same UUID.
	bound := cycles * (senders*metlog.DefaultResendBuffer + 4*batchSize)
	if dups > bound {
		t.Errorf("%d duplicates, want at most %d (%d per crash)", dups, bound, bound/cycles)
	}
	figures(t, "kill9", "senders", senders, "cycles", cycles, "messages", n, "delivered", total, "missing", n-len(count),
		"duplicates", dups, "duplicates_per_crash", fmt.Sprintf("%.0f", float64(dups)/float64(cycles)),
		"max_copies", maxCopies, "torn_output_records", torn, "elapsed", elapsed.Round(time.Millisecond),
		"mean_restart", (downtime / time.Duration(cycles)).Round(time.Millisecond),
		"rate_per_s", fmt.Sprintf("%.0f", float64(n)/elapsed.Seconds()))
}
