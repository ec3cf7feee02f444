package store

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSketchQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		gen  func() float64
	}{
		{"uniform ms", func() float64 { return rng.Float64() * 1000 }},
		{"lognormal", func() float64 { return math.Exp(rng.NormFloat64()*2 + 3) }},
		{"with zeros and negatives", func() float64 { return float64(rng.IntN(200) - 50) }},
		{"tiny", func() float64 { return rng.Float64() * 1e-6 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a, b Sketch
			var vals []float64
			for i := range 20000 {
				v := tt.gen()
				vals = append(vals, v)
				if i%2 == 0 {
					a.Add(v)
				} else {
					b.Add(v)
				}
			}
			a.Merge(&b) // merging halves is the same as adding all
			blob, _ := a.MarshalBinary()
			var s Sketch
			if err := s.UnmarshalBinary(blob); err != nil {
				t.Fatal(err)
			}
			slices.Sort(vals)
			for _, q := range []float64{0, 0.1, 0.5, 0.9, 0.99, 0.999, 1} {
				want := vals[int(q*float64(len(vals)-1))]
				got := s.Quantile(q)
				if math.Abs(got-want) > math.Abs(want)*0.0101+1e-9 {
					t.Errorf("q%v = %v, want %v ±1%%", q, got, want)
				}
			}
			if s.Count() != 20000 {
				t.Errorf("count %d", s.Count())
			}
		})
	}
}

func TestSketchBounded(t *testing.T) {
	var s Sketch
	for i := range 100000 {
		s.Add(math.Pow(1.001, float64(i))) // spans far more than maxBuckets buckets
	}
	if n := len(s.pos) + len(s.neg); n > maxBuckets {
		t.Errorf("%d buckets, want at most %d", n, maxBuckets)
	}
	if got, want := s.Quantile(0.99), math.Pow(1.001, 98999); math.Abs(got-want) > want*0.0101 {
		t.Errorf("p99 %v, want %v: collapsing must keep the high end", got, want)
	}
}

func TestSketchEmpty(t *testing.T) {
	var s Sketch
	if !math.IsNaN(s.Quantile(0.5)) {
		t.Error("empty sketch has a median")
	}
	s.Add(math.NaN())
	s.Add(math.Inf(1))
	if s.Count() != 0 {
		t.Error("NaN or Inf counted")
	}
}

func FuzzSketchUnmarshal(f *testing.F) {
	var s Sketch
	for _, v := range []float64{0, 1, 2.5, -3, 1e6, 1e-12} {
		s.Add(v)
	}
	blob, _ := s.MarshalBinary()
	f.Add(blob)
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Sketch
		if err := s.UnmarshalBinary(b); err != nil {
			return
		}
		s.Quantile(0.5)
		again, _ := s.MarshalBinary()
		var s2 Sketch
		if err := s2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded sketch does not decode: %v", err)
		}
	})
}
