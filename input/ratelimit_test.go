package input

import (
	"net/netip"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLimiter(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	type step struct {
		wait time.Duration
		src  netip.Addr
		n    int
		want bool
	}
	tests := []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{"burst then refuse", 10, 5, []step{{0, a, 5, true}, {0, a, 1, false}}},
		{"sources apart", 10, 5, []step{{0, a, 5, true}, {0, b, 5, true}, {0, b, 1, false}}},
		{"refills with time", 10, 5, []step{{0, a, 5, true}, {100 * time.Millisecond, a, 1, true}, {0, a, 1, false}}},
		{"refill capped at burst", 10, 5, []step{{time.Hour, a, 5, true}, {0, a, 1, false}}},
		{"all or nothing", 10, 5, []step{{0, a, 3, true}, {0, a, 3, false}, {0, a, 2, true}}},
		{"default burst is a second", 100, 0, []step{{0, a, 100, true}, {0, a, 1, false}}},
		{"slow rate keeps a burst of one", 0.5, 0, []step{{0, a, 1, true}, {time.Second, a, 1, false}, {time.Second, a, 1, true}}},
		{"one IPv6 /64 is one source", 10, 2, []step{
			{0, netip.MustParseAddr("2001:db8::1"), 2, true},
			{0, netip.MustParseAddr("2001:db8::ffff"), 1, false},
			{0, netip.MustParseAddr("2001:db8:0:1::1"), 1, true},
		}},
		{"IPv4-mapped is IPv4", 10, 1, []step{{0, a, 1, true}, {0, netip.MustParseAddr("::ffff:10.0.0.1"), 1, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: time.Unix(1e9, 0)}
			l := NewLimiter(tt.rate, tt.burst, clock.now)
			for i, s := range tt.steps {
				clock.advance(s.wait)
				if got := l.Allow(s.src, s.n); got != s.want {
					t.Errorf("step %d: Allow(%v, %d) = %v, want %v", i, s.src, s.n, got, s.want)
				}
			}
		})
	}
}

func TestLimiterBounded(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	l := NewLimiter(1, 1, clock.now)
	l.max = 64
	for i := range 1000 {
		l.Allow(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 1)
		if l.Len() > 64 {
			t.Fatalf("%d sources tracked", l.Len())
		}
	}
	// Idle sources go first: after their bucket refilled, a new source
	// evicts them all.
	clock.advance(time.Minute)
	l.Allow(netip.MustParseAddr("192.0.2.1"), 1)
	if l.Len() != 1 {
		t.Errorf("%d sources tracked after they all went idle", l.Len())
	}
}

func TestNilLimiterAllows(t *testing.T) {
	var l *Limiter
	if !l.Allow(netip.Addr{}, 1e9) {
		t.Error("nil limiter refused")
	}
	if (&RateLimit{}).Limiter() != nil {
		t.Error("rate 0 made a limiter")
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := NewLimiter(1e12, 0, time.Now)
	srcs := make([]netip.Addr, 1024)
	for i := range srcs {
		srcs[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Allow(srcs[i&1023], 1)
		i++
	}
}
