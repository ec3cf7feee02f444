package input

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
)

// LimitListener wraps ln so that at most max connections (0: no limit)
// are open at once, and at most perSource from one source (see
// SourceKey; 0: no limit). A connection over a limit is closed as soon as
// it is accepted, and logged; Accept goes on to the next. It suits
// servers that own their accept loop, such as http.Server; inputs that
// serve their own connections use Conns.
func LimitListener(ln net.Listener, max, perSource int, log *slog.Logger) net.Listener {
	if max <= 0 && perSource <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, max: max, perSource: perSource, log: log, bySource: map[netip.Addr]int{}}
}

type limitListener struct {
	net.Listener
	max, perSource int
	log            *slog.Logger

	mu       sync.Mutex
	open     int
	bySource map[netip.Addr]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		src := SourceKey(SourceOf(c.RemoteAddr()))
		l.mu.Lock()
		switch {
		case l.max > 0 && l.open >= l.max:
			l.mu.Unlock()
			l.log.Warn("too many connections; closing", "from", c.RemoteAddr(), "max_connections", l.max)
			c.Close()
			continue
		case l.perSource > 0 && l.bySource[src] >= l.perSource:
			l.mu.Unlock()
			l.log.Warn("too many connections from one source; closing", "from", c.RemoteAddr(), "max_connections_per_source", l.perSource)
			c.Close()
			continue
		}
		l.open++
		l.bySource[src]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, l: l, src: src}, nil
	}
}

func (l *limitListener) release(src netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.bySource[src]--; l.bySource[src] <= 0 {
		delete(l.bySource, src)
	}
}

// limitedConn gives its slot back when closed, once.
type limitedConn struct {
	net.Conn
	l    *limitListener
	src  netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.src) })
	return err
}
