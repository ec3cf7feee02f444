package metlog

import (
	"crypto/tls"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"
)

// An Option configures a Client; see New and Dial.
type Option func(*options)

type options struct {
	logger         string
	severity       Severity
	hostname       string
	queueSize      int
	batchSize      int
	closeTimeout   time.Duration
	statsInterval  time.Duration
	errorLog       *slog.Logger
	filter         filter
	msgFilters     []func(*Message) bool
	disabledTimers []string
	rand           func() float64
	now            func() int64
	tls            *tls.Config
}

// Defaults of the options.
const (
	DefaultQueueSize     = 4096
	DefaultBatchSize     = 128
	DefaultCloseTimeout  = 5 * time.Second
	DefaultStatsInterval = time.Minute
)

func defaultOptions() options {
	host, _ := os.Hostname()
	return options{
		logger:        defaultLoggerName(),
		severity:      Info,
		hostname:      host,
		queueSize:     DefaultQueueSize,
		batchSize:     DefaultBatchSize,
		closeTimeout:  DefaultCloseTimeout,
		statsInterval: DefaultStatsInterval,
		filter:        filter{severityMax: Debug},
		rand:          rand.Float64,
		now:           func() int64 { return time.Now().UnixNano() },
	}
}

// WithLogger sets the Logger of the client's messages: the name of the
// application or component (default: the program's base name).
func WithLogger(name string) Option { return func(o *options) { o.logger = name } }

// WithSeverity sets the severity of counters, timers, gauges and Metlog
// messages (default Info). Log methods carry their own severity.
func WithSeverity(s Severity) Option { return func(o *options) { o.severity = s } }

// WithHostname sets the Hostname of the client's messages (default:
// os.Hostname).
func WithHostname(name string) Option { return func(o *options) { o.hostname = name } }

// WithQueueSize sets how many messages may wait for the sender goroutine
// before new ones are dropped (default DefaultQueueSize), rounded up to a
// power of two. Each slot costs about 120 bytes.
func WithQueueSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.queueSize = n
		}
	}
}

// WithBatchSize sets the most messages handed to the Sender at once
// (default DefaultBatchSize).
func WithBatchSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.batchSize = n
		}
	}
}

// WithCloseTimeout sets how long Close waits for the queue to be sent
// (default DefaultCloseTimeout).
func WithCloseTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.closeTimeout = d
		}
	}
}

// WithStatsInterval sets how often the client reports its own drops and
// send failures as a TypeClientStats message (default
// DefaultStatsInterval). A report is sent only when something was lost
// since the previous one, and once more at Close. Zero or less reports only
// at Close.
func WithStatsInterval(d time.Duration) Option {
	return func(o *options) { o.statsInterval = d }
}

// WithErrorLog sets where the client logs its own trouble (a Sender that
// starts or stops failing). By default it logs nothing; Stats and the
// TypeClientStats reports count the losses either way.
func WithErrorLog(l *slog.Logger) Option { return func(o *options) { o.errorLog = l } }

// WithDisabledTimers turns off the timers with the given names; "*" turns
// off every timer. A disabled Timer measures nothing and sends nothing.
func WithDisabledTimers(names ...string) Option {
	return func(o *options) { o.disabledTimers = append(o.disabledTimers, names...) }
}

// WithSeverityMax drops every message less severe than s (whose severity
// number is greater than s), like metlog-py's severity_max filter.
func WithSeverityMax(s Severity) Option { return func(o *options) { o.filter.severityMax = s } }

// WithTypeAllowlist sends only messages of the given types (metlog-py's
// type_whitelist). Repeated options add to the list.
func WithTypeAllowlist(types ...string) Option {
	return func(o *options) { o.filter.allow = addSet(o.filter.allow, types) }
}

// WithTypeDenylist drops messages of the given types (metlog-py's
// type_blacklist). Repeated options add to the list.
func WithTypeDenylist(types ...string) Option {
	return func(o *options) { o.filter.deny = addSet(o.filter.deny, types) }
}

// WithTypeSeverityMax drops messages of type typ less severe than s
// (metlog-py's type_severity_max).
func WithTypeSeverityMax(typ string, s Severity) Option {
	return func(o *options) {
		if o.filter.typeMax == nil {
			o.filter.typeMax = make(map[string]Severity)
		}
		o.filter.typeMax[typ] = s
	}
}

// WithFilter adds a filter run on the sender goroutine on each built
// message, after the type and severity filters: f returns false to drop m.
// f must not keep or modify m.
func WithFilter(f func(m *Message) bool) Option {
	return func(o *options) { o.msgFilters = append(o.msgFilters, f) }
}
