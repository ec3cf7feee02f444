package input

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
)

// Conns serves the connections of a stream listener, at most Max at once.
// Inputs that take streams (tcp, statsd over TCP) share it.
type Conns struct {
	// Max is how many connections may be open at once; more are closed as
	// soon as they are accepted, and logged.
	Max int
	Log *slog.Logger

	once  sync.Once
	slots chan struct{}
	mu    sync.Mutex
	open  map[net.Conn]struct{}
}

// Serve accepts connections from ln and runs serve for each in a goroutine
// of its own, until ln is closed or ctx ends. When ctx ends it closes ln and
// every open connection — serve sees its reads fail and returns — and it
// waits for every serve call before it returns. It returns nil unless
// accepting failed for another reason.
func (s *Conns) Serve(ctx context.Context, ln net.Listener, serve func(net.Conn)) error {
	s.once.Do(func() {
		s.slots = make(chan struct{}, s.Max)
		s.open = map[net.Conn]struct{}{}
	})
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
	})
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.Log.Warn("too many connections; closing", "from", conn.RemoteAddr(), "max_connections", s.Max)
			conn.Close()
			continue
		}
		s.mu.Lock()
		if ctx.Err() != nil { // the closing above may have run already
			s.mu.Unlock()
			conn.Close()
			<-s.slots
			continue
		}
		s.open[conn] = struct{}{}
		s.mu.Unlock()
		wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.open, conn)
				s.mu.Unlock()
				conn.Close()
				<-s.slots
			}()
			serve(conn)
		})
	}
}
