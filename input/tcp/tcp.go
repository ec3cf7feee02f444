// Package tcp is the input that receives streams: metlog JSON lines (or
// metlog-py's indented StreamSender format) or Heka records, told apart per
// connection by the first byte, over plain TCP or TLS.
//
// Reliable senders ask for acknowledgements with a metlog.hello record and
// get a metlog.ack record whenever what they sent is durable in the journal
// (docs/protocol.md). Each connection reads and delivers in a pipeline: one
// goroutine decodes into a batch while another appends the previous batch
// to the journal (and, acknowledged, waits for it to be synced and acks).
// A full journal slows the reading, and so the sender: TCP backpressure.
package tcp

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [input.NAME] table of a TCP input.
type Config struct {
	// Address to listen on, host:port. Loopback unless you mean otherwise.
	Address string `toml:"address"`
	// MaxMessageSize is the largest message accepted, in bytes.
	MaxMessageSize int `toml:"max_message_size"`
	// Format is what the input accepts: "auto" (metlog JSON, Heka JSON
	// and Heka records, told apart), "metlog-json", "heka-json" or "heka".
	Format input.Format `toml:"format"`
	// IdleTimeout closes a connection that sends nothing for this long;
	// 0 never does.
	IdleTimeout config.Duration `toml:"idle_timeout"`
	// Batch is the most messages appended to the journal at once.
	Batch int `toml:"batch"`
	// TLS, when configured, makes this a TLS listener.
	TLS input.TLS `toml:"tls"`

	input.Signatures
	// ConnLimits bounds the TCP connections: max_connections,
	// max_connections_per_source, min_rate.
	input.ConnLimits
	input.RateLimit
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Address:        "127.0.0.1:5565",
		MaxMessageSize: heka.MaxMessageSize,
		ConnLimits:     input.DefaultConnLimits(),
		IdleTimeout:    config.Duration(10 * time.Minute),
		Batch:          1024,
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		errs = append(errs, fmt.Errorf("address %q: %v", c.Address, err))
	}
	if c.MaxMessageSize < 1 || c.MaxMessageSize > heka.MaxMessageSize {
		errs = append(errs, fmt.Errorf("max_message_size %d: want 1..%d", c.MaxMessageSize, heka.MaxMessageSize))
	}
	if err := c.ConnLimits.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.RateLimit.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.IdleTimeout < 0 {
		errs = append(errs, errors.New("idle_timeout must not be negative"))
	}
	if c.Batch < 1 || c.Batch > 65536 {
		errs = append(errs, fmt.Errorf("batch %d: want 1..65536", c.Batch))
	}
	if err := c.TLS.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Signatures.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Input is a bound listener; Run accepts and serves connections.
type Input struct {
	cfg      Config
	log      *slog.Logger
	ln       net.Listener
	dec      input.Decoder
	counters input.Counters
	conns    *input.Conns
	tls      *input.ServerTLS // nil without TLS
	limiter  *input.Limiter   // nil without rate_limit
}

// New validates cfg and binds the listener.
func New(cfg Config, log *slog.Logger) (*Input, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	keys, err := cfg.Signatures.KeySet()
	if err != nil {
		return nil, err
	}
	ln, st, err := input.ListenTCP(cfg.Address, cfg.TLS)
	if err != nil {
		return nil, err
	}
	return &Input{
		cfg:     cfg,
		log:     log,
		ln:      ln,
		tls:     st,
		limiter: cfg.RateLimit.Limiter(),
		dec:     input.Decoder{MaxSize: cfg.MaxMessageSize, Keys: keys, RequireSignature: cfg.RequireSignature, Format: cfg.Format},
		conns:   cfg.ConnLimits.Conns(log),
	}, nil
}

// Addr returns the listener's address.
func (in *Input) Addr() net.Addr { return in.ln.Addr() }

// Reload reads the TLS certificates again (input.Reloader); connections
// already open keep theirs.
func (in *Input) Reload() error {
	if in.tls == nil {
		return nil
	}
	return in.tls.Reload()
}

// Counters returns the input's running totals.
func (in *Input) Counters() *input.Counters { return &in.counters }

// Run accepts connections until ctx ends, then closes the listener and
// every connection and waits for their handlers, which deliver what they
// had already read.
func (in *Input) Run(ctx context.Context, sink input.Sink) error {
	return in.conns.Serve(ctx, in.ln, func(conn net.Conn) {
		newConnection(in, conn, sink).serve(ctx)
	})
}
