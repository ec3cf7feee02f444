// Package syslog is the input that receives syslog messages, RFC 5424 and
// RFC 3164, over UDP (one message per datagram), TCP and TLS. Streams may
// use newline framing or octet counting (RFC 6587), decided per connection
// by its first byte: a digit means octet counting.
//
// Messages are read by codec/syslog, whose package comment gives the
// mapping onto metlog messages; docs/syslog.md has it too, and the
// decisions behind it.
//
// # Nothing is lost
//
// A message that does not parse is delivered all the same, as its raw text
// in the payload with a "parse_error" field, and counted as malformed
// (MalformedKinds breaks those down by kind). A message over max_message_size
// is cut to max_message_size bytes, parsed, delivered with a
// "parse_error" field saying it was truncated, and counted as too_large;
// the rest of it is dropped. (A UDP datagram longer than the socket
// buffer is cut by the kernel the same way.) Counted messages are in
// received too.
//
// A full journal makes UDP drop the batch and count it; TCP waits, so the
// sender is slowed down.
package syslog

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/syslog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [input.NAME] table of a syslog input.
type Config struct {
	// Address is the UDP address to listen on, host:port; empty for no
	// UDP. Loopback unless you mean otherwise.
	Address string `toml:"address"`
	// TCPAddress is the TCP address to listen on, host:port; empty for no
	// TCP. With TLS configured it takes TLS only (RFC 5425).
	TCPAddress string `toml:"tcp_address"`
	// MessageType is the Type of every message.
	MessageType string `toml:"message_type"`
	// Timezone is the zone of RFC 3164 timestamps, which name none: "Local"
	// (this machine's), "UTC", or an IANA name such as "Europe/Paris".
	Timezone string `toml:"timezone"`
	// MaxMessageSize is the longest message kept whole, in bytes; longer
	// ones are truncated, delivered and counted as too_large.
	MaxMessageSize int `toml:"max_message_size"`
	// ReadBuffer is the UDP socket receive buffer (SO_RCVBUF) in bytes.
	ReadBuffer int `toml:"read_buffer"`
	// Batch is the most messages handed to the journal at once.
	Batch int `toml:"batch"`
	// IdleTimeout closes a TCP connection that sends nothing for this
	// long; 0 never does.
	IdleTimeout config.Duration `toml:"idle_timeout"`
	// TLS, when configured, makes the TCP listener a TLS listener; with
	// client_ca_file, each message carries the client's certificate name
	// in the field tls_client.
	TLS input.TLS `toml:"tls"`
	// ConnLimits bounds the TCP connections: max_connections,
	// max_connections_per_source, min_rate.
	input.ConnLimits
	// RateLimit bounds the messages per second of each source.
	input.RateLimit
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Address:        "127.0.0.1:5514",
		TCPAddress:     "127.0.0.1:5514",
		MessageType:    syslog.DefaultType,
		Timezone:       "Local",
		MaxMessageSize: 64 << 10,
		ReadBuffer:     4 << 20,
		Batch:          1024,
		ConnLimits:     input.DefaultConnLimits(),
		IdleTimeout:    config.Duration(10 * time.Minute),
	}
}

// maxMessageSize bounds max_message_size.
const maxMessageSize = 1 << 20

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
	if c.MessageType == "" {
		errs = append(errs, errors.New("message_type must not be empty"))
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("timezone %q: %v", c.Timezone, err))
	}
	if c.MaxMessageSize < 480 || c.MaxMessageSize > maxMessageSize {
		errs = append(errs, fmt.Errorf("max_message_size %d: want 480..%d", c.MaxMessageSize, maxMessageSize))
	}
	if c.ReadBuffer < 0 {
		errs = append(errs, errors.New("read_buffer must not be negative"))
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
		errs = append(errs, errors.New("tls needs tcp_address"))
	}
	return errors.Join(errs...)
}

// Input is a bound UDP socket, TCP listener or both; Run reads them.
type Input struct {
	cfg    Config
	log    *slog.Logger
	parser syslog.Parser
	input.Sockets
	limiter     *input.Limiter // nil without rate_limit
	counters    input.Counters
	parseErrors [8]atomic.Uint64 // by syslog.Error
	conns       *input.Conns
}

// New validates cfg and binds the sockets, so that a taken port is an
// error at startup rather than later.
func New(cfg Config, log *slog.Logger) (*Input, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	loc, _ := time.LoadLocation(cfg.Timezone)
	in := &Input{
		cfg:     cfg,
		log:     log,
		parser:  syslog.Parser{Type: cfg.MessageType, Location: loc},
		conns:   cfg.ConnLimits.Conns(log),
		limiter: cfg.RateLimit.Limiter(),
	}
	if err := in.Listen(cfg.Address, cfg.ReadBuffer, cfg.TCPAddress, cfg.TLS, log); err != nil {
		return nil, err
	}
	return in, nil
}

// Counters returns the input's running totals.
func (in *Input) Counters() *input.Counters { return &in.counters }

// MalformedKinds returns how many messages did not parse, by the label of
// their syslog.Error ("no_priority", "bad_timestamp", …).
func (in *Input) MalformedKinds() map[string]uint64 {
	out := map[string]uint64{}
	for _, e := range syslog.Errors() {
		out[e.Label()] = in.parseErrors[e].Load()
	}
	return out
}

// Run reads the sockets and delivers what they carry to sink until ctx
// ends, then closes them, closes every TCP connection and waits for its
// goroutine, which delivers what it had already read. It returns nil after
// ctx ends, or the error that stopped the input.
func (in *Input) Run(ctx context.Context, sink input.Sink) error {
	var readers []input.Reader
	if in.UDP != nil {
		readers = append(readers, in.readUDP)
	}
	if in.TCP != nil {
		readers = append(readers, func(ctx context.Context, sink input.Sink) error {
			return in.conns.Serve(ctx, in.TCP, func(conn net.Conn) { in.serveConn(ctx, conn, sink) })
		})
	}
	return input.Run(ctx, sink, func() { in.Close() }, readers...)
}

// truncatedText is the parse_error of a message cut to max_message_size.
const truncatedText = "message over max_message_size, truncated"

// batch is the messages read and not yet delivered; they are reused from
// batch to batch.
type batch struct {
	msgs []*metlog.Message
	n    int
	size int
}

func newBatch(n int) *batch {
	b := &batch{msgs: make([]*metlog.Message, n)}
	for i := range b.msgs {
		b.msgs[i] = &metlog.Message{}
	}
	return b
}

func (b *batch) full() bool { return b.n == len(b.msgs) }

func (b *batch) reset() { b.n, b.size = 0, 0 }

// add parses one message from src into the batch, counting what is wrong
// with it. Blank messages (empty lines between messages) are skipped, and
// messages over src's rate limit dropped. tlsClient is the name on the
// sender's verified certificate, if any.
func (in *Input) add(b *batch, msg []byte, truncated bool, src netip.Addr, tlsClient string) {
	if len(bytes.Trim(msg, "\r\n\x00")) == 0 {
		return
	}
	if !in.limiter.Allow(src, 1) {
		in.counters.Rejected(input.ReasonRateLimited)
		return
	}
	m := b.msgs[b.n]
	b.n++
	b.size += len(msg)
	err := in.parser.Parse(msg, m)
	if e, ok := err.(syslog.Error); ok {
		in.counters.Rejected(input.ReasonMalformed)
		if int(e) < len(in.parseErrors) {
			in.parseErrors[e].Add(1)
		}
		if in.log.Enabled(context.Background(), slog.LevelDebug) {
			in.log.Debug("message does not parse; kept as payload", "err", err, "message", string(msg[:min(len(msg), 256)]))
		}
	}
	if truncated {
		in.counters.Rejected(input.ReasonTooLarge)
		if err == nil {
			m.AddField(metlog.String(syslog.FieldParseError, truncatedText))
		}
	}
	input.Identify(m, tlsClient, "")
}
