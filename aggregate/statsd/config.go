package statsd

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/metlog/metlog/config"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [aggregate.NAME] table of a statsd accumulator. The names
// follow etsy statsd's settings (flushInterval, percentThreshold,
// graphite.legacyNamespace, deleteIdleStats…) in snake case.
type Config struct {
	// FlushInterval is how often the accumulated values are computed,
	// emitted and reset; per-second rates are per this interval.
	FlushInterval config.Duration `toml:"flush_interval"`
	// Percentiles are the timer percentiles (statsd's percentThreshold):
	// each adds count_P, mean_P, upper_P, sum_P and sum_squares_P to every
	// timer. A negative P takes the top |P| percent instead, emitted as
	// count_topP, mean_topP, lower_topP… A fraction such as 99.9 is named
	// 99_9. Each must be in [-100, 100] and not 0.
	Percentiles []float64 `toml:"percentiles"`
	// TimerMetrics, when not empty, limits what is emitted per timer
	// (statsd's calculatedTimerMetrics): any of count, count_ps, mean,
	// upper, lower, sum, sum_squares, median, std, histogram, and
	// count_percent, mean_percent, upper_percent, lower_percent,
	// sum_percent, sum_squares_percent for the per-percentile values.
	TimerMetrics []string `toml:"timer_metrics"`
	// Histogram maps timers to histogram bins; the first entry whose
	// Metric occurs in a timer's name applies to it.
	Histogram []Histogram `toml:"histogram"`

	// LegacyNamespace selects statsd's legacy graphite names: counters as
	// stats.NAME (rate) and stats_counts.NAME (count), timers as
	// stats.timers.NAME.*, gauges as stats.gauges.NAME, sets as
	// stats.sets.NAME.count, and statsd.numStats. The prefixes below apply
	// only when it is false (the default): counters as
	// stats.counters.NAME.rate and .count, and so on.
	LegacyNamespace bool `toml:"legacy_namespace"`
	// GlobalPrefix starts every name; "" for none.
	GlobalPrefix string `toml:"global_prefix"`
	// PrefixCounter follows GlobalPrefix in counters' names; "" for none.
	PrefixCounter string `toml:"prefix_counter"`
	// PrefixTimer follows GlobalPrefix in timers' names; "" for none.
	PrefixTimer string `toml:"prefix_timer"`
	// PrefixGauge follows GlobalPrefix in gauges' names; "" for none.
	PrefixGauge string `toml:"prefix_gauge"`
	// PrefixSet follows GlobalPrefix in sets' names; "" for none.
	PrefixSet string `toml:"prefix_set"`
	// GlobalSuffix, when set, ends every name (before any tags), after a
	// dot: a host name, say.
	GlobalSuffix string `toml:"global_suffix"`
	// PrefixStats names the accumulator's own metrics (numStats,
	// processing_time).
	PrefixStats string `toml:"prefix_stats"`
	// FlushCounts emits each counter's count besides its rate.
	FlushCounts bool `toml:"flush_counts"`

	// DeleteIdleStats stops emitting a metric that received nothing during
	// an interval, instead of emitting 0 (counters, timers, sets) or the
	// last value (gauges). It sets the default of the four settings below,
	// which override it one by one.
	DeleteIdleStats bool `toml:"delete_idle_stats"`
	// DeleteCounters forgets idle counters; default DeleteIdleStats.
	DeleteCounters *bool `toml:"delete_counters"`
	// DeleteTimers forgets idle timers; default DeleteIdleStats.
	DeleteTimers *bool `toml:"delete_timers"`
	// DeleteGauges forgets gauges idle for GaugesMaxTTL intervals; default
	// DeleteIdleStats.
	DeleteGauges *bool `toml:"delete_gauges"`
	// DeleteSets forgets idle sets; default DeleteIdleStats.
	DeleteSets *bool `toml:"delete_sets"`
	// GaugesMaxTTL is how many flushes a gauge is still emitted after its
	// last update when DeleteGauges is on (1: only the flush after it).
	GaugesMaxTTL int `toml:"gauges_max_ttl"`

	// Tags says what the fields of a metric message other than name and
	// rate (DogStatsD tags, metlog-py's extra fields) do: "graphite" makes
	// them graphite tags, NAME;key=value;… sorted by key, each distinct
	// set of tags its own metric, as etsy statsd does with DogStatsD tags;
	// "ignore" aggregates by name alone.
	Tags string `toml:"tags"`
	// MaxNames bounds the distinct names (per type, with their tags) kept
	// between flushes; messages for new names beyond it are counted and
	// dropped until idle names are deleted.
	MaxNames int `toml:"max_names"`
	// MaxMessageSize bounds each emitted message, encoded; a flush with
	// more metrics emits several messages.
	MaxMessageSize int `toml:"max_message_size"`
	// Logger is the Logger of the emitted statmetric messages.
	Logger string `toml:"logger"`
}

// Histogram is one [[aggregate.NAME.histogram]] entry.
type Histogram struct {
	// Metric selects the timers whose name (sanitized, with its tags)
	// contains it; "" selects every timer.
	Metric string `toml:"metric"`
	// Bins are exclusive upper bounds in ascending order; inf (TOML's
	// infinity) catches the rest. Values at or beyond the last finite bound
	// are not counted unless the last bin is inf. An empty list exempts
	// the matching timers from later entries.
	Bins []float64 `toml:"bins"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		FlushInterval:  config.Duration(10 * time.Second),
		Percentiles:    []float64{90},
		GlobalPrefix:   "stats",
		PrefixCounter:  "counters",
		PrefixTimer:    "timers",
		PrefixGauge:    "gauges",
		PrefixSet:      "sets",
		PrefixStats:    "statsd",
		FlushCounts:    true,
		GaugesMaxTTL:   1,
		Tags:           TagsGraphite,
		MaxNames:       100_000,
		MaxMessageSize: 60_000,
		Logger:         "statsd",
	}
}

// The values of Config.Tags.
const (
	TagsGraphite = "graphite"
	TagsIgnore   = "ignore"
)

// Limits of Config.MaxMessageSize: the journal keeps messages of up to 64
// KiB, and the router adds a field and a UUID to what is emitted.
const (
	minMessageSize = 4 << 10
	maxMessageSize = 60 << 10
)

// timerMetricNames are the valid entries of Config.TimerMetrics.
var timerMetricNames = []string{
	"count", "count_ps", "mean", "upper", "lower", "sum", "sum_squares", "median", "std", "histogram",
	"count_percent", "mean_percent", "upper_percent", "lower_percent", "sum_percent", "sum_squares_percent",
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if c.FlushInterval <= 0 {
		errs = append(errs, errors.New("flush_interval must be positive"))
	}
	for _, p := range c.Percentiles {
		if p == 0 || math.IsNaN(p) || p < -100 || p > 100 {
			errs = append(errs, fmt.Errorf("percentiles: %v: want a non-zero number in [-100, 100]", p))
		}
	}
	for _, m := range c.TimerMetrics {
		if !slices.Contains(timerMetricNames, m) {
			errs = append(errs, fmt.Errorf("timer_metrics: %q: want one of %s", m, strings.Join(timerMetricNames, ", ")))
		}
	}
	for i, h := range c.Histogram {
		for j, b := range h.Bins {
			if math.IsNaN(b) || b <= 0 || (j > 0 && b <= h.Bins[j-1]) || (math.IsInf(b, 1) && j != len(h.Bins)-1) {
				errs = append(errs, fmt.Errorf("histogram: entry %d (metric %q): bins must be positive and ascending, inf only last", i+1, h.Metric))
				break
			}
		}
	}
	for _, p := range []struct{ key, v string }{
		{"global_prefix", c.GlobalPrefix}, {"prefix_counter", c.PrefixCounter}, {"prefix_timer", c.PrefixTimer},
		{"prefix_gauge", c.PrefixGauge}, {"prefix_set", c.PrefixSet}, {"global_suffix", c.GlobalSuffix},
		{"prefix_stats", c.PrefixStats},
	} {
		if strings.ContainsFunc(p.v, func(r rune) bool { return r <= ' ' || r == ';' || r == 0x7f }) {
			errs = append(errs, fmt.Errorf("%s %q: white space, control characters and ';' are not allowed", p.key, p.v))
		}
	}
	if c.GaugesMaxTTL < 1 {
		errs = append(errs, errors.New("gauges_max_ttl must be at least 1"))
	}
	if c.Tags != TagsGraphite && c.Tags != TagsIgnore {
		errs = append(errs, fmt.Errorf("tags %q: want %q or %q", c.Tags, TagsGraphite, TagsIgnore))
	}
	if c.MaxNames < 1 {
		errs = append(errs, errors.New("max_names must be positive"))
	}
	if c.MaxMessageSize < minMessageSize || c.MaxMessageSize > maxMessageSize {
		errs = append(errs, fmt.Errorf("max_message_size %d: want %d..%d", c.MaxMessageSize, minMessageSize, maxMessageSize))
	}
	return errors.Join(errs...)
}

// deletes resolves the delete_* settings against delete_idle_stats.
func (c *Config) deletes() (counters, timers, gauges, sets bool) {
	or := func(p *bool) bool {
		if p != nil {
			return *p
		}
		return c.DeleteIdleStats
	}
	return or(c.DeleteCounters), or(c.DeleteTimers), or(c.DeleteGauges), or(c.DeleteSets)
}
