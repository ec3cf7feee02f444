package input

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConnsEvictSlowest fills max_connections with a fast sender and a
// trickler, then connects twice more: the first newcomer takes the
// trickler's slot, the second finds nobody slow and old enough and is
// closed.
func TestConnsEvictSlowest(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).UnixNano())
	s := &Conns{
		ConnLimits: ConnLimits{MaxConnections: 2, MinRate: 64},
		Log:        slog.New(slog.DiscardHandler),
		Now:        func() time.Time { return time.Unix(0, clock.Load()) },
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	read := map[string]int{} // by the client's local address
	progress := make(chan struct{}, 100)
	ended := make(chan string, 10)
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, ln, func(c net.Conn) {
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				mu.Lock()
				read[c.RemoteAddr().String()] += n
				mu.Unlock()
				progress <- struct{}{}
				if err != nil {
					ended <- c.RemoteAddr().String()
					return
				}
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	dial := func() net.Conn {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	send := func(c net.Conn, n int) {
		if _, err := c.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		for {
			mu.Lock()
			got := read[c.LocalAddr().String()]
			mu.Unlock()
			if got >= n {
				return
			}
			<-progress
		}
	}
	closed := func(c net.Conn) bool { // by the server
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		return err == io.EOF
	}

	fast, slow := dial(), dial()
	send(fast, 10_000)
	send(slow, 1)
	clock.Add(int64(20 * time.Second)) // fast: 500 B/s, slow: 0.05 B/s

	third := dial()
	if got := <-ended; got != slow.LocalAddr().String() {
		t.Fatalf("closed %s, want the trickler %s", got, slow.LocalAddr())
	}
	if !closed(slow) {
		t.Fatal("the trickler is still open")
	}
	send(third, 1) // admitted and served
	if s.Evicted() != 1 {
		t.Errorf("evicted %d, want 1", s.Evicted())
	}

	fourth := dial() // third is too new to evict, fast is fast
	if !closed(fourth) {
		t.Fatal("a connection past max_connections was kept")
	}
	send(fast, 1)
	send(third, 1)
	if s.Evicted() != 1 {
		t.Errorf("evicted %d, want 1", s.Evicted())
	}
}

func TestConnLimitsValidate(t *testing.T) {
	l := DefaultConnLimits()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	l = ConnLimits{MaxConnections: 0, MaxConnectionsPerSource: -1, MinRate: -1}
	err := l.Validate()
	for _, want := range []string{"max_connections must", "max_connections_per_source", "min_rate"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
