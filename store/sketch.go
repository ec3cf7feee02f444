package store

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"slices"
)

// Sketch is a mergeable quantile sketch with a bounded relative error, in
// the manner of DDSketch: a value v > 0 falls in bucket ceil(log_γ(v)),
// where γ = (1+α)/(1-α), so any quantile it returns is within α (1%) of a
// value that was added at that rank. Negative values go into a mirrored set
// of buckets, zero (and values too small to matter) into a counter of their
// own. Two sketches merge by adding their bucket counts, which is what
// makes per-minute rollups add up to any longer interval.
//
// The zero value is an empty sketch ready for use. A Sketch is not safe for
// concurrent use.
type Sketch struct {
	pos, neg map[int32]uint64
	zero     uint64
	count    uint64
	min, max float64
}

const (
	sketchAlpha = 0.01
	// minIndexable is the smallest magnitude given a bucket; anything
	// smaller counts as zero.
	minIndexable = 1e-9
	// maxBuckets bounds a sketch's size: past it the lowest buckets of the
	// positive side are collapsed into one, losing accuracy only at the
	// low end, which the high percentiles of a timer do not need.
	maxBuckets = 2048
)

var (
	sketchGamma    = (1 + sketchAlpha) / (1 - sketchAlpha)
	sketchLogGamma = math.Log(sketchGamma)
)

// Add records one value. NaN and infinities are ignored.
func (s *Sketch) Add(v float64) { s.AddN(v, 1) }

// AddN records n occurrences of v.
func (s *Sketch) AddN(v float64, n uint64) {
	if n == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if s.count == 0 || v < s.min {
		s.min = v
	}
	if s.count == 0 || v > s.max {
		s.max = v
	}
	s.count += n
	switch {
	case v > minIndexable:
		if s.pos == nil {
			s.pos = map[int32]uint64{}
		}
		s.pos[bucketOf(v)] += n
		s.collapse()
	case v < -minIndexable:
		if s.neg == nil {
			s.neg = map[int32]uint64{}
		}
		s.neg[bucketOf(-v)] += n
	default:
		s.zero += n
	}
}

func bucketOf(v float64) int32 {
	return int32(math.Ceil(math.Log(v) / sketchLogGamma))
}

// bucketValue is the value a bucket stands for: the point whose relative
// distance to both of the bucket's bounds is α.
func bucketValue(i int32) float64 {
	return 2 * math.Pow(sketchGamma, float64(i)) / (1 + sketchGamma)
}

func (s *Sketch) collapse() {
	if len(s.pos)+len(s.neg) <= maxBuckets {
		return
	}
	keys := slices.Sorted(maps.Keys(s.pos))
	// Collapse a quarter more than needed, so that sorting is rare.
	over := len(s.pos) + len(s.neg) - maxBuckets*3/4
	if over >= len(keys) {
		over = len(keys) - 1
	}
	into := keys[over]
	for _, k := range keys[:over] {
		s.pos[into] += s.pos[k]
		delete(s.pos, k)
	}
}

// Merge adds every value recorded in o to s.
func (s *Sketch) Merge(o *Sketch) {
	if o == nil || o.count == 0 {
		return
	}
	if s.count == 0 || o.min < s.min {
		s.min = o.min
	}
	if s.count == 0 || o.max > s.max {
		s.max = o.max
	}
	s.count += o.count
	s.zero += o.zero
	if len(o.pos) > 0 && s.pos == nil {
		s.pos = make(map[int32]uint64, len(o.pos))
	}
	for k, n := range o.pos {
		s.pos[k] += n
	}
	if len(o.neg) > 0 && s.neg == nil {
		s.neg = make(map[int32]uint64, len(o.neg))
	}
	for k, n := range o.neg {
		s.neg[k] += n
	}
	s.collapse()
}

// Count is the number of values recorded.
func (s *Sketch) Count() uint64 { return s.count }

// Quantile returns the value at quantile q (0 ≤ q ≤ 1), within 1% of a
// recorded value of that rank; the exact minimum and maximum at 0 and 1.
// An empty sketch returns NaN.
func (s *Sketch) Quantile(q float64) float64 {
	if s.count == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	if q <= 0 {
		return s.min
	}
	if q >= 1 {
		return s.max
	}
	rank := uint64(q * float64(s.count-1))
	var seen uint64
	// Negative buckets from the most negative (largest index) up.
	neg := slices.Sorted(maps.Keys(s.neg))
	for i := len(neg) - 1; i >= 0; i-- {
		seen += s.neg[neg[i]]
		if seen > rank {
			return clamp(-bucketValue(neg[i]), s.min, s.max)
		}
	}
	seen += s.zero
	if seen > rank {
		return 0
	}
	for _, k := range slices.Sorted(maps.Keys(s.pos)) {
		seen += s.pos[k]
		if seen > rank {
			return clamp(bucketValue(k), s.min, s.max)
		}
	}
	return s.max
}

func clamp(v, lo, hi float64) float64 { return max(lo, min(v, hi)) }

// MarshalBinary encodes the sketch: a version byte, count, zero count, min,
// max, then the positive and negative buckets as (index delta, count)
// varint pairs in increasing index order.
func (s *Sketch) MarshalBinary() ([]byte, error) { return s.appendBinary(nil), nil }

func (s *Sketch) appendBinary(b []byte) []byte {
	b = append(b, 1)
	b = binary.AppendUvarint(b, s.count)
	b = binary.AppendUvarint(b, s.zero)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.min))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.max))
	for _, m := range []map[int32]uint64{s.pos, s.neg} {
		b = binary.AppendUvarint(b, uint64(len(m)))
		prev := int64(0)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			b = binary.AppendVarint(b, int64(k)-prev)
			b = binary.AppendUvarint(b, m[k])
			prev = int64(k)
		}
	}
	return b
}

var errSketch = errors.New("store: corrupt sketch")

// UnmarshalBinary decodes what MarshalBinary encoded, replacing s.
func (s *Sketch) UnmarshalBinary(b []byte) error {
	*s = Sketch{}
	if len(b) == 0 || b[0] != 1 {
		return errSketch
	}
	b = b[1:]
	var ok bool
	if s.count, b, ok = uvarint(b); !ok {
		return errSketch
	}
	if s.zero, b, ok = uvarint(b); !ok {
		return errSketch
	}
	if len(b) < 16 {
		return errSketch
	}
	s.min = math.Float64frombits(binary.LittleEndian.Uint64(b))
	s.max = math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	b = b[16:]
	for side := range 2 {
		var n uint64
		if n, b, ok = uvarint(b); !ok || n > uint64(len(b)) {
			return errSketch
		}
		m := make(map[int32]uint64, n)
		prev := int64(0)
		for range n {
			d, w := binary.Varint(b)
			if w <= 0 {
				return errSketch
			}
			b = b[w:]
			var c uint64
			if c, b, ok = uvarint(b); !ok {
				return errSketch
			}
			prev += d
			if prev < math.MinInt32 || prev > math.MaxInt32 {
				return errSketch
			}
			m[int32(prev)] += c
		}
		if side == 0 {
			s.pos = m
		} else {
			s.neg = m
		}
	}
	if len(b) != 0 {
		return errSketch
	}
	return nil
}

func uvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, b, false
	}
	return v, b[n:], true
}
