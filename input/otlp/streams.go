package otlp

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// streams keeps the previous point of every cumulative stream (a monotonic
// sum or a histogram, identified by resource, scope, metric name and point
// attributes), so that each new point becomes the increment since the
// previous one:
//
//	first point, start time at or after the input started  → emitted whole (the stream began while we listened)
//	first point, older start time or none                  → kept as the baseline; nothing emitted
//	same start time, value not lower                       → value − previous
//	value lower, or another start time                     → a reset: emitted whole
//
// A stream not updated for expiry is forgotten; when max streams are kept,
// the expired ones go, and if none has expired, all of them (their next
// points are baselines again). Safe for concurrent use.
type streams struct {
	mu      sync.Mutex
	started uint64 // ns since the epoch
	expiry  time.Duration
	max     int
	now     func() time.Time
	m       map[string]*stream
}

type stream struct {
	seen time.Time
	num  numSample
	hist histSample
}

// numSample is one point of a monotonic cumulative sum.
type numSample struct {
	start uint64
	isInt bool
	i     int64
	f     float64
}

// histSample is one histogram point: cumulative as received, or the delta
// computed from it.
type histSample struct {
	start    uint64
	count    uint64
	sum      *float64
	hasSum   bool
	min, max *float64
	bounds   []float64
	buckets  []uint64
}

func newStreams(started time.Time, expiry time.Duration, max int) *streams {
	return &streams{started: uint64(started.UnixNano()), expiry: expiry, max: max, now: time.Now, m: map[string]*stream{}}
}

// get returns the stream for key, creating it; fresh reports a new one.
func (s *streams) get(key string) (st *stream, fresh bool) {
	now := s.now()
	if st = s.m[key]; st != nil {
		st.seen = now
		return st, false
	}
	if len(s.m) >= s.max {
		for k, v := range s.m {
			if now.Sub(v.seen) > s.expiry {
				delete(s.m, k)
			}
		}
		if len(s.m) >= s.max {
			clear(s.m)
		}
	}
	st = &stream{seen: now}
	s.m[key] = st
	return st, true
}

// new reports whether a stream's first point started while we listened.
func (s *streams) new(start uint64) bool { return start != 0 && start >= s.started }

// counter records cur and returns the increment as payload text; ok is
// false for a baseline.
func (s *streams) counter(key string, cur numSample) (delta string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, fresh := s.get(key)
	prev := st.num
	st.num = cur
	if fresh {
		if !s.new(cur.start) {
			return "", false
		}
		return cur.text(), true
	}
	reset := prev.isInt != cur.isInt || (cur.start != 0 && cur.start != prev.start)
	if cur.isInt {
		if reset || cur.i < prev.i {
			return cur.text(), true
		}
		return strconv.FormatInt(cur.i-prev.i, 10), true
	}
	if reset || cur.f < prev.f {
		return cur.text(), true
	}
	return strconv.FormatFloat(cur.f-prev.f, 'g', -1, 64), true
}

func (c numSample) text() string {
	if c.isInt {
		return strconv.FormatInt(c.i, 10)
	}
	return strconv.FormatFloat(c.f, 'g', -1, 64)
}

// histogram records cur and returns the observations since the previous
// point (without min and max, which a cumulative point gives for its
// whole life); ok is false for a baseline.
func (s *streams) histogram(key string, cur histSample) (histSample, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, fresh := s.get(key)
	prev := st.hist
	st.hist = cur
	st.hist.bounds = append([]float64(nil), cur.bounds...)
	st.hist.buckets = append([]uint64(nil), cur.buckets...)
	if cur.sum != nil {
		v := *cur.sum
		st.hist.sum = &v
	}
	cur.min, cur.max = nil, nil
	if fresh {
		return cur, s.new(cur.start)
	}
	if (cur.start != 0 && cur.start != prev.start) || cur.count < prev.count ||
		!equalBounds(cur.bounds, prev.bounds) || len(cur.buckets) != len(prev.buckets) || cur.hasSum != prev.hasSum {
		return cur, true // a reset
	}
	d := histSample{start: cur.start, count: cur.count - prev.count, hasSum: cur.hasSum, bounds: cur.bounds,
		buckets: make([]uint64, len(cur.buckets))}
	for i := range cur.buckets {
		if cur.buckets[i] < prev.buckets[i] {
			return cur, true
		}
		d.buckets[i] = cur.buckets[i] - prev.buckets[i]
	}
	if cur.hasSum {
		v := *cur.sum - *prev.sum
		d.sum = &v
	}
	return d, true
}

func equalBounds(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}
