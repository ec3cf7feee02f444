package otlp

import (
	"reflect"
	"testing"
	"time"

	"github.com/metlog/metlog/config"
)

func TestStreamsCounter(t *testing.T) {
	started := time.Unix(1000, 0)
	const before, after = 999e9, 1001e9
	for _, tc := range []struct {
		name   string
		points []numSample
		want   []string // "" for a baseline
	}{
		{"new stream", []numSample{{start: after, isInt: true, i: 5}, {start: after, isInt: true, i: 9}}, []string{"5", "4"}},
		{"old stream", []numSample{{start: before, isInt: true, i: 5}, {start: before, isInt: true, i: 9}}, []string{"", "4"}},
		{"no start time", []numSample{{isInt: true, i: 5}, {isInt: true, i: 6}}, []string{"", "1"}},
		{"lower value", []numSample{{start: after, isInt: true, i: 5}, {start: after, isInt: true, i: 2}}, []string{"5", "2"}},
		{"restart", []numSample{{start: after, isInt: true, i: 5}, {start: after + 1, isInt: true, i: 7}}, []string{"5", "7"}},
		{"doubles", []numSample{{start: after, f: 0.5}, {start: after, f: 2}}, []string{"0.5", "1.5"}},
		{"int to double", []numSample{{start: after, isInt: true, i: 5}, {start: after, f: 7}}, []string{"5", "7"}},
		{"no change", []numSample{{start: after, isInt: true, i: 5}, {start: after, isInt: true, i: 5}}, []string{"5", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStreams(started, time.Hour, 10)
			var got []string
			for _, p := range tc.points {
				d, ok := s.counter("k", p)
				if !ok {
					d = ""
				}
				got = append(got, d)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestStreamsLimit(t *testing.T) {
	now := time.Unix(2000, 0)
	s := newStreams(time.Unix(1000, 0), time.Minute, 2)
	s.now = func() time.Time { return now }
	p := numSample{start: 1, isInt: true, i: 1} // older than the input: baselines
	s.counter("a", p)
	now = now.Add(2 * time.Minute)
	s.counter("b", p)
	s.counter("c", p) // full: a has expired and goes
	if _, ok := s.m["a"]; ok || len(s.m) != 2 {
		t.Errorf("streams %v", s.m)
	}
	s.counter("d", p) // full, nothing expired: start over
	if len(s.m) != 1 {
		t.Errorf("streams %v", s.m)
	}
}

func TestStreamsHistogram(t *testing.T) {
	s := newStreams(time.Unix(1000, 0), time.Hour, 10)
	sum := func(v float64) *float64 { return &v }
	h1 := histSample{start: 2000e9, count: 2, sum: sum(10), hasSum: true, bounds: []float64{1}, buckets: []uint64{1, 1}}
	h2 := histSample{start: 2000e9, count: 5, sum: sum(40), hasSum: true, bounds: []float64{1}, buckets: []uint64{2, 3}}
	if d, ok := s.histogram("k", h1); !ok || d.count != 2 {
		t.Fatalf("first: %+v %v", d, ok)
	}
	d, ok := s.histogram("k", h2)
	if !ok || d.count != 3 || *d.sum != 30 || !reflect.DeepEqual(d.buckets, []uint64{1, 2}) {
		t.Errorf("delta %+v", d)
	}
	h3 := histSample{start: 2000e9, count: 6, sum: sum(41), hasSum: true, bounds: []float64{2}, buckets: []uint64{3, 3}}
	if d, ok := s.histogram("k", h3); !ok || d.count != 6 {
		t.Errorf("new bounds are a reset: %+v", d)
	}
}

// TestSample checks that the sample configuration parses strictly and
// sets exactly the defaults.
func TestSample(t *testing.T) {
	cat := config.Catalog{config.KindInput: {"otlp": func() any { c := Defaults(); return &c }}}
	cfg, err := config.Parse("sample.toml", []byte(Sample()), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	ins := cfg.Of(config.KindInput)
	if len(ins) != 1 {
		t.Fatalf("plugins %+v", ins)
	}
	got := *ins[0].Config.(*Config)
	want := Defaults()
	if len(got.ResourceFields) == 0 && len(want.ResourceFields) == 0 {
		got.ResourceFields, want.ResourceFields = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sample config\n%+v\nwant the defaults\n%+v", got, want)
	}
}
