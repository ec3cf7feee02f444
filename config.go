package metlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// Config is a client's configuration, as a TOML file or the environment
// gives it; DialConfig turns it into a Client. Every key is optional. A
// file looks like this:
//
//	target = "udp://127.0.0.1:5565"   # see Dial
//	logger = "myapp"
//	severity = "info"                 # of counters, timers, gauges, Metlog
//	severity_max = "info"             # drop anything less severe
//	type_allowlist = []               # send only these types (empty: all)
//	type_denylist = ["spam"]          # never send these types
//	disabled_timers = ["db_query"]    # "*" disables every timer
//	queue_size = 4096
//	batch_size = 128
//	close_timeout = "5s"
//	stats_interval = "1m"             # "0s": report drops only at Close
//	tls_ca_file = "/etc/metlog/ca.crt"        # tls:// targets: the router's CA
//	tls_cert_file = "/etc/metlog/app.crt"     # and a client certificate, for
//	tls_key_file = "/etc/metlog/app.key"      # a router with mutual TLS
//	tls_server_name = "router.internal"       # the name in the router's certificate
//
//	[type_severity_max]               # per-type severity_max
//	oldstyle = "warning"
//
// Each key has an environment variable, METLOG_ and the key in upper case
// (METLOG_TARGET, METLOG_SEVERITY_MAX, ...), which ApplyEnv reads: lists
// are comma-separated and METLOG_TYPE_SEVERITY_MAX is "type=severity,…".
// Severities are syslog names ("warning", "err", "crit") or numbers 0..7;
// durations are Go durations ("250ms", "1m").
type Config struct {
	// Target is where messages go, a URL as Dial reads it.
	Target string `toml:"target"`
	// Logger names the application in every message.
	Logger string `toml:"logger"`
	// Hostname overrides the host name in every message.
	Hostname string `toml:"hostname"`
	// Severity of counters, timers, gauges and Metlog messages.
	Severity *Severity `toml:"severity"`
	// SeverityMax drops messages less severe than it.
	SeverityMax *Severity `toml:"severity_max"`
	// TypeAllowlist, when not empty, is the only types sent.
	TypeAllowlist []string `toml:"type_allowlist"`
	// TypeDenylist is types never sent.
	TypeDenylist []string `toml:"type_denylist"`
	// TypeSeverityMax maps a type to its own SeverityMax.
	TypeSeverityMax map[string]Severity `toml:"type_severity_max"`
	// DisabledTimers names timers that send nothing; "*" is every timer.
	DisabledTimers []string `toml:"disabled_timers"`
	// QueueSize bounds the messages waiting to be sent (0: the default).
	QueueSize int `toml:"queue_size"`
	// BatchSize bounds the messages sent at once (0: the default).
	BatchSize int `toml:"batch_size"`
	// CloseTimeout bounds how long Close waits for the queue.
	CloseTimeout string `toml:"close_timeout"`
	// StatsInterval is how often the client reports its own losses.
	StatsInterval string `toml:"stats_interval"`
	// TLSCAFile is the PEM CAs that verify the router of a tls:// or
	// tls+ack:// target; empty: the system's.
	TLSCAFile string `toml:"tls_ca_file"`
	// TLSCertFile and TLSKeyFile are the client certificate and key a
	// router with mutual TLS requires.
	TLSCertFile string `toml:"tls_cert_file"`
	TLSKeyFile  string `toml:"tls_key_file"`
	// TLSServerName is the name the router's certificate must have, when
	// it is not the target's host.
	TLSServerName string `toml:"tls_server_name"`
}

// LoadConfig reads a Config from the TOML file at path; see ParseConfig.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("metlog: config: %w", err)
	}
	return ParseConfig(path, data)
}

// ParseConfig reads a Config from TOML. It is strict: unknown keys and
// invalid values are errors, all of them reported at once, each prefixed
// with name (the file name) and, where known, the line and column.
func ParseConfig(name string, data []byte) (Config, error) {
	var c Config
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var strict *toml.StrictMissingError
		var de *toml.DecodeError
		switch {
		case errors.As(err, &strict):
			errs := make([]error, 0, len(strict.Errors))
			for i := range strict.Errors {
				e := &strict.Errors[i]
				line, col := e.Position()
				errs = append(errs, fmt.Errorf("%s:%d:%d: unknown key %q", name, line, col,
					strings.Join(e.Key(), ".")))
			}
			// The keys that are known are decoded; check them too.
			if verr := c.Validate(); verr != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, verr))
			}
			return Config{}, errors.Join(errs...)
		case errors.As(err, &de):
			line, col := de.Position()
			return Config{}, fmt.Errorf("%s:%d:%d: %s", name, line, col, strings.TrimPrefix(de.Error(), "toml: "))
		}
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// envKeys lists the environment variables ApplyEnv reads.
var envKeys = []string{
	"METLOG_TARGET", "METLOG_LOGGER", "METLOG_HOSTNAME", "METLOG_SEVERITY",
	"METLOG_SEVERITY_MAX", "METLOG_TYPE_ALLOWLIST", "METLOG_TYPE_DENYLIST",
	"METLOG_TYPE_SEVERITY_MAX", "METLOG_DISABLED_TIMERS", "METLOG_QUEUE_SIZE",
	"METLOG_BATCH_SIZE", "METLOG_CLOSE_TIMEOUT", "METLOG_STATS_INTERVAL",
	"METLOG_TLS_CA_FILE", "METLOG_TLS_CERT_FILE", "METLOG_TLS_KEY_FILE", "METLOG_TLS_SERVER_NAME",
}

// ConfigFromEnv returns the Config the METLOG_* environment variables give.
func ConfigFromEnv() (Config, error) {
	var c Config
	err := c.ApplyEnv(os.LookupEnv)
	return c, err
}

// ApplyEnv overrides c with the METLOG_* variables that lookup finds (pass
// os.LookupEnv), so that the environment wins over a file. A variable set
// to the empty string clears the key. It reports every bad value at once.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) error {
	var errs []error
	list := func(v string) []string {
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	for _, key := range envKeys {
		v, ok := lookup(key)
		if !ok {
			continue
		}
		switch key {
		case "METLOG_TARGET":
			c.Target = v
		case "METLOG_LOGGER":
			c.Logger = v
		case "METLOG_HOSTNAME":
			c.Hostname = v
		case "METLOG_SEVERITY", "METLOG_SEVERITY_MAX":
			var p *Severity
			if v != "" {
				s, err := ParseSeverity(v)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", key, err))
					continue
				}
				p = &s
			}
			if key == "METLOG_SEVERITY" {
				c.Severity = p
			} else {
				c.SeverityMax = p
			}
		case "METLOG_TYPE_ALLOWLIST":
			c.TypeAllowlist = list(v)
		case "METLOG_TYPE_DENYLIST":
			c.TypeDenylist = list(v)
		case "METLOG_DISABLED_TIMERS":
			c.DisabledTimers = list(v)
		case "METLOG_TYPE_SEVERITY_MAX":
			c.TypeSeverityMax = nil
			for _, kv := range list(v) {
				typ, name, ok := strings.Cut(kv, "=")
				if !ok {
					errs = append(errs, fmt.Errorf("%s: %q is not type=severity", key, kv))
					continue
				}
				sev, err := ParseSeverity(strings.TrimSpace(name))
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", key, err))
					continue
				}
				if c.TypeSeverityMax == nil {
					c.TypeSeverityMax = make(map[string]Severity)
				}
				c.TypeSeverityMax[strings.TrimSpace(typ)] = sev
			}
		case "METLOG_QUEUE_SIZE", "METLOG_BATCH_SIZE":
			n := 0
			if v != "" {
				var err error
				if n, err = strconv.Atoi(v); err != nil {
					errs = append(errs, fmt.Errorf("%s: %q is not a number", key, v))
					continue
				}
			}
			if key == "METLOG_QUEUE_SIZE" {
				c.QueueSize = n
			} else {
				c.BatchSize = n
			}
		case "METLOG_CLOSE_TIMEOUT":
			c.CloseTimeout = v
		case "METLOG_STATS_INTERVAL":
			c.StatsInterval = v
		case "METLOG_TLS_CA_FILE":
			c.TLSCAFile = v
		case "METLOG_TLS_CERT_FILE":
			c.TLSCertFile = v
		case "METLOG_TLS_KEY_FILE":
			c.TLSKeyFile = v
		case "METLOG_TLS_SERVER_NAME":
			c.TLSServerName = v
		}
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Validate reports every invalid value of c at once.
func (c *Config) Validate() error {
	_, err := c.Options()
	return err
}

// Options returns the client options c describes, or every invalid value
// of c at once. The target is not among them (DialConfig uses it), but it
// is checked.
func (c *Config) Options() ([]Option, error) {
	var opts []Option
	var errs []error
	severity := func(key string, s Severity) bool {
		if s < Emergency || s > Debug {
			errs = append(errs, fmt.Errorf("%s: severity %d out of range 0..7", key, s))
			return false
		}
		return true
	}
	duration := func(key, v string) (time.Duration, bool) {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration such as \"5s\"", key, v))
			return 0, false
		}
		return d, true
	}
	if c.Target != "" {
		if err := checkTarget(c.Target); err != nil {
			errs = append(errs, fmt.Errorf("target: %w", err))
		}
	}
	if c.Logger != "" {
		opts = append(opts, WithLogger(c.Logger))
	}
	if c.Hostname != "" {
		opts = append(opts, WithHostname(c.Hostname))
	}
	if c.Severity != nil && severity("severity", *c.Severity) {
		opts = append(opts, WithSeverity(*c.Severity))
	}
	if c.SeverityMax != nil && severity("severity_max", *c.SeverityMax) {
		opts = append(opts, WithSeverityMax(*c.SeverityMax))
	}
	if len(c.TypeAllowlist) > 0 {
		opts = append(opts, WithTypeAllowlist(c.TypeAllowlist...))
	}
	if len(c.TypeDenylist) > 0 {
		opts = append(opts, WithTypeDenylist(c.TypeDenylist...))
	}
	for typ, s := range c.TypeSeverityMax {
		if severity("type_severity_max."+typ, s) {
			opts = append(opts, WithTypeSeverityMax(typ, s))
		}
	}
	if len(c.DisabledTimers) > 0 {
		opts = append(opts, WithDisabledTimers(c.DisabledTimers...))
	}
	if c.QueueSize < 0 || c.QueueSize > 1<<24 {
		errs = append(errs, fmt.Errorf("queue_size: %d is not between 0 and %d", c.QueueSize, 1<<24))
	} else if c.QueueSize > 0 {
		opts = append(opts, WithQueueSize(c.QueueSize))
	}
	if c.BatchSize < 0 || c.BatchSize > 1<<16 {
		errs = append(errs, fmt.Errorf("batch_size: %d is not between 0 and %d", c.BatchSize, 1<<16))
	} else if c.BatchSize > 0 {
		opts = append(opts, WithBatchSize(c.BatchSize))
	}
	if c.CloseTimeout != "" {
		if d, ok := duration("close_timeout", c.CloseTimeout); ok {
			opts = append(opts, WithCloseTimeout(d))
		}
	}
	if c.StatsInterval != "" {
		if d, ok := duration("stats_interval", c.StatsInterval); ok {
			opts = append(opts, WithStatsInterval(d))
		}
	}
	if c.TLSCAFile != "" || c.TLSCertFile != "" || c.TLSKeyFile != "" || c.TLSServerName != "" {
		tc, err := ClientTLS(c.TLSCAFile, c.TLSCertFile, c.TLSKeyFile, c.TLSServerName)
		if err != nil {
			errs = append(errs, err)
		} else {
			opts = append(opts, WithTLS(tc))
		}
	}
	return opts, errors.Join(errs...)
}

// checkTarget reports whether NewSender would understand target, without
// opening or resolving anything.
func checkTarget(target string) error {
	_, err := parseTarget(target)
	return err
}

// DialConfig returns a Client configured by cfg, sending to cfg.Target
// (see Dial for an empty one). Options given here apply after cfg's.
func DialConfig(cfg Config, opts ...Option) (*Client, error) {
	copts, err := cfg.Options()
	if err != nil {
		return nil, fmt.Errorf("metlog: config: %w", err)
	}
	return Dial(cfg.Target, append(copts, opts...)...)
}
