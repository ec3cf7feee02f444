// Package statsd is the output that forwards metric messages to a statsd
// server as statsd lines, over UDP or TCP — what logstash-metlog's
// metlog_statsd output did for metlog-py's counters and timers, so that
// apps keep their existing statsd and Graphite setup behind a router.
//
// Each message becomes one line:
//
//	counter  KEY:COUNT|c[|@RATE]
//	timer    KEY:MILLISECONDS|ms[|@RATE]
//	gauge    KEY:VALUE|g     (a leading + or - is kept: statsd applies it as a delta)
//	set      KEY:MEMBER|s
//
// KEY is the message's "name" field, after Prefix and, with
// LoggerNamespace, the message's logger: PREFIX.LOGGER.NAME. |@RATE is
// added when the "rate" field is below 1, so that statsd scales the sampled
// counts back up. With Tags = "dogstatsd", the other fields follow as
// |#field:value,… . Messages of other types, and metric messages without a
// name or with a payload that is not a number, are skipped and counted.
//
// Keys are made safe for the line protocol: "::" becomes "." (as
// logstash-metlog did for Ruby- and Perl-style names), and ':', '|', '@',
// '#', ',', whitespace and control characters become '_'. Other characters
// pass through; the statsd server may sanitise further (etsy's statsd
// turns '/' into '-' and drops anything outside [A-Za-z0-9_.;=-]).
//
// On UDP, the lines of a batch are packed into as few datagrams of at most
// MaxDatagram bytes as they fit; on TCP, the batch is one write of
// newline-terminated lines. A network error drops the connection and is
// returned, so the router retries the batch with backoff.
package statsd

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [output.NAME] table of a statsd output.
type Config struct {
	// Address of the statsd server, host:port.
	Address string `toml:"address"`
	// Protocol is "udp" or "tcp".
	Protocol string `toml:"protocol"`
	// Timeout bounds connecting and writing one batch.
	Timeout config.Duration `toml:"timeout"`
	// MaxDatagram is the largest UDP datagram sent, in bytes; lines are
	// never split. 1432 fits an Ethernet frame; 512 is safe on any path.
	MaxDatagram int `toml:"max_datagram"`
	// Prefix is prepended to every key, with a dot; empty for none.
	Prefix string `toml:"prefix"`
	// LoggerNamespace prepends each message's logger to its key, with a
	// dot, so that apps sharing one statsd keep apart.
	LoggerNamespace bool `toml:"logger_namespace"`
	// Tags is "none" (plain statsd) or "dogstatsd": every field but name
	// and rate is sent as a DogStatsD tag, field:value (etsy's statsd turns
	// them into ";field=value" key suffixes).
	Tags string `toml:"tags"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Address:     "127.0.0.1:8125",
		Protocol:    "udp",
		Timeout:     config.Duration(10 * time.Second),
		MaxDatagram: 1432,
		Tags:        "none",
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		errs = append(errs, fmt.Errorf("address %q: %v", c.Address, err))
	}
	if !slices.Contains([]string{"udp", "tcp"}, c.Protocol) {
		errs = append(errs, fmt.Errorf("protocol %q: want \"udp\" or \"tcp\"", c.Protocol))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout must be positive"))
	}
	if c.MaxDatagram < 64 || c.MaxDatagram > 65507 {
		errs = append(errs, fmt.Errorf("max_datagram %d: want 64 to 65507 bytes", c.MaxDatagram))
	}
	if c.Prefix != string(appendKey(nil, c.Prefix)) {
		errs = append(errs, fmt.Errorf("prefix %q: ':', '|', '@', '#', ',', whitespace and control characters cannot be part of a key", c.Prefix))
	}
	if !slices.Contains([]string{"none", "dogstatsd"}, c.Tags) {
		errs = append(errs, fmt.Errorf("tags %q: want \"none\" or \"dogstatsd\"", c.Tags))
	}
	return errors.Join(errs...)
}

// Stats are an output's running totals.
type Stats struct {
	// Sent is the number of statsd lines written.
	Sent uint64
	// Skipped counts messages of a type this output does not send.
	Skipped uint64
	// Invalid counts metric messages that could not be sent: no name, or a
	// payload that is not a number (or a negative time).
	Invalid uint64
}

// Output sends batches to statsd over one socket, reconnecting as needed.
// It is safe for concurrent use, though the router calls Write from one
// goroutine.
type Output struct {
	cfg Config
	log *slog.Logger

	sent, skipped, invalid atomic.Uint64

	mu   sync.Mutex
	conn output.LineConn
	buf  []byte
}

// New prepares the output; it connects on the first Write.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Output{cfg: cfg, log: log,
		conn: output.LineConn{Network: cfg.Protocol, Address: cfg.Address, Timeout: cfg.Timeout.D(),
			MaxDatagram: cfg.MaxDatagram, Peer: "statsd", Log: log}}, nil
}

// Stats returns the output's running totals.
func (o *Output) Stats() Stats {
	return Stats{Sent: o.sent.Load(), Skipped: o.skipped.Load(), Invalid: o.invalid.Load()}
}

// Write sends the batch's metrics. It returns once they are written to the
// socket: statsd sends no acknowledgements.
func (o *Output) Write(ctx context.Context, batch []*metlog.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf := o.buf[:0]
	var lines, skipped, invalid uint64
	for _, m := range batch {
		var ok bool
		switch m.Type {
		case metlog.TypeCounter, metlog.TypeTimer, metlog.TypeGauge, typeSet:
			if buf, ok = o.appendLine(buf, m); ok {
				lines++
			} else {
				invalid++
			}
		default:
			skipped++
		}
	}
	o.buf = buf
	if len(buf) > 0 {
		if err := o.conn.Send(ctx, buf); err != nil {
			return err // counted when the retry succeeds
		}
	}
	o.sent.Add(lines)
	o.skipped.Add(skipped)
	if invalid > 0 {
		o.invalid.Add(invalid)
		o.log.Warn("invalid metric messages skipped", "count", invalid)
	}
	return nil
}

// Close closes the socket.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.conn.Close()
}
