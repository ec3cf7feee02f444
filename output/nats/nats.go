// Package nats is the output that publishes messages to NATS JetStream, so
// that routers scale out on a replicated, clustered stream (docs/scaling.md).
//
// Each message is published as one Heka stream record (the same bytes the
// journal holds) to a subject derived from it by a template, by default
// "metlog.{type}". Its Nats-Msg-Id header is its UUID in hex, so JetStream
// drops a message it already holds within the stream's duplicate window:
// when a batch is retried, only the messages JetStream had not yet stored
// are stored again.
//
// Write publishes a batch asynchronously and returns only once JetStream
// has acknowledged every message, that is once the stream holds it on a
// quorum of its replicas; only then does the router move the output's
// cursor. A lost server, a leader election or a timeout fails the Write,
// and the router publishes the batch again: at-least-once end to end.
//
// With shards > 1 and "{shard}" in the subject, counters and timers of one
// metric name always land on one subject (see Shard), so that one
// aggregating router sees all of a name's values.
package nats

import (
	"context"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	natsclient "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/config"
	tcpout "github.com/metlog/metlog/output/tcp"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [output.NAME] table of a nats output.
type Config struct {
	Connection

	// Subject is the template of the subject each message is published
	// to; see Subject for the placeholders.
	Subject string `toml:"subject"`
	// Shards is how many values {shard} takes (1: no sharding).
	Shards int `toml:"shards"`
	// ShardField is the field whose first string value picks the shard;
	// messages without it are sharded by Logger.
	ShardField string `toml:"shard_field"`

	// Stream is the JetStream stream the subjects belong to; publishing
	// expects it, so a subject that no stream or another stream holds is
	// an error, not a silent loss.
	Stream string `toml:"stream"`
	// CreateStream creates the stream when it is missing, and updates it
	// to the settings below when it differs.
	CreateStream bool `toml:"create_stream"`
	// StreamSubjects are the stream's subjects, when it is created.
	StreamSubjects []string `toml:"stream_subjects"`
	// Replicas is the stream's replication factor: 1, or 3 (or 5) on a
	// cluster, when it is created.
	Replicas int `toml:"replicas"`
	// Storage is "file" or "memory".
	Storage string `toml:"storage"`
	// DuplicateWindow is how long JetStream remembers message IDs to drop
	// duplicates.
	DuplicateWindow config.Duration `toml:"duplicate_window"`
	// MaxAge discards messages older than this ("0s": keep until MaxBytes).
	MaxAge config.Duration `toml:"max_age"`
	// MaxBytes caps the stream's size; the oldest messages are discarded
	// (-1: no cap).
	MaxBytes int64 `toml:"max_bytes"`

	// MaxPending is the most publishes awaiting their acknowledgement at
	// once; a larger batch is published in parts of this size.
	MaxPending int `toml:"max_pending"`
	// Timeout bounds connecting and waiting for acknowledgements.
	Timeout config.Duration `toml:"timeout"`
	// Signer signs every record (HMAC) when its Name is set, for inputs
	// that require signatures.
	Signer tcpout.Signer `toml:"signer"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Connection:      Connection{URLs: []string{DefaultURL}},
		Subject:         "metlog.{type}",
		Shards:          1,
		ShardField:      "name",
		Stream:          "METLOG",
		CreateStream:    true,
		StreamSubjects:  []string{"metlog.>"},
		Replicas:        1,
		Storage:         "file",
		DuplicateWindow: config.Duration(2 * time.Minute),
		MaxAge:          config.Duration(72 * time.Hour),
		MaxBytes:        -1,
		MaxPending:      4096,
		Timeout:         config.Duration(10 * time.Second),
		Signer:          tcpout.Signer{Hash: "sha256"},
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	errs := []error{c.Connection.Validate()}
	if _, err := ParseSubject(c.Subject, c.Shards, c.ShardField); err != nil {
		errs = append(errs, err)
	}
	if c.Stream == "" {
		errs = append(errs, errors.New("stream must be set"))
	}
	if c.CreateStream && len(c.StreamSubjects) == 0 {
		errs = append(errs, errors.New("stream_subjects: list at least one subject"))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("replicas %d: want 1..5", c.Replicas))
	}
	if c.Storage != "file" && c.Storage != "memory" {
		errs = append(errs, fmt.Errorf("storage %q: want \"file\" or \"memory\"", c.Storage))
	}
	if c.DuplicateWindow <= 0 {
		errs = append(errs, errors.New("duplicate_window must be positive"))
	}
	if c.MaxAge < 0 {
		errs = append(errs, errors.New("max_age must not be negative"))
	}
	if c.MaxPending < 1 {
		errs = append(errs, errors.New("max_pending must be at least 1"))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout must be positive"))
	}
	if c.Signer.Name != "" {
		if _, err := heka.ParseHash(c.Signer.Hash); err != nil {
			errs = append(errs, fmt.Errorf("signer: %w", err))
		}
		if (c.Signer.Key == "") == (c.Signer.KeyFile == "") {
			errs = append(errs, errors.New("signer: set exactly one of key and key_file"))
		}
	}
	return errors.Join(errs...)
}

// StreamConfig is the JetStream configuration of the stream c creates.
func (c *Config) StreamConfig() jetstream.StreamConfig {
	sc := jetstream.StreamConfig{
		Name:       c.Stream,
		Subjects:   c.StreamSubjects,
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
		Replicas:   c.Replicas,
		Storage:    jetstream.FileStorage,
		Duplicates: c.DuplicateWindow.D(),
		MaxAge:     c.MaxAge.D(),
		MaxBytes:   c.MaxBytes,
		MaxMsgs:    -1,
	}
	if c.Storage == "memory" {
		sc.Storage = jetstream.MemoryStorage
	}
	return sc
}

// Output publishes batches to JetStream over one connection, made on the
// first Write.
type Output struct {
	cfg     Config
	log     *slog.Logger
	subject *Subject
	signer  *heka.Signer

	mu   sync.Mutex
	nc   *natsclient.Conn
	js   jetstream.JetStream
	subj []byte
	futs []jetstream.PubAckFuture
}

// New validates cfg; the output connects on the first Write.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s, _ := ParseSubject(cfg.Subject, cfg.Shards, cfg.ShardField)
	o := &Output{cfg: cfg, log: log, subject: s}
	if cfg.Signer.Name != "" {
		key := cfg.Signer.Key
		if cfg.Signer.KeyFile != "" {
			b, err := os.ReadFile(cfg.Signer.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("signer: %w", err)
			}
			key = strings.TrimRight(string(b), "\r\n")
		}
		h, _ := heka.ParseHash(cfg.Signer.Hash)
		o.signer = &heka.Signer{Name: cfg.Signer.Name, Version: cfg.Signer.Version, Hash: h, Key: key}
	}
	return o, nil
}

// Write publishes the batch and waits until JetStream has acknowledged
// every message. On an error the router retries the whole batch; the
// messages JetStream already stored are then dropped as duplicates by
// their IDs.
func (o *Output) Write(ctx context.Context, batch []*metlog.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.connect(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout.D())
	defer cancel()
	// The records of the whole batch share one buffer, not reused: a
	// publish still in flight after a failed Write may hold its slice.
	size := 0
	for _, m := range batch {
		size += len(m.Payload) + 128
	}
	data := make([]byte, 0, size)
	ends := make([]int, 0, len(batch))
	keep := make([]*metlog.Message, 0, len(batch))
	for _, m := range batch {
		next, err := heka.AppendRecord(data, m, o.signer)
		if err != nil {
			o.log.Warn("message cannot be published; skipped", "uuid", m.UUID, "err", err)
			continue
		}
		data = next
		ends = append(ends, len(data))
		keep = append(keep, m)
	}
	start := 0
	for i := 0; i < len(keep); i += o.cfg.MaxPending {
		j := min(i+o.cfg.MaxPending, len(keep))
		futs := o.futs[:0]
		for k, m := range keep[i:j] {
			end := ends[i+k]
			f, err := o.publish(m, data[start:end:end])
			start = end
			if err != nil {
				return o.fail(fmt.Errorf("publishing: %w", err))
			}
			futs = append(futs, f)
		}
		o.futs = futs
		if err := o.await(ctx, futs); err != nil {
			return err
		}
	}
	return nil
}

// publish starts publishing one record. A message without a UUID (which
// the router never journals) gets no ID, rather than one all such
// messages would share.
func (o *Output) publish(m *metlog.Message, rec []byte) (jetstream.PubAckFuture, error) {
	o.subj = o.subject.Append(o.subj[:0], m)
	msg := &natsclient.Msg{Subject: string(o.subj), Data: rec}
	expect := jetstream.WithExpectStream(o.cfg.Stream)
	if m.UUID.IsZero() {
		return o.js.PublishMsgAsync(msg, expect)
	}
	return o.js.PublishMsgAsync(msg, jetstream.WithMsgID(MsgID(m.UUID)), expect)
}

// await waits for the acknowledgement of every publish in futs.
func (o *Output) await(ctx context.Context, futs []jetstream.PubAckFuture) error {
	dups := 0
	for _, f := range futs {
		select {
		case ack := <-f.Ok():
			if ack.Duplicate {
				dups++
			}
		case err := <-f.Err():
			return fmt.Errorf("jetstream did not store a message: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("waiting for jetstream acknowledgements: %w", ctx.Err())
		}
	}
	if dups > 0 {
		o.log.Debug("jetstream already held messages of the batch", "duplicates", dups)
	}
	return nil
}

// MsgID is the Nats-Msg-Id of a message: its UUID as 32 hex digits.
func MsgID(u metlog.UUID) string { return hex.EncodeToString(u[:]) }

// connect dials and, if configured, creates or updates the stream.
func (o *Output) connect(ctx context.Context) error {
	if o.nc != nil {
		return nil
	}
	nc, err := o.cfg.Connection.Dial("metlog output", o.cfg.Timeout.D(), o.log)
	if err != nil {
		return err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(o.cfg.MaxPending),
		jetstream.WithPublishAsyncTimeout(o.cfg.Timeout.D()))
	if err != nil {
		nc.Close()
		return err
	}
	if o.cfg.CreateStream {
		if err := o.ensureStream(ctx, js); err != nil {
			nc.Close()
			return fmt.Errorf("stream %s: %w", o.cfg.Stream, err)
		}
	}
	o.nc, o.js = nc, js
	return nil
}

// ensureStream creates the stream, or updates it when its settings
// differ. It looks before it creates: JetStream 2.9 may leave an update
// racing another router's create unanswered.
func (o *Output) ensureStream(ctx context.Context, js jetstream.JetStream) error {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout.D())
	defer cancel()
	want := o.cfg.StreamConfig()
	for {
		err := o.tryEnsureStream(ctx, js, want)
		if err == nil || ctx.Err() != nil {
			return err
		}
		o.log.Debug("creating the stream; trying again", "err", err)
	}
}

func (o *Output) tryEnsureStream(ctx context.Context, js jetstream.JetStream, want jetstream.StreamConfig) error {
	// Each request gets a part of the time, so that one left unanswered
	// leaves time to ask again.
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, want)
		if !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return err
		}
		s, err = js.Stream(ctx, want.Name)
	}
	if err != nil {
		return err
	}
	have := s.CachedInfo().Config
	if sameStream(have, want) {
		return nil
	}
	o.log.Info("updating the stream's settings", "stream", want.Name)
	_, err = js.UpdateStream(ctx, want)
	return err
}

// sameStream reports whether have already has the settings of want.
func sameStream(have, want jetstream.StreamConfig) bool {
	return slices.Equal(have.Subjects, want.Subjects) && have.Replicas == want.Replicas &&
		have.Storage == want.Storage && have.Duplicates == want.Duplicates &&
		have.MaxAge == want.MaxAge && have.MaxBytes == want.MaxBytes &&
		have.Retention == want.Retention && have.Discard == want.Discard
}

// fail drops the connection after an error that may have left it in an
// unknown state.
func (o *Output) fail(err error) error {
	o.nc.Close()
	o.nc, o.js = nil, nil
	return err
}

// Close closes the connection.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.nc != nil {
		o.nc.Close()
		o.nc, o.js = nil, nil
	}
	return nil
}
