// Package udp is the input that receives one message per datagram: metlog
// JSON as metlog-py's UdpSender and the Go client send it, or one Heka
// record, told apart per datagram.
//
// Datagrams are read in batches (recvmmsg on Linux) into a large socket
// buffer. When the journal is full the input does not wait — a UDP sender
// cannot be slowed down — it drops the batch and counts the drop. Datagrams
// the kernel drops because the socket buffer overflowed are counted too
// (SO_RXQ_OVFL, Linux), as dropped.
package udp

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"golang.org/x/net/ipv4"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/input"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [input.NAME] table of a UDP input.
type Config struct {
	// Address to listen on, host:port. Loopback unless you mean otherwise.
	Address string `toml:"address"`
	// MaxMessageSize is the largest message accepted, in bytes; larger
	// datagrams are rejected as too_large.
	MaxMessageSize int `toml:"max_message_size"`
	// Format is what the input accepts: "auto" (metlog JSON, Heka JSON
	// and Heka records, told apart), "metlog-json", "heka-json" or "heka".
	Format input.Format `toml:"format"`
	// ReadBuffer is the socket receive buffer (SO_RCVBUF) in bytes; the
	// kernel may cap it at net.core.rmem_max.
	ReadBuffer int `toml:"read_buffer"`
	// Batch is how many datagrams one system call may read.
	Batch int `toml:"batch"`
	// Readers is the number of goroutines reading the socket.
	Readers int `toml:"readers"`

	input.Signatures
	input.RateLimit
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Address:        "127.0.0.1:5565",
		MaxMessageSize: heka.MaxMessageSize,
		ReadBuffer:     16 << 20,
		Batch:          64,
		Readers:        2,
	}
}

// maxDatagram is the largest UDP payload over IPv4.
const maxDatagram = 65507

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		errs = append(errs, fmt.Errorf("address %q: %v", c.Address, err))
	}
	if c.MaxMessageSize < 1 || c.MaxMessageSize > heka.MaxMessageSize {
		errs = append(errs, fmt.Errorf("max_message_size %d: want 1..%d", c.MaxMessageSize, heka.MaxMessageSize))
	}
	if c.ReadBuffer < 0 {
		errs = append(errs, errors.New("read_buffer must not be negative"))
	}
	if c.Batch < 1 || c.Batch > 1024 {
		errs = append(errs, fmt.Errorf("batch %d: want 1..1024", c.Batch))
	}
	if c.Readers < 1 || c.Readers > 64 {
		errs = append(errs, fmt.Errorf("readers %d: want 1..64", c.Readers))
	}
	if err := c.Signatures.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.RateLimit.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Input is a bound UDP socket; Run reads it.
type Input struct {
	cfg      Config
	log      *slog.Logger
	conn     *net.UDPConn
	dec      input.Decoder
	counters input.Counters
	limiter  *input.Limiter // nil without rate_limit
}

// New validates cfg and binds the socket, so that a taken port is an error
// at startup rather than later.
func New(cfg Config, log *slog.Logger) (*Input, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	keys, err := cfg.Signatures.KeySet()
	if err != nil {
		return nil, err
	}
	conn, err := input.ListenUDP(cfg.Address, cfg.ReadBuffer, log)
	if err != nil {
		return nil, err
	}
	return &Input{
		cfg:     cfg,
		log:     log,
		conn:    conn,
		dec:     input.Decoder{MaxSize: cfg.MaxMessageSize, Keys: keys, RequireSignature: cfg.RequireSignature, Format: cfg.Format},
		limiter: cfg.RateLimit.Limiter(),
	}, nil
}

// Addr returns the address the socket is bound to.
func (in *Input) Addr() net.Addr { return in.conn.LocalAddr() }

// Counters returns the input's running totals.
func (in *Input) Counters() *input.Counters { return &in.counters }

// Run reads datagrams and delivers them to sink until ctx ends, then closes
// the socket. It returns nil after ctx ends.
func (in *Input) Run(ctx context.Context, sink input.Sink) error {
	readers := make([]input.Reader, in.cfg.Readers)
	for i := range readers {
		readers[i] = in.read
	}
	return input.Run(ctx, sink, func() { in.conn.Close() }, readers...)
}

func (in *Input) read(ctx context.Context, sink input.Sink) error {
	pc := ipv4.NewPacketConn(in.conn)
	batch := make([]ipv4.Message, in.cfg.Batch)
	for i := range batch {
		batch[i].Buffers = [][]byte{make([]byte, maxDatagram+1)}
		batch[i].OOB = make([]byte, input.UDPOOBSize)
	}
	pool := make([]*metlog.Message, in.cfg.Batch)
	for i := range pool {
		pool[i] = new(metlog.Message)
	}
	good := make([]*metlog.Message, 0, in.cfg.Batch)
	for {
		n, err := pc.ReadBatch(batch, 0)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		good = good[:0]
		size := 0
		for i := range n {
			if d := input.KernelDrops(batch[i].OOB[:batch[i].NN]); d >= 0 {
				in.counters.KernelDrops(d)
			}
			if in.limiter != nil && !in.limiter.Allow(input.SourceOf(batch[i].Addr), 1) {
				in.counters.Rejected(input.ReasonRateLimited)
				continue
			}
			p := batch[i].Buffers[0][:batch[i].N]
			m := pool[i]
			if reason, err := in.dec.Datagram(p, m); err != nil {
				in.counters.Rejected(reason)
				in.log.Debug("datagram rejected", "from", batch[i].Addr, "reason", reason, "err", err)
				continue
			}
			good = append(good, m)
			size += len(p)
		}
		if len(good) == 0 {
			continue
		}
		switch err := sink.Deliver(ctx, good, input.DeliverOptions{NoWait: true}); {
		case err == nil:
			in.counters.Received(len(good), size)
		case errors.Is(err, input.ErrFull):
			in.counters.Dropped(len(good))
		case ctx.Err() != nil:
			return nil
		default:
			return err
		}
	}
}
