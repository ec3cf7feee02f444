package input

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// RateLimit is the per-source message rate limit of an input, embedded in
// its Config:
//
//	rate_limit = 1000   # messages per second from each source; 0: no limit
//	rate_burst = 2000   # messages a source may send at once
//
// A source is a client IP address (an IPv6 /64 network, since one host
// often holds a whole one). Messages over the limit are dropped and
// counted as rate_limited; an HTTP request over it is answered 429.
type RateLimit struct {
	// Rate is the messages per second each source may send; 0 turns the
	// limit off.
	Rate float64 `toml:"rate_limit"`
	// Burst is the most messages a source may send at once after being
	// quiet; 0 means one second's worth (at least 1).
	Burst int `toml:"rate_burst"`
}

// Validate checks the settings.
func (r *RateLimit) Validate() error {
	var errs []error
	if r.Rate < 0 {
		errs = append(errs, errors.New("rate_limit must not be negative"))
	}
	if r.Burst < 0 {
		errs = append(errs, errors.New("rate_burst must not be negative"))
	}
	return errors.Join(errs...)
}

// Limiter returns the limiter of r, nil when there is no limit.
func (r *RateLimit) Limiter() *Limiter {
	if r.Rate <= 0 {
		return nil
	}
	return NewLimiter(r.Rate, r.Burst, time.Now)
}

// MaxSources bounds the sources a Limiter tracks at once.
const MaxSources = 1 << 16

// Limiter is a table of token buckets, one per source, bounded in size:
// sources quiet long enough to have refilled their bucket are forgotten
// first when the table is full. Methods on a nil *Limiter allow
// everything. It is safe for concurrent use.
type Limiter struct {
	rate, burst float64
	now         func() time.Time
	max         int

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a Limiter of rate messages per second and burst
// messages at once (0: one second's worth), reading the time from now.
func NewLimiter(rate float64, burst int, now func() time.Time) *Limiter {
	b := float64(burst)
	if burst <= 0 {
		b = max(rate, 1)
	}
	return &Limiter{rate: rate, burst: b, now: now, max: MaxSources, buckets: map[netip.Addr]*bucket{}}
}

// Allow takes n tokens from src's bucket and reports whether it had them;
// when it had not, it takes none.
func (l *Limiter) Allow(src netip.Addr, n int) bool {
	if l == nil {
		return true
	}
	src = SourceKey(src)
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[src]
	if b == nil {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[src] = b
	} else if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens < float64(n) {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// evict forgets the sources whose bucket would be full by now, and, if
// none is, an eighth of the table, so that the table stays bounded.
func (l *Limiter) evict(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, k)
		}
	}
	for k := range l.buckets {
		if len(l.buckets) <= l.max-l.max/8 {
			break
		}
		delete(l.buckets, k)
	}
}

// Len returns how many sources the limiter tracks.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// SourceKey returns the source a client address counts as: the address
// itself for IPv4, its /64 network for IPv6.
func SourceKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// SourceOf returns the IP address of a net.Addr (TCP, UDP) or of a
// host:port string; the zero Addr when it has none.
func SourceOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case nil:
		return netip.Addr{}
	}
	return SourceOfString(a.String())
}

// SourceOfString returns the IP address of a "host:port" string, such as
// http.Request.RemoteAddr; the zero Addr when it has none.
func SourceOfString(hostport string) netip.Addr {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
