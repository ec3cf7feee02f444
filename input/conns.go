package input

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ConnLimits is the block of keys that bounds the connections of a stream
// listener, embedded in the Config of each input that takes TCP:
//
//	max_connections = 1024            # more are closed at once
//	max_connections_per_source = 256  # of one client IP address (IPv6: /64); 0: no limit
//	min_rate = 64                     # bytes/s; see below; 0: off
//
// min_rate defends the connection slots against slow-loris senders, who
// trickle bytes to hold connections without sending anything of worth:
// when max_connections are open and another arrives, the open connection
// that has sent the fewest bytes per second since it opened is closed to
// make room, if that rate is under min_rate and it has been open for at
// least 10 seconds. Below the limit nothing is closed for being slow (a
// quiet sender is closed by idle_timeout only).
type ConnLimits struct {
	// MaxConnections caps the open connections; more are closed at once.
	MaxConnections int `toml:"max_connections"`
	// MaxConnectionsPerSource caps the open connections of one client IP
	// address (IPv6: /64 network); 0 is no limit.
	MaxConnectionsPerSource int `toml:"max_connections_per_source"`
	// MinRate, in bytes per second: at max_connections, a connection
	// slower than this since it opened makes room for a new one.
	MinRate int `toml:"min_rate"`
}

// DefaultConnLimits returns the default ConnLimits.
func DefaultConnLimits() ConnLimits {
	return ConnLimits{MaxConnections: 1024, MaxConnectionsPerSource: 256, MinRate: 64}
}

// Validate reports every problem with l.
func (l *ConnLimits) Validate() error {
	var errs []error
	if l.MaxConnections < 1 {
		errs = append(errs, errors.New("max_connections must be at least 1"))
	}
	if l.MaxConnectionsPerSource < 0 {
		errs = append(errs, errors.New("max_connections_per_source must not be negative"))
	}
	if l.MinRate < 0 {
		errs = append(errs, fmt.Errorf("min_rate %d: must not be negative", l.MinRate))
	}
	return errors.Join(errs...)
}

// Conns returns the Conns that enforces l.
func (l ConnLimits) Conns(log *slog.Logger) *Conns {
	return &Conns{ConnLimits: l, Log: log}
}

// evictAfter is how long a connection is open before min_rate applies to
// it: a new connection has sent little yet.
const evictAfter = 10 * time.Second

// Conns serves the connections of a stream listener, at most
// MaxConnections at once. Inputs that take streams (tcp, statsd and syslog
// over TCP) share it.
type Conns struct {
	ConnLimits
	Log *slog.Logger
	// EvictAfter replaces the 10 s a connection is open before min_rate
	// applies to it (for tests).
	EvictAfter time.Duration
	// Now replaces time.Now (for tests).
	Now func() time.Time

	evicted atomic.Int64

	once      sync.Once
	slots     chan struct{}
	mu        sync.Mutex
	open      map[*meteredConn]struct{}
	perSource map[netip.Addr]int
}

// Evicted reports how many connections were closed to make room for new
// ones (see ConnLimits.MinRate).
func (s *Conns) Evicted() int64 { return s.evicted.Load() }

// meteredConn counts the bytes read from a connection.
type meteredConn struct {
	net.Conn
	read    atomic.Int64
	opened  time.Time
	src     netip.Addr
	evicted bool // guarded by Conns.mu; its slot went to another
}

func (c *meteredConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// TLSConn returns the TLS connection under a connection served by Conns,
// if it is one.
func TLSConn(c net.Conn) (*tls.Conn, bool) {
	if m, ok := c.(*meteredConn); ok {
		c = m.Conn
	}
	tc, ok := c.(*tls.Conn)
	return tc, ok
}

// Serve accepts connections from ln and runs serve for each in a goroutine
// of its own, until ln is closed or ctx ends. When ctx ends it closes ln and
// every open connection — serve sees its reads fail and returns — and it
// waits for every serve call before it returns. It returns nil unless
// accepting failed for another reason. serve gets a connection that wraps
// the accepted one; TLSConn finds a TLS connection under it.
func (s *Conns) Serve(ctx context.Context, ln net.Listener, serve func(net.Conn)) error {
	s.once.Do(func() {
		s.slots = make(chan struct{}, s.MaxConnections)
		s.open = map[*meteredConn]struct{}{}
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
		now := time.Now
		if s.Now != nil {
			now = s.Now
		}
		mc := &meteredConn{Conn: conn, opened: now(), src: SourceKey(SourceOf(conn.RemoteAddr()))}
		if !s.admit(ctx, mc) {
			continue
		}
		wg.Go(func() {
			defer s.release(mc)
			serve(mc)
		})
	}
}

// admit takes a slot for c — its own, or that of a connection it evicts —
// or closes c.
func (s *Conns) admit(ctx context.Context, c *meteredConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ctx.Err() != nil { // the closing in Serve may have run already
		c.Close()
		return false
	}
	if s.MaxConnectionsPerSource > 0 && s.perSource[c.src] >= s.MaxConnectionsPerSource {
		s.Log.Warn("too many connections from one source; closing", "from", c.RemoteAddr(), "max_connections_per_source", s.MaxConnectionsPerSource)
		c.Close()
		return false
	}
	select {
	case s.slots <- struct{}{}:
	default:
		if !s.evictSlowest(c.opened) {
			s.Log.Warn("too many connections; closing", "from", c.RemoteAddr(), "max_connections", s.MaxConnections)
			c.Close()
			return false
		}
	}
	s.open[c] = struct{}{}
	s.perSource[c.src]++
	return true
}

// evictSlowest closes the open connection with the lowest byte rate, if
// it is under MinRate and old enough, and hands its slot on. s.mu is held.
func (s *Conns) evictSlowest(now time.Time) bool {
	if s.MinRate <= 0 {
		return false
	}
	after := s.EvictAfter
	if after <= 0 {
		after = evictAfter
	}
	var slowest *meteredConn
	var lowest float64
	for c := range s.open {
		age := now.Sub(c.opened)
		if c.evicted || age < after {
			continue
		}
		if rate := float64(c.read.Load()) / age.Seconds(); slowest == nil || rate < lowest {
			slowest, lowest = c, rate
		}
	}
	if slowest == nil || lowest >= float64(s.MinRate) {
		return false
	}
	slowest.evicted = true
	slowest.Close()
	s.evicted.Add(1)
	s.Log.Info("at max_connections: closing the slowest connection to admit a new one", "from", slowest.RemoteAddr(), "bytes_per_second", int(lowest), "min_rate", s.MinRate)
	return true
}

// release frees what c held; the slot of an evicted connection is already
// its successor's.
func (s *Conns) release(c *meteredConn) {
	c.Close()
	s.mu.Lock()
	delete(s.open, c)
	if s.perSource[c.src]--; s.perSource[c.src] <= 0 {
		delete(s.perSource, c.src)
	}
	evicted := c.evicted
	s.mu.Unlock()
	if !evicted {
		<-s.slots
	}
}
