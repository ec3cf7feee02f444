package statsd

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/metlog/metlog"
)

func TestIdle(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name string
		edit func(*Config)
		// After one interval with every type and one idle interval.
		want map[string]float64
	}{
		{"keep", nil, map[string]float64{
			"stats.counters.c.rate": 0, "stats.counters.c.count": 0,
			"stats.timers.t.count": 0, "stats.timers.t.count_ps": 0,
			"stats.gauges.g": 3, "stats.sets.s.count": 0,
		}},
		{"delete_idle_stats", func(c *Config) { c.DeleteIdleStats = true }, map[string]float64{}},
		{"delete_idle_stats but keep counters and gauges", func(c *Config) {
			c.DeleteIdleStats, c.DeleteCounters, c.DeleteGauges = true, &no, &no
		}, map[string]float64{"stats.counters.c.rate": 0, "stats.counters.c.count": 0, "stats.gauges.g": 3}},
		{"delete_timers and delete_sets", func(c *Config) { c.DeleteTimers, c.DeleteSets = &yes, &yes }, map[string]float64{
			"stats.counters.c.rate": 0, "stats.counters.c.count": 0, "stats.gauges.g": 3,
		}},
		{"delete_gauges, ttl 2", func(c *Config) { c.DeleteGauges, c.GaugesMaxTTL = &yes, 2 }, map[string]float64{
			"stats.counters.c.rate": 0, "stats.counters.c.count": 0,
			"stats.timers.t.count": 0, "stats.timers.t.count_ps": 0,
			"stats.gauges.g": 3, "stats.sets.s.count": 0,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAcc(t, tc.edit)
			a.Add(metric("counter", "c", "1", 1))
			a.Add(metric("timer", "t", "1", 1))
			a.Add(metric("gauge", "g", "3", -1))
			a.Add(metric("set", "s", "x", -1))
			flush(t, a, flushTime)
			same(t, users(flush(t, a, flushTime)), tc.want)
			if tc.name == "delete_gauges, ttl 2" {
				if got := flush(t, a, flushTime); got["stats.gauges.g"] != 0 || got["stats.statsd.numStats"] != 5 {
					t.Errorf("third flush: %v", got)
				}
				if _, ok := flush(t, a, flushTime)["stats.gauges.g"]; ok {
					t.Error("gauge not deleted")
				}
			}
		})
	}
}

func TestGaugeTTLRenewed(t *testing.T) {
	yes := true
	a := newAcc(t, func(c *Config) { c.DeleteGauges = &yes })
	a.Add(metric("gauge", "g", "1", -1))
	flush(t, a, flushTime)
	if _, ok := flush(t, a, flushTime)["stats.gauges.g"]; ok {
		t.Fatal("idle gauge emitted")
	}
	// Deleted: a delta starts from 0 again, as in statsd.
	a.Add(metric("gauge", "g", "+2", -1))
	same(t, users(flush(t, a, flushTime)), map[string]float64{"stats.gauges.g": 2})
}

func TestMaxNames(t *testing.T) {
	yes := true
	a := newAcc(t, func(c *Config) { c.MaxNames = 3; c.DeleteCounters = &yes })
	for _, n := range []string{"a", "b", "c", "d", "a"} {
		a.Add(metric("counter", n, "1", 1))
	}
	a.Add(metric("timer", "e", "1", 1))
	st := a.Stats()
	if st.Added != 4 || st.Dropped != 2 || st.Names != 3 {
		t.Fatalf("stats %+v", st)
	}
	got := users(flush(t, a, flushTime))
	if len(got) != 6 || got["stats.counters.a.count"] != 2 {
		t.Fatalf("flushed %v", got)
	}
	// Deleted counters make room.
	if st := a.Stats(); st.Names != 0 {
		t.Fatalf("after delete: %+v", st)
	}
	a.Add(metric("timer", "e", "1", 1))
	if got := users(flush(t, a, flushTime)); got["stats.timers.e.count"] != 1 {
		t.Fatalf("flushed %v", got)
	}
}

func TestBadAndIgnored(t *testing.T) {
	a := newAcc(t, nil)
	noName := &metlog.Message{Type: "counter", Payload: "1"}
	intName := &metlog.Message{Type: "counter", Payload: "1", Fields: []metlog.Field{metlog.Int("name", 3)}}
	for _, m := range []*metlog.Message{
		noName, intName,
		metric("counter", "", "1", 1),
		metric("counter", "c", "x", 1),
		metric("counter", "c", "NaN", 1),
		metric("counter", "c", "Inf", 1),
		metric("counter", "c", "1", 0),
		metric("counter", "c", "1", -1), // no rate field: fine
		metric("timer", "t", "-1", 1),
		metric("timer", "t", "", 1),
		metric("gauge", "g", "", -1),
		metric("gauge", "g", "+", -1),
		metric("counter", strings.Repeat("n", MaxNameLen+1), "1", 1),
		metric("counter", "c", "1", 1, "k", strings.Repeat("v", MaxNameLen)),
		metric("counter", "€@!", "1", 1),
		metric("counter", "@", "1", 1, "k", "v"),
	} {
		a.Add(m)
	}
	a.Add(&metlog.Message{Type: "counter", Payload: "1", Fields: []metlog.Field{metlog.String("name", "c"), metlog.Float("rate", -2)}})
	a.Add(&metlog.Message{Type: "counter", Payload: "1", Fields: []metlog.Field{metlog.String("name", "c"), metlog.String("rate", "fast")}})
	a.Add(&metlog.Message{Type: "oldstyle", Payload: "hello"})
	st := a.Stats()
	if st.Bad != 17 || st.Ignored != 1 || st.Added != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestNamesAndTags(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		msgs []*metlog.Message
		want map[string]float64
	}{
		{"tags sorted, bare, ';' replaced", nil, []*metlog.Message{
			metric("counter", "req", "1", 1, "env", "prod", "canary", "", "az", "a;b"),
			metric("counter", "req", "2", 1, "az", "a;b", "env", "prod", "canary", ""),
			metric("gauge", "mem", "5", -1, "host", "h1"),
		}, map[string]float64{
			"stats.counters.req.rate;az=a_b;canary;env=prod": 1.5, "stats.counters.req.count;az=a_b;canary;env=prod": 3,
			"stats.gauges.mem;host=h1": 5,
		}},
		{"second name and rate fields are tags", nil, []*metlog.Message{
			{Type: "counter", Payload: "1", Fields: []metlog.Field{
				metlog.String("name", "n"), metlog.Float("rate", 0.5), metlog.String("name", "other"), metlog.Float("rate", 0.25),
			}},
		}, map[string]float64{"stats.counters.n.rate;name=other;rate=0.25": 1, "stats.counters.n.count;name=other;rate=0.25": 2}},
		{"non-string tags", nil, []*metlog.Message{
			{Type: "set", Payload: "m", Fields: []metlog.Field{
				metlog.String("name", "s"), metlog.Int("i", -4), metlog.Bool("b", true), metlog.Floats("f", 0.5, 2), metlog.Bytes("y", []byte("z")),
			}},
		}, map[string]float64{"stats.sets.s.count;b=true;f=0.5_2;i=-4;y=z": 1}},
		{"tags ignored", func(c *Config) { c.Tags = TagsIgnore }, []*metlog.Message{
			metric("counter", "req", "1", 1, "env", "prod"),
			metric("counter", "req", "2", 1, "env", "dev"),
		}, map[string]float64{"stats.counters.req.rate": 1.5, "stats.counters.req.count": 3}},
		{"sanitized names merge", nil, []*metlog.Message{
			metric("counter", "api/v1 \t users", "1", 1),
			metric("counter", "api-v1_users", "1", 1),
			metric("counter", "api/v1 users", "1", 1),
			metric("timer", "café!", "1", 1),
			metric("gauge", "a b", "1", 1, "k", "v w"),
		}, map[string]float64{
			"stats.counters.api-v1_users.rate": 1.5, "stats.counters.api-v1_users.count": 3,
			"stats.timers.caf.count": 1, "stats.timers.caf.count_ps": 0.5, "stats.timers.caf.sum": 1,
			"stats.gauges.a_b;k=v_w": 1,
		}},
		{"prefixes and suffix", func(c *Config) {
			c.GlobalPrefix, c.PrefixCounter, c.PrefixGauge, c.GlobalSuffix, c.FlushCounts = "", "", "g", "host1", false
		}, []*metlog.Message{
			metric("counter", "c", "1", 1, "t", "1"),
			metric("gauge", "c", "1", -1),
		}, map[string]float64{"c.rate.host1;t=1": 0.5, "g.c.host1": 1}},
		{"legacy ignores prefixes", func(c *Config) {
			c.LegacyNamespace, c.GlobalPrefix, c.PrefixSet, c.GlobalSuffix = true, "x", "y", "h"
		}, []*metlog.Message{
			metric("counter", "c", "1", 1, "t", "1"),
			metric("set", "s", "1", -1),
			metric("gauge", "g", "1", -1),
		}, map[string]float64{"stats.c.h;t=1": 0.5, "stats_counts.c.h;t=1": 1, "stats.sets.s.count.h": 1, "stats.gauges.g.h": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAcc(t, func(c *Config) {
				c.TimerMetrics = []string{"count", "count_ps", "sum"}
				if tc.edit != nil {
					tc.edit(c)
				}
			})
			for _, m := range tc.msgs {
				a.Add(m)
			}
			same(t, users(flush(t, a, flushTime)), tc.want)
		})
	}
}

func TestOwnMetricNames(t *testing.T) {
	for _, tc := range []struct {
		edit                 func(*Config)
		numStats, proc, recv string
	}{
		{nil, "stats.statsd.numStats", "stats.statsd.processing_time", "stats.counters.statsd.metrics_received.rate"},
		{func(c *Config) { c.GlobalPrefix = "" }, "statsd.numStats", "statsd.processing_time", "counters.statsd.metrics_received.rate"},
		{func(c *Config) { c.GlobalSuffix = "h" }, "stats.statsd.numStats.h", "stats.statsd.processing_time.h", "stats.counters.statsd.metrics_received.rate.h"},
		{func(c *Config) { c.LegacyNamespace = true }, "statsd.numStats", "stats.statsd.processing_time", "stats.statsd.metrics_received"},
		{func(c *Config) { c.LegacyNamespace, c.PrefixStats = true, "me" }, "me.numStats", "stats.me.processing_time", "stats.me.metrics_received"},
	} {
		got := flush(t, newAcc(t, tc.edit), flushTime)
		if len(got) != 6 {
			t.Errorf("%s: %v", tc.numStats, got)
		}
		for _, name := range []string{tc.numStats, tc.proc, tc.recv} {
			if _, ok := got[name]; !ok {
				t.Errorf("no %s in %v", name, got)
			}
		}
	}
}

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"plain.name-1_x":       "plain.name-1_x",
		"a b":                  "a_b",
		"a \t\n b":             "a_b",
		"a @ b":                "a__b", // the space runs are apart
		"a/b/c":                "a-b-c",
		"tag;k=v":              "tag;k=v",
		"x\u00a0\u3000\ufeffy": "x_y",
		"x\u0085y":             "xy", // not white space to JavaScript
		"naïve€":               "nave",
		"bad\xffutf8":          "badutf8",
		"":                     "",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAppendNumber(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {1, "1"}, {-1, "-1"}, {0.1, "0.1"}, {1.0 / 3, "0.3333333333333333"},
		{123456789012, "123456789012"}, {1e20, "100000000000000000000"}, {1e21, "1e+21"}, {1.5e300, "1.5e+300"},
		{1e-6, "0.000001"}, {1.5e-7, "1.5e-7"}, {5e-324, "5e-324"}, {-2.5e-10, "-2.5e-10"},
		{math.NaN(), "NaN"}, {math.Inf(1), "Infinity"}, {math.Inf(-1), "-Infinity"},
	} {
		if got := string(appendNumber(nil, tc.v)); got != tc.want {
			t.Errorf("appendNumber(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	for v, want := range map[float64]string{90: "90", 99.9: "99_9", -10: "top10", -99.5: "top99_5", 0.5: "0_5", math.Inf(1): "inf"} {
		if got := numberName(v); got != want {
			t.Errorf("numberName(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestSplit: a flush too big for one message is split, every message is
// within the limit once the router adds its field and UUID, and nothing is
// lost or repeated.
func TestSplit(t *testing.T) {
	a := newAcc(t, func(c *Config) { c.MaxMessageSize = minMessageSize })
	const n = 500
	for i := range n {
		a.Add(metric("timer", fmt.Sprintf("service.endpoint.%04d", i), "12.5", 0.5, "env", "production"))
	}
	msgs, metrics, small := 0, 0, 0
	a.Flush(flushTime, func(m *metlog.Message) {
		checkMessage(t, a, m, flushTime)
		msgs++
		metrics += len(m.Fields)
		m = m.Clone()
		m.UUID = metlog.NewUUID()
		m.AddField(metlog.String("derived_by", "statsd"))
		size := m.ProtobufSize()
		if size > minMessageSize {
			t.Errorf("message %d: %d bytes encoded", msgs, size)
		}
		if size < minMessageSize*3/4 {
			small++
		}
	})
	if want := n*(9+5) + 6; metrics != want || msgs < 2 {
		t.Errorf("%d messages, %d metrics; want %d metrics", msgs, metrics, want)
	}
	if small > 1 { // the last one may be
		t.Errorf("%d of %d messages less than 3/4 full", small, msgs)
	}
}

func TestAddAllocations(t *testing.T) {
	a := newAcc(t, nil)
	msgs := []*metlog.Message{
		metric("counter", "hits", "1", 0.5),
		metric("timer", "db.query", "12.25", 1),
		metric("gauge", "mem", "+1", -1),
		metric("set", "users", "alice", -1),
		metric("counter", "req", "1", 1, "env", "prod", "az", "b"),
	}
	for _, m := range msgs {
		a.Add(m)
	}
	flush(t, a, flushTime) // timers keep their sample slice's capacity
	for _, m := range msgs {
		if n := testing.AllocsPerRun(1000, func() { a.Add(m) }); n != 0 {
			t.Errorf("%s %s: %v allocations per Add", m.Type, m.Payload, n)
		}
	}
}
