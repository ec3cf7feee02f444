// Package statsd is the input that receives statsd metrics, with the
// DogStatsD extensions, over UDP (any number of lines per datagram) and,
// optionally, TCP (newline-separated lines). The line format is described
// in codec/statsd:
//
//	<name>:<value>|<c|ms|h|d|g|s>[|@<rate>][|#<key:value>,<key>…][|T<seconds>][|c:<container>]
//
// # Messages
//
// Every good line becomes one message, in the shape metlog-py gives its
// counters and timers, so that both aggregate identically. The input
// journals the lines in records (see RecordType), and readers of the
// journal turn each record back into these messages with an Expander:
//
//	line               Type     Payload           Fields, in order
//	name:v|c[|@r]      counter  v (as written)    name (string), rate (double, r or 1)
//	name:v|ms[|@r]     timer    v milliseconds    name, rate
//	name:v|h, |d       timer    v                 name, rate
//	name:v|g           gauge    v, sign kept      name
//	name:m|s           set      m, the member     name
//
// Tags follow as string fields, in line order: "key:value" gives a field
// key = "value", a bare "key" a field key = "". Names may repeat (two tags
// with one key are two fields), and the metric's own name and rate always
// come first, so Fields[name] is the metric name even when a tag is also
// called "name". A gauge's payload keeps its sign: "+4" and "-4" are deltas
// to the current value, as in statsd, and "4" sets it (so a gauge cannot be
// set to a negative value directly, as in statsd). Histograms and
// distributions are timers: nothing in the message says which of ms, h or d
// the line had. Sample rates on gauges and sets are checked and dropped, as
// statsd ignores them. The DogStatsD container ID is checked and dropped.
//
// The rest of the envelope: Logger is the configured logger ("statsd" by
// default), Hostname the configured hostname (this machine's host name by
// default: statsd says nothing about its sender), Severity Info (6),
// EnvVersion "0.8", Pid 0, Timestamp the DogStatsD timestamp when the line
// has one and the time the line was read otherwise. The UUID is derived
// from the record's (see RecordType).
//
// # Bad lines
//
// A bad line is rejected on its own: the lines around it, in the same
// datagram or stream, are read as usual. Each rejected line counts once in
// Counters, as too_large when it is longer than max_line_size and as
// malformed otherwise; MalformedKinds breaks the malformed ones down by the
// codec's error kinds (bad_value, unknown_type, bad_rate, …).
//
// # Speed
//
// Reading allocates nothing per line. UDP datagrams are read in batches
// (recvmmsg on Linux) into a large socket buffer, and datagrams the kernel
// drops for want of buffer space are counted as dropped (SO_RXQ_OVFL; one
// per datagram, since how many lines it held is unknown). Each line is
// checked and, when good, appended to a record: one journal record per up
// to MaxRecordLines lines. An Expander reuses messages and their fields
// from batch to batch; metric names and tag keys and values are interned
// in a bounded table, and everything else (payloads, and strings when the
// table is full) is copied into one string per batch. A full journal makes
// UDP drop the batch and count it; TCP waits, so the sender is slowed down.
package statsd

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog/codec/statsd"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [input.NAME] table of a statsd input.
type Config struct {
	// Address is the UDP address to listen on, host:port; empty for no
	// UDP. Loopback unless you mean otherwise.
	Address string `toml:"address"`
	// TCPAddress is the TCP address to listen on for newline-separated
	// lines, host:port; empty (the default) for no TCP.
	TCPAddress string `toml:"tcp_address"`
	// Logger is the logger of every message.
	Logger string `toml:"logger"`
	// Hostname is the hostname of every message; empty means this
	// machine's host name.
	Hostname string `toml:"hostname"`
	// MaxLineSize is the longest line accepted, in bytes; longer lines are
	// rejected as too_large.
	MaxLineSize int `toml:"max_line_size"`
	// ReadBuffer is the UDP socket receive buffer (SO_RCVBUF) in bytes; the
	// kernel may cap it at net.core.rmem_max.
	ReadBuffer int `toml:"read_buffer"`
	// ReadBatch is how many datagrams one system call may read.
	ReadBatch int `toml:"read_batch"`
	// Readers is the number of goroutines reading the UDP socket.
	Readers int `toml:"readers"`
	// Batch is the most messages handed to the journal at once.
	Batch int `toml:"batch"`
	// IdleTimeout closes a TCP connection that sends nothing for this
	// long; 0 never does.
	IdleTimeout config.Duration `toml:"idle_timeout"`
	// TLS, when configured, makes the TCP listener a TLS listener; with
	// client_ca_file, messages carry the client certificate's name as
	// field tls_client.
	TLS input.TLS `toml:"tls"`

	// ConnLimits bounds the TCP connections: max_connections,
	// max_connections_per_source, min_rate.
	input.ConnLimits
	input.RateLimit
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Address:     "127.0.0.1:8125",
		Logger:      "statsd",
		MaxLineSize: 8192,
		ReadBuffer:  16 << 20,
		ReadBatch:   64,
		Readers:     1,
		Batch:       4096,
		ConnLimits:  input.DefaultConnLimits(),
		IdleTimeout: config.Duration(10 * time.Minute),
	}
}

// maxLineSize bounds max_line_size.
const maxLineSize = 1 << 20

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if c.Address == "" && c.TCPAddress == "" {
		errs = append(errs, errors.New("set address (UDP), tcp_address or both"))
	}
	if c.Address != "" {
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			errs = append(errs, fmt.Errorf("address %q: %v", c.Address, err))
		}
	}
	if c.TCPAddress != "" {
		if _, _, err := net.SplitHostPort(c.TCPAddress); err != nil {
			errs = append(errs, fmt.Errorf("tcp_address %q: %v", c.TCPAddress, err))
		}
	}
	if c.MaxLineSize < 1 || c.MaxLineSize > maxLineSize {
		errs = append(errs, fmt.Errorf("max_line_size %d: want 1..%d", c.MaxLineSize, maxLineSize))
	}
	if c.ReadBuffer < 0 {
		errs = append(errs, errors.New("read_buffer must not be negative"))
	}
	if c.ReadBatch < 1 || c.ReadBatch > 1024 {
		errs = append(errs, fmt.Errorf("read_batch %d: want 1..1024", c.ReadBatch))
	}
	if c.Readers < 1 || c.Readers > 64 {
		errs = append(errs, fmt.Errorf("readers %d: want 1..64", c.Readers))
	}
	if c.Batch < 1 || c.Batch > 65536 {
		errs = append(errs, fmt.Errorf("batch %d: want 1..65536", c.Batch))
	}
	if err := c.ConnLimits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, errors.New("idle_timeout must not be negative"))
	}
	if err := c.RateLimit.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.TLS.Enabled() && c.TCPAddress == "" {
		errs = append(errs, errors.New("tls needs tcp_address (statsd over UDP has no TLS)"))
	}
	return errors.Join(errs...)
}

// Input is a bound UDP socket, TCP listener or both; Run reads them.
type Input struct {
	cfg      Config
	log      *slog.Logger
	hostname string
	input.Sockets
	counters input.Counters
	// lineErrors counts the malformed lines by kind, indexed by
	// statsd.Error.
	lineErrors [16]atomic.Uint64

	conns   *input.Conns   // TCP connections
	limiter *input.Limiter // nil without rate_limit
}

// New validates cfg and binds the sockets, so that a taken port is an
// error at startup rather than later.
func New(cfg Config, log *slog.Logger) (*Input, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	in := &Input{
		cfg:      cfg,
		log:      log,
		hostname: cfg.Hostname,
		conns:    cfg.ConnLimits.Conns(log),
		limiter:  cfg.RateLimit.Limiter(),
	}
	if in.hostname == "" {
		in.hostname, _ = os.Hostname()
	}
	if err := in.Listen(cfg.Address, cfg.ReadBuffer, cfg.TCPAddress, cfg.TLS, log); err != nil {
		return nil, err
	}
	return in, nil
}

// Counters returns the input's running totals.
func (in *Input) Counters() *input.Counters { return &in.counters }

// MalformedKinds returns how many lines were rejected as malformed, by the
// label of their statsd.Error ("bad_value", "unknown_type", …).
func (in *Input) MalformedKinds() map[string]uint64 {
	out := map[string]uint64{}
	for _, e := range statsd.Errors() {
		out[e.Label()] = in.lineErrors[e].Load()
	}
	return out
}

// Run reads the sockets and delivers what they carry to sink until ctx
// ends, then closes them, closes every TCP connection and waits for its
// goroutines, which deliver what they had already read. It returns nil
// after ctx ends, or the error that stopped the input.
func (in *Input) Run(ctx context.Context, sink input.Sink) error {
	var readers []input.Reader
	if in.UDP != nil {
		for range in.cfg.Readers {
			readers = append(readers, in.readUDP)
		}
	}
	if in.TCP != nil {
		readers = append(readers, in.acceptTCP)
	}
	return input.Run(ctx, sink, func() { in.Close() }, readers...)
}

// reject counts a line rejected for err: a statsd.Error, or too_large.
func (in *Input) reject(line []byte, err error) {
	e, ok := err.(statsd.Error)
	if ok {
		in.counters.Rejected(input.ReasonMalformed)
		if int(e) < len(in.lineErrors) {
			in.lineErrors[e].Add(1)
		}
	} else {
		in.counters.Rejected(input.ReasonTooLarge)
	}
	if in.log.Enabled(context.Background(), slog.LevelDebug) {
		if len(line) > 256 {
			line = line[:256]
		}
		in.log.Debug("line rejected", "err", err, "line", string(line))
	}
}

// errTooLarge rejects a line longer than max_line_size.
var errTooLarge = errors.New("line over max_line_size")

// deliverUDP hands the builder's batch to sink without waiting, counting
// it as received or dropped, and empties the builder.
func (in *Input) deliverUDP(ctx context.Context, sink input.Sink, b *recorder) error {
	msgs := b.batch()
	defer b.reset()
	if len(msgs) == 0 {
		return nil
	}
	switch err := sink.Deliver(ctx, msgs, input.DeliverOptions{NoWait: true}); {
	case err == nil:
		in.counters.Received(b.lines, b.size)
	case errors.Is(err, input.ErrFull):
		in.counters.Dropped(b.lines)
	default:
		return err
	}
	return nil
}
