// Package nats is the input that consumes messages from NATS JetStream:
// the Heka records the nats output published (docs/scaling.md).
//
// It pulls from a durable consumer. Every router configured with the same
// stream and consumer name shares that consumer's messages, each message
// going to one of them: that is how several central routers share the
// work. A message is acknowledged only once it is durable in this router's
// journal; one that is never acknowledged, because the router died or
// lost its connection, is delivered again after ack_wait, to this router
// or another. Messages keep their UUIDs, so a redelivered message is a
// duplicate with the same UUID, never a new message.
//
//	Fetch(batch) ──decode──▶ Sink.Deliver(Durable) ──▶ Ack each message
//	     ▲                          │ (InProgress every ack_wait/3 while it waits)
//	     │                          │ fails
//	     └──── redelivered after ack_wait ◀── Nak
package nats

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
	natsout "github.com/metlog/metlog/output/nats"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [input.NAME] table of a nats input.
type Config struct {
	natsout.Connection

	// Stream is the JetStream stream to consume; it must exist (the nats
	// output creates it).
	Stream string `toml:"stream"`
	// Consumer is the durable consumer's name. Routers that use the same
	// name share its messages; the consumer is created if missing.
	Consumer string `toml:"consumer"`
	// FilterSubject selects the subjects consumed, with wildcards: for
	// one shard of "metlog.{type}.{shard}", "metlog.*.3".
	FilterSubject string `toml:"filter_subject"`
	// DeliverPolicy is where a new consumer starts: "all" (the oldest
	// message the stream holds) or "new" (messages published from now).
	DeliverPolicy string `toml:"deliver_policy"`
	// Batch is the most messages fetched, and journaled, at once.
	Batch int `toml:"batch"`
	// MaxWait is how long a fetch waits for a full batch before it
	// journals what it has; stopping the input waits for the fetch.
	MaxWait config.Duration `toml:"max_wait"`
	// AckWait is how long JetStream waits for an acknowledgement before it
	// delivers a message again.
	AckWait config.Duration `toml:"ack_wait"`
	// MaxAckPending caps the messages delivered and not yet acknowledged,
	// across every router sharing the consumer.
	MaxAckPending int `toml:"max_ack_pending"`
	// MaxMessageSize is the largest message accepted, in bytes.
	MaxMessageSize int `toml:"max_message_size"`
	// Timeout bounds connecting and creating the consumer.
	Timeout config.Duration `toml:"timeout"`

	input.Signatures
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Connection:     natsout.Connection{URLs: []string{natsout.DefaultURL}},
		Stream:         "METLOG",
		Consumer:       "metlog",
		FilterSubject:  "metlog.>",
		DeliverPolicy:  "all",
		Batch:          256,
		MaxWait:        config.Duration(500 * time.Millisecond),
		AckWait:        config.Duration(30 * time.Second),
		MaxAckPending:  16384,
		MaxMessageSize: heka.MaxMessageSize,
		Timeout:        config.Duration(10 * time.Second),
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	errs := []error{c.Connection.Validate(), c.Signatures.Validate()}
	if c.Stream == "" {
		errs = append(errs, errors.New("stream must be set"))
	}
	if c.Consumer == "" || strings.ContainsAny(c.Consumer, ".*> \t\r\n") {
		errs = append(errs, fmt.Errorf("consumer %q: want a name without '.', '*', '>' or spaces", c.Consumer))
	}
	if c.FilterSubject == "" {
		errs = append(errs, errors.New("filter_subject must be set (\">\" for all)"))
	}
	if c.DeliverPolicy != "all" && c.DeliverPolicy != "new" {
		errs = append(errs, fmt.Errorf("deliver_policy %q: want \"all\" or \"new\"", c.DeliverPolicy))
	}
	if c.Batch < 1 || c.Batch > 65536 {
		errs = append(errs, fmt.Errorf("batch %d: want 1..65536", c.Batch))
	}
	if c.MaxWait <= 0 || c.AckWait <= 0 || c.Timeout <= 0 {
		errs = append(errs, errors.New("max_wait, ack_wait and timeout must be positive"))
	}
	if c.MaxAckPending < c.Batch {
		errs = append(errs, fmt.Errorf("max_ack_pending %d: want at least batch (%d)", c.MaxAckPending, c.Batch))
	}
	if c.MaxMessageSize < 1 || c.MaxMessageSize > heka.MaxMessageSize {
		errs = append(errs, fmt.Errorf("max_message_size %d: want 1..%d", c.MaxMessageSize, heka.MaxMessageSize))
	}
	return errors.Join(errs...)
}

// ConsumerConfig is the JetStream configuration of the durable consumer.
func (c *Config) ConsumerConfig() jetstream.ConsumerConfig {
	cc := jetstream.ConsumerConfig{
		Durable:       c.Consumer,
		FilterSubject: c.FilterSubject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait.D(),
		MaxAckPending: c.MaxAckPending,
		MaxDeliver:    -1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	}
	if c.DeliverPolicy == "new" {
		cc.DeliverPolicy = jetstream.DeliverNewPolicy
	}
	return cc
}

// Input pulls from a durable JetStream consumer.
type Input struct {
	cfg         Config
	log         *slog.Logger
	dec         input.Decoder
	counters    input.Counters
	redelivered atomic.Uint64
}

// New validates cfg and loads the signers' keys; Run connects.
func New(cfg Config, log *slog.Logger) (*Input, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	keys, err := cfg.Signatures.KeySet()
	if err != nil {
		return nil, err
	}
	return &Input{
		cfg: cfg,
		log: log,
		dec: input.Decoder{MaxSize: cfg.MaxMessageSize, Keys: keys, RequireSignature: cfg.RequireSignature},
	}, nil
}

// Counters returns the input's running totals.
func (in *Input) Counters() *input.Counters { return &in.counters }

// Redelivered counts messages JetStream delivered more than once (to this
// router or another): after a crash, a lost connection or a slow ack.
func (in *Input) Redelivered() uint64 { return in.redelivered.Load() }

// Run consumes until ctx ends. Connection problems are logged and retried
// with backoff; Run returns nil when ctx ends.
func (in *Input) Run(ctx context.Context, sink input.Sink) error {
	const maxBackoff = 5 * time.Second
	backoff := 100 * time.Millisecond
	for {
		started := time.Now()
		err := in.session(ctx, sink)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		in.log.Warn("consuming from jetstream; retrying", "err", err, "after", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session connects, makes sure the consumer exists, and fetches until ctx
// ends or fetching keeps failing.
func (in *Input) session(ctx context.Context, sink input.Sink) error {
	nc, err := in.cfg.Connection.Dial("metlog input", in.cfg.Timeout.D(), in.log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, in.cfg.Timeout.D())
	cons, err := js.CreateOrUpdateConsumer(cctx, in.cfg.Stream, in.cfg.ConsumerConfig())
	cancel()
	if err != nil {
		return fmt.Errorf("consumer %s on stream %s: %w", in.cfg.Consumer, in.cfg.Stream, err)
	}
	in.log.Info("consuming from jetstream", "stream", in.cfg.Stream, "consumer", in.cfg.Consumer, "filter", in.cfg.FilterSubject)
	b := newBatch(in.cfg.Batch)
	var failingSince time.Time
	for ctx.Err() == nil {
		err := in.fetch(ctx, cons, sink, b)
		switch {
		case err == nil:
			failingSince = time.Time{}
			continue
		case ctx.Err() != nil:
			return nil
		case failingSince.IsZero():
			failingSince = time.Now()
			in.log.Warn("fetching from jetstream", "err", err)
		case time.Since(failingSince) > 10*in.cfg.MaxWait.D()+in.cfg.Timeout.D():
			return err // start over: reconnect and recreate the consumer
		}
		// Wait a little before the next fetch, so a failing one does not
		// spin.
		t := time.NewTimer(in.cfg.MaxWait.D())
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	return nil
}

// batch is the reusable state of one fetch.
type batch struct {
	pool []metlog.Message
	msgs []*metlog.Message
	raw  []jetstream.Msg
}

func newBatch(n int) *batch {
	return &batch{pool: make([]metlog.Message, n), msgs: make([]*metlog.Message, 0, n), raw: make([]jetstream.Msg, 0, n)}
}

// fetch pulls one batch, journals it and acknowledges it.
//
// The pull request is left to expire on the server after max_wait rather
// than cut short by a context here: JetStream may already be sending
// messages for it, and messages the client stopped waiting for would only
// come again after ack_wait. So stopping takes up to max_wait.
func (in *Input) fetch(ctx context.Context, cons jetstream.Consumer, sink input.Sink, b *batch) error {
	res, err := cons.Fetch(in.cfg.Batch, jetstream.FetchMaxWait(in.cfg.MaxWait.D()))
	if err != nil {
		return err
	}
	b.msgs, b.raw = b.msgs[:0], b.raw[:0]
	size := 0
	for msg := range res.Messages() {
		if md, err := msg.Metadata(); err == nil && md.NumDelivered > 1 {
			if in.redelivered.Add(1) == 1 {
				in.log.Info("jetstream delivered a message again", "stream_seq", md.Sequence.Stream, "deliveries", md.NumDelivered)
			}
		}
		m := &b.pool[len(b.msgs)]
		if reason, err := in.decode(msg.Data(), m); err != nil {
			in.counters.Rejected(reason)
			in.log.Debug("message rejected", "reason", reason, "subject", msg.Subject(), "err", err)
			msg.Term() // never deliver it again: it cannot decode
			continue
		}
		size += len(msg.Data())
		b.msgs = append(b.msgs, m)
		b.raw = append(b.raw, msg)
	}
	fetchErr := res.Error()
	if len(b.msgs) > 0 && ctx.Err() != nil {
		// Stopping: hand the batch back at once rather than journal it
		// half way, so another router takes it without a duplicate.
		for _, msg := range b.raw {
			msg.Nak()
		}
		return ctx.Err()
	}
	if len(b.msgs) > 0 {
		stop := in.inProgress(b.raw)
		err := sink.Deliver(ctx, b.msgs, input.DeliverOptions{Durable: true})
		stop()
		if err != nil {
			for _, msg := range b.raw {
				msg.Nak()
			}
			return fmt.Errorf("journaling: %w", err)
		}
		in.counters.Received(len(b.msgs), size)
		for _, msg := range b.raw {
			// A lost ack only means the message comes again, with the same
			// UUID.
			msg.Ack()
		}
	}
	return fetchErr
}

// inProgress tells JetStream every third of ack_wait that msgs are still
// being journaled, so that a slow journal (a full one waiting for room, a
// slow disk) does not have them delivered to another router meanwhile. The
// returned func stops it, and returns once it has stopped.
func (in *Input) inProgress(msgs []jetstream.Msg) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(in.cfg.AckWait.D() / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				for _, msg := range msgs {
					msg.InProgress()
				}
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// decode reads one message's data: a Heka record, framed.
func (in *Input) decode(data []byte, m *metlog.Message) (input.Reason, error) {
	var rec heka.Record
	n, err := heka.ParseRecord(data, &rec, in.cfg.MaxMessageSize)
	if err != nil {
		if errors.Is(err, heka.ErrMessageTooLarge) {
			return input.ReasonTooLarge, err
		}
		return input.ReasonMalformed, err
	}
	if n != len(data) {
		return input.ReasonMalformed, fmt.Errorf("%d bytes after the record", len(data)-n)
	}
	return in.dec.Record(&rec, m)
}
