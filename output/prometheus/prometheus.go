// Package prometheus is the output that aggregates metric messages into
// Prometheus metrics and serves them for scraping, on the router's HTTP
// address at a path of its own (default /metrics/app; the router's own
// metrics stay at /metrics).
//
// # Metrics
//
// Each message updates one series, named from Namespace and the message's
// "name" field:
//
//	counter  NAMESPACE_NAME_total    counter: adds the payload, divided by the "rate" field when below 1
//	gauge    NAMESPACE_NAME          gauge: sets the payload; a leading + or - adds to it instead
//	timer    NAMESPACE_NAME_seconds  histogram (Buckets) or summary (Quantiles) of the payload's
//	                                 milliseconds, in seconds; a rate below 1 counts each
//	                                 observation 1/rate times (at most 1000)
//	histogram  NAMESPACE_NAME        histogram with the message's own bounds: adds its count, sum
//	                                 and buckets (OpenTelemetry histograms, from the otlp input;
//	                                 a message with other bounds starts the series again)
//
// Messages of other types ("set", "statmetric", …) are skipped and counted,
// and so are metric messages that cannot be used: no name, a payload that
// is not a finite number, a negative counter increment (Prometheus counters
// never go down), or a name already used by a metric of another kind
// (including the _count, _sum and _bucket series of a timer's metric).
//
// Names are sanitised for Prometheus: every character other than ASCII
// letters, digits and '_' (including '.', '-', ':' and spaces) becomes
// '_', and a name starting with a digit gets a leading '_'. The _total and
// _seconds suffixes are not doubled when the name already ends with them.
//
// # Labels
//
// The message's logger is the label LoggerLabel ("logger"), and its
// hostname the label HostnameLabel (off by default); either is left out
// when empty. With Tags, every other field — except name, rate and
// payload_type — is a label too: its name sanitised like metric names
// (a leading digit gets '_'), its values joined with ','; bytes fields are
// left out. Tag labels that would clash with a reserved name ("le",
// "quantile", anything starting with "__", or the logger and hostname
// labels) are prefixed with "tag_". Label values are kept as they are, with
// invalid UTF-8 replaced.
//
// # Expiry
//
// A series not updated for ExpireAfter is removed, so that series of
// stopped apps or one-off tags do not stay forever; at most MaxSeries
// series exist at once, and messages that would create more are dropped
// and counted.
package prometheus

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [output.NAME] table of a prometheus output.
type Config struct {
	// Path is where the metrics are served on the router's HTTP address.
	Path string `toml:"path"`
	// Namespace is the first part of every metric name, joined with '_';
	// empty for none.
	Namespace string `toml:"namespace"`
	// LoggerLabel is the label that carries each message's logger; empty
	// to leave the logger out.
	LoggerLabel string `toml:"logger_label"`
	// HostnameLabel is the label that carries each message's hostname;
	// empty (the default) to leave it out.
	HostnameLabel string `toml:"hostname_label"`
	// Tags turns the messages' other fields into labels.
	Tags bool `toml:"tags"`
	// Timers is "histogram" or "summary": how timer messages are exposed.
	Timers string `toml:"timers"`
	// Buckets are the histogram's upper bounds, in seconds, ascending.
	Buckets []float64 `toml:"buckets"`
	// Quantiles are the summary's quantiles, each between 0 and 1; the
	// allowed error of each is a tenth of its distance to 0 or 1,
	// whichever is nearer (0.5 ± 0.05, 0.9 ± 0.01, 0.99 ± 0.001).
	Quantiles []float64 `toml:"quantiles"`
	// SummaryMaxAge is how long an observation counts in the summary's
	// quantiles.
	SummaryMaxAge config.Duration `toml:"summary_max_age"`
	// ExpireAfter removes a series that has not been updated for this
	// long; 0 keeps series forever.
	ExpireAfter config.Duration `toml:"expire_after"`
	// MaxSeries bounds the number of series; messages for new series
	// beyond it are dropped.
	MaxSeries int `toml:"max_series"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Path:          "/metrics/app",
		LoggerLabel:   "logger",
		Tags:          true,
		Timers:        "histogram",
		Buckets:       slices.Clone(prometheus.DefBuckets),
		Quantiles:     []float64{0.5, 0.9, 0.99},
		SummaryMaxAge: config.Duration(prometheus.DefMaxAge),
		ExpireAfter:   config.Duration(5 * time.Minute),
		MaxSeries:     10000,
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Path, "/") || c.Path == "/metrics" {
		errs = append(errs, fmt.Errorf("path %q: want an absolute path other than the router's /metrics", c.Path))
	}
	if c.Namespace != "" && c.Namespace != sanitizeName(c.Namespace) {
		errs = append(errs, fmt.Errorf("namespace %q: use letters, digits and '_', not starting with a digit", c.Namespace))
	}
	for _, l := range []struct{ key, v string }{{"logger_label", c.LoggerLabel}, {"hostname_label", c.HostnameLabel}} {
		if l.v != "" && (l.v != sanitizeName(l.v) || reservedLabel(l.v)) {
			errs = append(errs, fmt.Errorf("%s %q: want a label name of letters, digits and '_', other than le, quantile or __*", l.key, l.v))
		}
	}
	if c.LoggerLabel != "" && c.LoggerLabel == c.HostnameLabel {
		errs = append(errs, errors.New("logger_label and hostname_label must differ"))
	}
	switch c.Timers {
	case "histogram":
		if len(c.Buckets) == 0 {
			errs = append(errs, errors.New("buckets must not be empty"))
		}
		for i, b := range c.Buckets {
			if math.IsNaN(b) || i > 0 && b <= c.Buckets[i-1] {
				errs = append(errs, errors.New("buckets must be ascending numbers"))
				break
			}
		}
	case "summary":
		for _, q := range c.Quantiles {
			if !(q > 0 && q < 1) {
				errs = append(errs, fmt.Errorf("quantile %v: want a number between 0 and 1", q))
			}
		}
		if c.SummaryMaxAge <= 0 {
			errs = append(errs, errors.New("summary_max_age must be positive"))
		}
	default:
		errs = append(errs, fmt.Errorf("timers %q: want \"histogram\" or \"summary\"", c.Timers))
	}
	if c.ExpireAfter < 0 {
		errs = append(errs, errors.New("expire_after must not be negative"))
	}
	if c.MaxSeries <= 0 {
		errs = append(errs, errors.New("max_series must be positive"))
	}
	return errors.Join(errs...)
}

// Stats are an output's running totals.
type Stats struct {
	// Updates counts messages that updated a series.
	Updates uint64
	// Skipped counts messages of a type this output does not aggregate.
	Skipped uint64
	// Invalid counts metric messages that could not be used: no name, a
	// payload that is not a number, a negative counter increment, or a
	// name taken by a metric of another kind.
	Invalid uint64
	// Dropped counts messages for new series beyond MaxSeries.
	Dropped uint64
	// Expired counts series removed after ExpireAfter without updates.
	Expired uint64
	// Series is the number of series now.
	Series int
}

// Output aggregates metric messages and serves them to Prometheus. Write
// and scrapes may run concurrently.
type Output struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	registry *prometheus.Registry
	handler  http.Handler

	mu        sync.Mutex
	series    map[string]*series
	families  map[string]*family // by metric name
	stats     Stats
	lastWarn  time.Time // of the last "series dropped" warning
	lastSweep time.Time // of the last expiry sweep

	// Scratch space and caches for update.
	key         []byte
	labels      []label
	values      []byte
	metricNames map[nameKey]string
	labelNames  map[string]string
}

// family is what the series of one metric name share.
type family struct {
	kind   kind
	series int
}

// New builds the output with a registry of its own.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Output{cfg: cfg, log: log, now: time.Now,
		series: map[string]*series{}, families: map[string]*family{},
		metricNames: map[nameKey]string{}, labelNames: map[string]string{}}
	o.registry = prometheus.NewRegistry()
	if err := o.registry.Register(collector{o}); err != nil {
		return nil, err
	}
	o.handler = promhttp.HandlerFor(o.registry, promhttp.HandlerOpts{
		ErrorLog:      errorLog{log},
		ErrorHandling: promhttp.ContinueOnError,
	})
	return o, nil
}

// Pattern is where the router mounts Handler on its HTTP address.
func (o *Output) Pattern() string { return o.cfg.Path }

// Handler serves the metrics in the Prometheus exposition formats.
func (o *Output) Handler() http.Handler { return o.handler }

// Stats returns the output's running totals.
func (o *Output) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.stats
	s.Series = len(o.series)
	return s
}

// Write folds the batch into the metrics. It never fails: messages that
// cannot be used are counted in Stats and skipped.
func (o *Output) Write(_ context.Context, batch []*metlog.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	before := o.stats
	for _, m := range batch {
		o.update(m, now)
	}
	if n := o.stats.Invalid - before.Invalid; n > 0 {
		o.log.Debug("unusable metric messages skipped", "count", n)
	}
	if n := o.stats.Dropped - before.Dropped; n > 0 && now.Sub(o.lastWarn) >= time.Minute {
		o.lastWarn = now
		o.log.Warn("max_series reached; messages for new series dropped", "max_series", o.cfg.MaxSeries, "dropped", n)
	}
	return nil
}

// errorLog passes the exposition handler's errors to slog.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Println(v ...any) { e.log.Warn("serving metrics", "err", fmt.Sprint(v...)) }
