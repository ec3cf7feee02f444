package input

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
)

// Conns serves the connections of a stream listener, at most Max at once.
// Inputs that take streams (tcp, statsd over TCP) share it.
type Conns struct {
	// Max is how many connections may be open at once; more are closed as
	// soon as they are accepted, and logged.
	Max int
	// MaxPerSource is how many of them one source (see SourceKey) may
	// hold; more are closed as soon as they are accepted. 0 is no limit.
	MaxPerSource int
	Log          *slog.Logger

	once      sync.Once
	slots     chan struct{}
	mu        sync.Mutex
	open      map[net.Conn]struct{}
	perSource map[netip.Addr]int
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
		s.perSource = map[netip.Addr]int{}
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
		src := SourceKey(SourceOf(conn.RemoteAddr()))
		s.mu.Lock()
		if ctx.Err() != nil { // the closing above may have run already
			s.mu.Unlock()
			conn.Close()
			<-s.slots
			continue
		}
		if s.MaxPerSource > 0 && s.perSource[src] >= s.MaxPerSource {
			s.mu.Unlock()
			s.Log.Warn("too many connections from one source; closing", "from", conn.RemoteAddr(), "max_connections_per_source", s.MaxPerSource)
			conn.Close()
			<-s.slots
			continue
		}
		s.open[conn] = struct{}{}
		s.perSource[src]++
		s.mu.Unlock()
		wg.Go(func() {
			defer func() {
				s.mu.Lock()
				delete(s.open, conn)
				if s.perSource[src]--; s.perSource[src] <= 0 {
					delete(s.perSource, src)
				}
				s.mu.Unlock()
				conn.Close()
				<-s.slots
			}()
			serve(conn)
		})
	}
}
