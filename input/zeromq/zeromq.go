// Package zeromq is the input that receives metlog messages over ZeroMQ, as
// metlog-py's ZmqPubSender sent them: one metlog JSON string per ZeroMQ
// message, from a PUB socket connecting to the router. The input is a SUB
// socket (with subscription prefixes) or a PULL socket, bound to an
// endpoint, connecting to endpoints, or both. The ZeroMQ protocol is
// spoken by github.com/go-zeromq/zmq4, in pure Go.
//
// Each ZeroMQ message is decoded like a UDP datagram: metlog JSON, Heka
// JSON or a Heka record (see the format setting). A multi-part message is
// read from its last frame; the frames before it (a topic, say) are
// ignored. One goroutine receives and another appends what it received to
// the journal in batches. When the journal is slower than the senders,
// messages wait in the socket's queues: PUB/SUB has no backpressure to
// the sender.
package zeromq

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/input"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [input.NAME] table of a ZeroMQ input.
type Config struct {
	// Socket is "sub" (for PUB senders such as ZmqPubSender) or "pull"
	// (for PUSH senders).
	Socket string `toml:"socket"`
	// Bind is the endpoint to bind, such as "tcp://127.0.0.1:5566"; empty
	// binds none.
	Bind string `toml:"bind"`
	// Connect are endpoints to connect to, such as publishers that bind.
	Connect []string `toml:"connect"`
	// Subscribe are the prefixes a SUB socket subscribes to; [""] (the
	// default) is every message.
	Subscribe []string `toml:"subscribe"`
	// MaxMessageSize is the largest message accepted, in bytes.
	MaxMessageSize int `toml:"max_message_size"`
	// Format is what the input accepts: "auto", "metlog-json",
	// "heka-json" or "heka".
	Format input.Format `toml:"format"`
	// Batch is the most messages appended to the journal at once.
	Batch int `toml:"batch"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Socket:         "sub",
		Bind:           "tcp://127.0.0.1:5566",
		Subscribe:      []string{""},
		MaxMessageSize: heka.MaxMessageSize,
		Batch:          1024,
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if c.Socket != "sub" && c.Socket != "pull" {
		errs = append(errs, fmt.Errorf("socket %q: want sub or pull", c.Socket))
	}
	if c.Bind == "" && len(c.Connect) == 0 {
		errs = append(errs, errors.New("set bind, connect or both"))
	}
	for _, ep := range append([]string{c.Bind}, c.Connect...) {
		if ep != "" && !strings.Contains(ep, "://") {
			errs = append(errs, fmt.Errorf("endpoint %q: want transport://address, such as tcp://127.0.0.1:5566", ep))
		}
	}
	if c.Socket == "pull" && len(c.Subscribe) > 0 && !(len(c.Subscribe) == 1 && c.Subscribe[0] == "") {
		errs = append(errs, errors.New("subscribe applies to sub sockets only"))
	}
	if c.MaxMessageSize < 1 || c.MaxMessageSize > heka.MaxMessageSize {
		errs = append(errs, fmt.Errorf("max_message_size %d: want 1..%d", c.MaxMessageSize, heka.MaxMessageSize))
	}
	if c.Batch < 1 || c.Batch > 65536 {
		errs = append(errs, fmt.Errorf("batch %d: want 1..65536", c.Batch))
	}
	return errors.Join(errs...)
}

// Input is a bound and connected socket; Run receives from it.
type Input struct {
	cfg      Config
	log      *slog.Logger
	sock     zmq4.Socket
	cancel   context.CancelFunc
	dec      input.Decoder
	counters input.Counters
	once     sync.Once
}

// New validates cfg, makes the socket, binds and connects it.
func New(cfg Config, log *slog.Logger) (*Input, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var sock zmq4.Socket
	if cfg.Socket == "pull" {
		sock = zmq4.NewPull(ctx)
	} else {
		sock = zmq4.NewSub(ctx)
	}
	in := &Input{
		cfg: cfg, log: log, sock: sock, cancel: cancel,
		dec: input.Decoder{MaxSize: cfg.MaxMessageSize, Format: cfg.Format},
	}
	if cfg.Socket == "sub" {
		for _, p := range cfg.Subscribe {
			if err := sock.SetOption(zmq4.OptionSubscribe, p); err != nil {
				in.Close()
				return nil, fmt.Errorf("subscribe %q: %w", p, err)
			}
		}
	}
	if cfg.Bind != "" {
		if err := sock.Listen(cfg.Bind); err != nil {
			in.Close()
			return nil, err
		}
	}
	for _, ep := range cfg.Connect {
		if err := sock.Dial(ep); err != nil {
			in.Close()
			return nil, fmt.Errorf("connect %s: %w", ep, err)
		}
	}
	return in, nil
}

// Addr returns the bound address, or nil.
func (in *Input) Addr() net.Addr { return in.sock.Addr() }

// Counters returns the input's running totals.
func (in *Input) Counters() *input.Counters { return &in.counters }

// Close closes the socket. Run closes it too when it returns.
func (in *Input) Close() error {
	var err error
	in.once.Do(func() {
		err = in.sock.Close()
		in.cancel()
	})
	return err
}

// drainTimeout bounds how long a stopping input waits to deliver what it
// had received.
const drainTimeout = 5 * time.Second

// received is one decoded message and the size of its encoding.
type received struct {
	m    *metlog.Message
	size int
}

// Run receives until ctx ends, then closes the socket, delivers what it
// had received and returns.
func (in *Input) Run(ctx context.Context, sink input.Sink) error {
	ch := make(chan received, in.cfg.Batch)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		in.receive(ch)
	}()
	stop := context.AfterFunc(ctx, func() { in.Close() })
	defer stop()
	err := in.deliver(ctx, sink, ch)
	in.Close()
	for range ch { // let the receiver finish
	}
	wg.Wait()
	return err
}

// receive decodes messages into ch until the socket is closed.
func (in *Input) receive(ch chan<- received) {
	for {
		msg, err := in.sock.Recv()
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) {
				in.log.Debug("receive ends", "err", err)
			}
			return
		}
		if len(msg.Frames) == 0 {
			continue
		}
		p := msg.Frames[len(msg.Frames)-1]
		m := new(metlog.Message)
		if reason, err := in.dec.Datagram(p, m); err != nil {
			in.counters.Rejected(reason)
			in.log.Debug("message rejected", "reason", reason, "err", err)
			continue
		}
		ch <- received{m, len(p)}
	}
}

// deliver appends what arrives on ch to the journal in batches until ch
// is closed.
func (in *Input) deliver(ctx context.Context, sink input.Sink, ch <-chan received) error {
	// What was received is delivered even when ctx has ended (the socket
	// is closed then, so this ends), for at most drainTimeout more.
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(drainTimeout, cancel) })
	defer stop()
	batch := make([]*metlog.Message, 0, in.cfg.Batch)
	for {
		r, ok := <-ch
		if !ok {
			return nil
		}
		batch = append(batch[:0], r.m)
		size := r.size
	fill:
		for len(batch) < cap(batch) {
			select {
			case r, ok := <-ch:
				if !ok {
					break fill
				}
				batch, size = append(batch, r.m), size+r.size
			default:
				break fill
			}
		}
		if err := sink.Deliver(dctx, batch, input.DeliverOptions{}); err != nil {
			in.counters.Dropped(len(batch))
			in.log.Warn("delivery failed", "err", err)
			continue
		}
		in.counters.Received(len(batch), size)
	}
}
