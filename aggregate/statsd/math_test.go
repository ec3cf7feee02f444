package statsd

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"testing"

	"github.com/metlog/metlog"
)

// same reports whether two results have the same names and values within
// 1e-12, relative.
func same(t *testing.T, got, want map[string]float64) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		if !ok {
			t.Errorf("missing %s (want %v)", k, want[k])
			continue
		}
		if w := want[k]; g != w && math.Abs(g-w) > 1e-12*math.Max(math.Abs(g), math.Abs(w)) {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected %s = %v", k, got[k])
		}
	}
}

func timers(name string, rate float64, values ...float64) []*metlog.Message {
	var out []*metlog.Message
	for _, v := range values {
		out = append(out, metric("timer", name, strconv.FormatFloat(v, 'g', -1, 64), rate))
	}
	return out
}

func TestCounters(t *testing.T) {
	for _, tc := range []struct {
		name   string
		legacy bool
		msgs   []*metlog.Message
		want   map[string]float64
	}{
		{"sum", false, []*metlog.Message{
			metric("counter", "hits", "1", 1), metric("counter", "hits", "2.5", -1), metric("counter", "hits", "-1", 1),
		}, map[string]float64{"stats.counters.hits.rate": 1.25, "stats.counters.hits.count": 2.5}},
		{"empty payload counts one", false, []*metlog.Message{metric("counter", "x", "", 1)},
			map[string]float64{"stats.counters.x.rate": 0.5, "stats.counters.x.count": 1}},
		{"sample rates", false, []*metlog.Message{
			metric("counter", "s", "1", 0.1), metric("counter", "s", "3", 0.25), metric("counter", "s", "1", 1),
		}, map[string]float64{"stats.counters.s.rate": (1*(1/0.1) + 3*(1/0.25) + 1) / 2, "stats.counters.s.count": 1*(1/0.1) + 3*(1/0.25) + 1}},
		{"legacy", true, []*metlog.Message{metric("counter", "a.b", "4", 0.5)},
			map[string]float64{"stats.a.b": 4, "stats_counts.a.b": 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAcc(t, func(c *Config) { c.LegacyNamespace = tc.legacy })
			for _, m := range tc.msgs {
				a.Add(m)
			}
			same(t, users(flush(t, a, flushTime)), tc.want)
		})
	}
}

func TestRateFieldTypes(t *testing.T) {
	a := newAcc(t, nil)
	a.Add(&metlog.Message{Type: "counter", Payload: "1", Fields: []metlog.Field{metlog.String("name", "i"), metlog.Int("rate", 1)}})
	a.Add(&metlog.Message{Type: "counter", Payload: "1", Fields: []metlog.Field{metlog.String("rate", "0.5"), metlog.String("name", "s")}})
	same(t, users(flush(t, a, flushTime)), map[string]float64{
		"stats.counters.i.rate": 0.5, "stats.counters.i.count": 1,
		"stats.counters.s.rate": 1, "stats.counters.s.count": 2,
	})
}

func TestTimerMath(t *testing.T) {
	oneToTen := []float64{7, 3, 10, 1, 5, 9, 2, 8, 6, 4} // unsorted on purpose
	for _, tc := range []struct {
		name        string
		percentiles []float64
		msgs        []*metlog.Message
		want        map[string]float64
	}{
		{"one to ten", []float64{90, -10, 50, 99.9, 4}, timers("t", 1, oneToTen...), map[string]float64{
			"count": 10, "count_ps": 5, "sum": 55, "sum_squares": 385, "mean": 5.5, "median": 5.5,
			"upper": 10, "lower": 1, "std": math.Sqrt(8.25),
			"count_90": 9, "mean_90": 5, "upper_90": 9, "sum_90": 45, "sum_squares_90": 285,
			"count_top10": 1, "mean_top10": 10, "lower_top10": 10, "sum_top10": 10, "sum_squares_top10": 100,
			"count_50": 5, "mean_50": 3, "upper_50": 5, "sum_50": 15, "sum_squares_50": 55,
			"count_99_9": 10, "mean_99_9": 5.5, "upper_99_9": 10, "sum_99_9": 55, "sum_squares_99_9": 385,
			// 4 percent of 10 rounds to no value: nothing for 4.
		}},
		{"top 100 percent is everything", []float64{-100, -95}, timers("t", 1, 1, 2, 3, 4), map[string]float64{
			"count": 4, "count_ps": 2, "sum": 10, "sum_squares": 30, "mean": 2.5, "median": 2.5,
			"upper": 4, "lower": 1, "std": math.Sqrt(1.25),
			"count_top100": 4, "mean_top100": 2.5, "lower_top100": 1, "sum_top100": 10, "sum_squares_top100": 30,
			"count_top95": 4, "mean_top95": 2.5, "lower_top95": 1, "sum_top95": 10, "sum_squares_top95": 30,
		}},
		{"one sample", []float64{90, -10}, timers("t", 1, 7), map[string]float64{
			"count": 1, "count_ps": 0.5, "sum": 7, "sum_squares": 49, "mean": 7, "median": 7,
			"upper": 7, "lower": 7, "std": 0,
			"count_90": 1, "mean_90": 7, "upper_90": 7, "sum_90": 7, "sum_squares_90": 49,
			"count_top10": 1, "mean_top10": 7, "lower_top10": 7, "sum_top10": 7, "sum_squares_top10": 49,
		}},
		{"two samples", []float64{90, 50, -50}, timers("t", 1, 4, 2), map[string]float64{
			"count": 2, "count_ps": 1, "sum": 6, "sum_squares": 20, "mean": 3, "median": 3,
			"upper": 4, "lower": 2, "std": 1,
			"count_90": 2, "mean_90": 3, "upper_90": 4, "sum_90": 6, "sum_squares_90": 20,
			"count_50": 1, "mean_50": 2, "upper_50": 2, "sum_50": 2, "sum_squares_50": 4,
			"count_top50": 1, "mean_top50": 4, "lower_top50": 4, "sum_top50": 4, "sum_squares_top50": 16,
		}},
		{"odd count median, fractions, sample rate", []float64{}, timers("t", 0.25, 0.5, 12.25, 3), map[string]float64{
			"count": 12, "count_ps": 6, "sum": 15.75, "sum_squares": 0.25 + 150.0625 + 9, "mean": 5.25, "median": 3,
			"upper": 12.25, "lower": 0.5,
			"std": math.Sqrt(((0.5-5.25)*(0.5-5.25) + (3-5.25)*(3-5.25) + (12.25-5.25)*(12.25-5.25)) / 3),
		}},
		{"idle", []float64{90}, nil, map[string]float64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAcc(t, func(c *Config) { c.Percentiles = tc.percentiles })
			if tc.msgs == nil { // a timer seen in an earlier interval
				a.Add(metric("timer", "t", "1", 1))
				flush(t, a, flushTime)
				tc.want = map[string]float64{"count": 0, "count_ps": 0}
			}
			for _, m := range tc.msgs {
				a.Add(m)
			}
			want := map[string]float64{}
			for k, v := range tc.want {
				want["stats.timers.t."+k] = v
			}
			same(t, users(flush(t, a, flushTime)), want)
		})
	}
}

func TestTimerMetricsAndHistogram(t *testing.T) {
	a := newAcc(t, func(c *Config) {
		c.Percentiles = []float64{50, -50}
		c.TimerMetrics = []string{"count", "median", "upper_percent", "sum_percent", "histogram"}
		c.Histogram = []Histogram{
			{Metric: "skip", Bins: nil},
			{Metric: "render", Bins: []float64{0.5, 2, 10}},
			{Metric: "", Bins: []float64{3, math.Inf(1)}},
		}
	})
	for _, m := range timers("page.render", 1, 0.1, 0.5, 1, 2, 9.99, 10, 50) {
		a.Add(m)
	}
	for _, m := range timers("db", 1, 1, 3, 4) {
		a.Add(m)
	}
	for _, m := range timers("skip.me", 1, 1) {
		a.Add(m)
	}
	same(t, users(flush(t, a, flushTime)), map[string]float64{
		"stats.timers.page.render.count":             7,
		"stats.timers.page.render.median":            2,
		"stats.timers.page.render.upper_50":          2, // round(3.5) = 4 values
		"stats.timers.page.render.sum_50":            3.6,
		"stats.timers.page.render.sum_top50":         2 + 9.99 + 10 + 50,
		"stats.timers.page.render.histogram.bin_0_5": 1,
		"stats.timers.page.render.histogram.bin_2":   2,
		"stats.timers.page.render.histogram.bin_10":  2, // 10 and 50 are beyond the last bin
		"stats.timers.db.count":                      3,
		"stats.timers.db.median":                     3,
		"stats.timers.db.upper_50":                   3, // round(1.5) = 2 values
		"stats.timers.db.sum_50":                     4,
		"stats.timers.db.sum_top50":                  7,
		"stats.timers.db.histogram.bin_3":            1,
		"stats.timers.db.histogram.bin_inf":          2,
		"stats.timers.skip.me.count":                 1,
		"stats.timers.skip.me.median":                1,
		"stats.timers.skip.me.upper_50":              1,
		"stats.timers.skip.me.sum_50":                1,
		"stats.timers.skip.me.sum_top50":             1,
	})
}

func TestGaugesAndSets(t *testing.T) {
	a := newAcc(t, nil)
	for _, m := range []*metlog.Message{
		metric("gauge", "g", "10", -1),
		metric("gauge", "g", "+5", -1),
		metric("gauge", "g", "-20", -1),
		metric("gauge", "d", "-3", -1), // a delta on a new gauge starts from 0
		metric("gauge", "z", "+0", -1),
		metric("set", "u", "alice", -1),
		metric("set", "u", "bob", -1),
		metric("set", "u", "alice", -1),
		metric("set", "u", "", -1), // counted as "0", as statsd does
		metric("set", "u", "0", -1),
	} {
		a.Add(m)
	}
	same(t, users(flush(t, a, flushTime)), map[string]float64{
		"stats.gauges.g": -5, "stats.gauges.d": -3, "stats.gauges.z": 0, "stats.sets.u.count": 3,
	})
	// Idle: gauges keep their value, sets count nothing.
	a.Add(metric("gauge", "d", "+1.5", -1))
	same(t, users(flush(t, a, flushTime)), map[string]float64{
		"stats.gauges.g": -5, "stats.gauges.d": -1.5, "stats.gauges.z": 0, "stats.sets.u.count": 0,
	})
}

func TestNumStats(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		a := newAcc(t, func(c *Config) { c.LegacyNamespace = legacy; c.PrefixStats = "agg" })
		a.Add(metric("counter", "c", "1", 1))
		a.Add(metric("timer", "c", "1", 1)) // the same name, another type: another metric
		a.Add(metric("gauge", "g", "1", -1))
		a.Add(metric("set", "s", "1", -1))
		got := flush(t, a, flushTime)
		num, proc := "stats.agg.numStats", "stats.agg.processing_time"
		if legacy {
			num = "agg.numStats"
		}
		// Four metrics and the two counters of its own.
		if got[num] != 6 {
			t.Errorf("legacy %v: %s = %v in %v", legacy, num, got[num], got)
		}
		if v, ok := got[proc]; !ok || v < 0 {
			t.Errorf("legacy %v: %s = %v, %v", legacy, proc, v, ok)
		}
		received, bad := "stats.counters.agg.metrics_received.count", "stats.counters.agg.bad_lines_seen.count"
		if legacy {
			received, bad = "stats_counts.agg.metrics_received", "stats_counts.agg.bad_lines_seen"
		}
		if got[received] != 4 || got[bad] != 0 {
			t.Errorf("legacy %v: %s = %v, %s = %v", legacy, received, got[received], bad, got[bad])
		}
	}
}
