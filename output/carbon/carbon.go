// Package carbon is the output that sends metrics to Graphite's carbon
// daemon (carbon-cache, carbon-relay, or anything that speaks its plaintext
// protocol), over TCP or UDP.
//
// The plaintext protocol is one data point a line:
//
//	metric.path value unix-seconds\n
//
// Two kinds of message become lines:
//
//   - "statmetric" messages, which the statsd accumulator emits every flush,
//     carry ready-made plaintext lines in their payload. They are sent as
//     they are; a line that is not three space-separated fields with a
//     numeric value and timestamp is skipped and counted as invalid, so
//     that one bad line cannot corrupt the stream.
//   - With Direct set, "counter", "timer" and "gauge" messages are also
//     formatted here, one data point each (see Config.Direct for the naming).
//
// Messages of other types are skipped and counted. Each batch is written
// with one write on TCP, or in as few datagrams as fit MaxDatagram on UDP.
// Any network error drops the connection and is returned, so the router
// retries the batch with backoff; the next Write connects again. A batch
// sent twice is harmless, since carbon keeps one value per metric and time
// slot.
package carbon

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

// Config is the [output.NAME] table of a carbon output.
type Config struct {
	// Address of carbon's line receiver, host:port (LINE_RECEIVER_PORT, or
	// UDP_RECEIVER_PORT with protocol "udp").
	Address string `toml:"address"`
	// Protocol is "tcp" or "udp".
	Protocol string `toml:"protocol"`
	// Timeout bounds connecting and writing one batch.
	Timeout config.Duration `toml:"timeout"`
	// MaxDatagram is the largest UDP datagram sent, in bytes; lines are
	// never split, so a longer line goes alone in a datagram of its own.
	MaxDatagram int `toml:"max_datagram"`
	// Direct also formats "counter", "timer" and "gauge" messages as data
	// points, named PREFIX.TYPEs.LOGGER.NAME from Prefix (when set), the
	// type ("counters", "timers", "gauges"), the logger (with
	// LoggerNamespace) and the message's "name" field. Counters send their
	// payload divided by the "rate" field, timers their milliseconds, and
	// gauges their value, where a payload with a leading + or - changes the
	// last value this output sent for that name. Carbon keeps one value per
	// metric and retention slot, so several messages in one slot keep only
	// the last: aggregate with the statsd accumulator when that matters.
	Direct bool `toml:"direct"`
	// Prefix is the first path segment(s) of directly formatted metrics,
	// such as "stats"; empty for none.
	Prefix string `toml:"prefix"`
	// LoggerNamespace puts each message's logger into the path of directly
	// formatted metrics.
	LoggerNamespace bool `toml:"logger_namespace"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Address:     "127.0.0.1:2003",
		Protocol:    "tcp",
		Timeout:     config.Duration(10 * time.Second),
		MaxDatagram: 1432,
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		errs = append(errs, fmt.Errorf("address %q: %v", c.Address, err))
	}
	if !slices.Contains([]string{"tcp", "udp"}, c.Protocol) {
		errs = append(errs, fmt.Errorf("protocol %q: want \"tcp\" or \"udp\"", c.Protocol))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout must be positive"))
	}
	if c.MaxDatagram < 64 || c.MaxDatagram > 65507 {
		errs = append(errs, fmt.Errorf("max_datagram %d: want 64 to 65507 bytes", c.MaxDatagram))
	}
	if c.Prefix != string(appendName(nil, c.Prefix)) {
		errs = append(errs, fmt.Errorf("prefix %q: use only letters, digits, '_', '-' and '.'", c.Prefix))
	}
	return errors.Join(errs...)
}

// Stats are an output's running totals.
type Stats struct {
	// Lines is the number of data points written.
	Lines uint64
	// Skipped counts messages of a type this output does not send.
	Skipped uint64
	// Invalid counts statmetric lines and metric messages that could not
	// be sent: malformed lines, a missing name, a payload that is not a
	// finite number.
	Invalid uint64
}

// Output sends batches to carbon over one connection, reconnecting as
// needed. It is safe for concurrent use, though the router calls Write
// from one goroutine.
type Output struct {
	cfg Config
	log *slog.Logger
	now func() time.Time

	lines, skipped, invalid atomic.Uint64

	mu     sync.Mutex
	conn   output.LineConn
	buf    []byte
	gauges map[string]float64 // last gauge value sent, by path (Direct)
	// pending holds the gauge values of the batch being written; they
	// replace gauges only once the batch is written, so that a retried
	// batch applies its deltas once.
	pending map[string]float64
}

// New prepares the output; it connects on the first Write.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Output{cfg: cfg, log: log, now: time.Now,
		conn: output.LineConn{Network: cfg.Protocol, Address: cfg.Address, Timeout: cfg.Timeout.D(),
			MaxDatagram: cfg.MaxDatagram, Peer: "carbon", Log: log},
		gauges: map[string]float64{}, pending: map[string]float64{}}, nil
}

// Stats returns the output's running totals.
func (o *Output) Stats() Stats {
	return Stats{Lines: o.lines.Load(), Skipped: o.skipped.Load(), Invalid: o.invalid.Load()}
}

// Write sends the batch's data points. It returns once they are written to
// the socket: the plaintext protocol has no acknowledgements.
func (o *Output) Write(ctx context.Context, batch []*metlog.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	clear(o.pending)
	buf := o.buf[:0]
	var lines, skipped, invalid uint64
	for _, m := range batch {
		var r result
		buf, r = o.appendMessage(buf, m)
		lines += uint64(r.lines)
		invalid += uint64(r.invalid)
		if r.skipped {
			skipped++
		}
	}
	o.buf = buf
	if len(buf) > 0 {
		if err := o.conn.Send(ctx, buf); err != nil {
			return err // counted when the retry succeeds
		}
	}
	o.lines.Add(lines)
	o.skipped.Add(skipped)
	if invalid > 0 {
		o.invalid.Add(invalid)
		o.log.Warn("invalid metrics skipped", "count", invalid)
	}
	for k, v := range o.pending {
		o.gauges[k] = v
	}
	return nil
}

// Close closes the connection.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.conn.Close()
}
