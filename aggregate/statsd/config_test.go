package statsd

import (
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog/config"
)

func parse(t *testing.T, doc string) (*Config, error) {
	t.Helper()
	cat := config.Catalog{config.KindAggregate: {"statsd": func() any { c := Defaults(); return &c }}}
	cfg, err := config.Parse("test.toml", []byte(doc), cat, nil)
	if err != nil {
		return nil, err
	}
	return cfg.Plugins[0].Config.(*Config), nil
}

func TestSampleIsDefaults(t *testing.T) {
	c, err := parse(t, Sample())
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	d.TimerMetrics = []string{} // the sample spells out the empty list
	if !equalConfig(c, &d) {
		t.Errorf("sample %+v\ndefaults %+v", *c, d)
	}
	// Every key of the sample is a Config field, and every field is in it.
	for _, f := range []string{
		"flush_interval", "percentiles", "timer_metrics", "histogram", "legacy_namespace", "global_prefix",
		"prefix_counter", "prefix_timer", "prefix_gauge", "prefix_set", "global_suffix", "prefix_stats",
		"flush_counts", "delete_idle_stats", "gauges_max_ttl", "tags", "max_names",
		"max_message_size", "logger",
	} {
		if !strings.Contains(Sample(), f+" = ") && !strings.Contains(Sample(), "."+f+"]]") {
			t.Errorf("the sample lacks %s", f)
		}
	}
}

func equalConfig(a, b *Config) bool {
	return a.FlushInterval == b.FlushInterval && slices.Equal(a.Percentiles, b.Percentiles) &&
		slices.Equal(a.TimerMetrics, b.TimerMetrics) && len(a.Histogram) == len(b.Histogram) &&
		a.LegacyNamespace == b.LegacyNamespace && a.GlobalPrefix == b.GlobalPrefix &&
		a.PrefixCounter == b.PrefixCounter && a.PrefixTimer == b.PrefixTimer && a.PrefixGauge == b.PrefixGauge &&
		a.PrefixSet == b.PrefixSet && a.GlobalSuffix == b.GlobalSuffix && a.PrefixStats == b.PrefixStats &&
		a.FlushCounts == b.FlushCounts && a.DeleteIdleStats == b.DeleteIdleStats &&
		a.DeleteCounters == b.DeleteCounters && a.DeleteTimers == b.DeleteTimers &&
		a.DeleteGauges == b.DeleteGauges && a.DeleteSets == b.DeleteSets && a.GaugesMaxTTL == b.GaugesMaxTTL &&
		a.Tags == b.Tags && a.MaxNames == b.MaxNames &&
		a.MaxMessageSize == b.MaxMessageSize && a.Logger == b.Logger
}

func TestParse(t *testing.T) {
	c, err := parse(t, `
[aggregate.statsd]
flush_interval = "1s"
percentiles = [90, -10, 99.9]
delete_idle_stats = true
delete_gauges = false
[[aggregate.statsd.histogram]]
metric = "render"
bins = [0.5, 10, inf]
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.FlushInterval.D() != time.Second || !slices.Equal(c.Percentiles, []float64{90, -10, 99.9}) {
		t.Errorf("%+v", c)
	}
	if len(c.Histogram) != 1 || c.Histogram[0].Metric != "render" || !math.IsInf(c.Histogram[0].Bins[2], 1) {
		t.Errorf("histogram %+v", c.Histogram)
	}
	counters, timers, gauges, sets := c.deletes()
	if !counters || !timers || gauges || !sets {
		t.Errorf("deletes %v %v %v %v", counters, timers, gauges, sets)
	}
}

func TestValidate(t *testing.T) {
	_, err := parse(t, `
[aggregate.statsd]
flush_interval = "0s"
percentiles = [0, 101, -100]
timer_metrics = ["count", "p99"]
global_prefix = "a b"
prefix_stats = "x;y"
gauges_max_ttl = 0
tags = "dogstatsd"
max_names = 0
max_message_size = 100000
[[aggregate.statsd.histogram]]
bins = [10, 5]
`)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"flush_interval must be positive", "percentiles: 0:", "percentiles: 101:", `timer_metrics: "p99"`,
		`global_prefix "a b"`, `prefix_stats "x;y"`, "gauges_max_ttl", `tags "dogstatsd"`, "max_names",
		"max_message_size 100000", "histogram: entry 1",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no %q in\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "percentiles: -100") {
		t.Errorf("-100 is a valid percentile: %v", err)
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Error("New accepted a zero Config")
	}
}

// The README shows the sample `metlog plugins` prints, verbatim.
func TestReadmeHasSample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```toml\n"+Sample()+"```") {
		t.Error("README.md does not show sample.toml as it is")
	}
}
