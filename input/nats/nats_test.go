package nats_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	natsclient "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
	natsin "github.com/metlog/metlog/input/nats"
	natsout "github.com/metlog/metlog/output/nats"
	"github.com/metlog/metlog/output/nats/natstest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestSample(t *testing.T) {
	cat := config.Catalog{config.KindInput: {"nats": func() any { c := natsin.Defaults(); return &c }}}
	cfg, err := config.Parse("sample.toml", []byte(natsin.Sample()), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	ins := cfg.Of(config.KindInput)
	if len(ins) != 1 {
		t.Fatalf("plugins %+v", ins)
	}
	got := ins[0].Config.(*natsin.Config)
	want := natsin.Defaults()
	if got.Stream != want.Stream || got.Consumer != want.Consumer || got.Batch != want.Batch ||
		got.AckWait != want.AckWait || got.MaxWait != want.MaxWait || got.MaxAckPending != want.MaxAckPending ||
		len(got.URLs) != 1 || got.URLs[0] != want.URLs[0] || got.FilterSubject != want.FilterSubject {
		t.Errorf("sample config\n%+v\nwant the defaults\n%+v", *got, want)
	}
}

// publish writes n messages through the nats output and returns them.
func publish(t *testing.T, url string, n int) []*metlog.Message { return publishB(t, url, n) }

func publishB(t testing.TB, url string, n int) []*metlog.Message {
	t.Helper()
	cfg := natsout.Defaults()
	cfg.URLs = []string{url}
	o, err := natsout.New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	batch := make([]*metlog.Message, n)
	for i := range batch {
		batch[i] = &metlog.Message{UUID: metlog.NewUUID(), Timestamp: time.Now().UnixNano(), Type: "oldstyle",
			Logger: "test", Severity: metlog.Info, Payload: "line " + strconv.Itoa(i), EnvVersion: metlog.EnvVersion}
	}
	if err := o.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	return batch
}

func newInput(t *testing.T, url string, mutate func(*natsin.Config)) *natsin.Input {
	t.Helper()
	cfg := natsin.Defaults()
	cfg.URLs = []string{url}
	cfg.MaxWait = config.Duration(100 * time.Millisecond)
	if mutate != nil {
		mutate(&cfg)
	}
	in, err := natsin.New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// leakChecked holds the tests that check for leaked goroutines.
var leakChecked sync.Map

// run runs in until the test ends. Once every input of the test has
// stopped, none of their goroutines may be left.
func run(t *testing.T, in *natsin.Input, sink input.Sink) {
	if _, seen := leakChecked.LoadOrStore(t, true); !seen {
		// Registered before the first input's stop, so run after every one.
		t.Cleanup(func() {
			buf := make([]byte, 1<<20)
			for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
				if strings.Contains(g, "input/nats.(*Input)") {
					t.Errorf("goroutine left running after Run returned:\n%s", g)
				}
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// consumerInfo returns the consumer's state, or nil while it does not
// exist.
func consumerInfo(t *testing.T, url, stream, consumer string) *jetstream.ConsumerInfo {
	t.Helper()
	nc, err := natsclient.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	c, err := js.Consumer(context.Background(), stream, consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// waitAcked waits until the consumer has nothing pending or unacknowledged.
func waitAcked(t *testing.T, url, consumer string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		info := consumerInfo(t, url, "METLOG", consumer)
		if info != nil && info.NumPending == 0 && info.NumAckPending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer: %+v", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Everything published reaches the sink, in order, as durable deliveries,
// and is acknowledged.
func TestConsume(t *testing.T) {
	srv := natstest.Start(t)
	sent := publish(t, srv.URL, 1000)
	sink := &inputtest.Sink{}
	in := newInput(t, srv.URL, nil)
	run(t, in, sink)
	got, err := sink.Wait(ctxTimeout(t), len(sent))
	if err != nil {
		t.Fatalf("%d of %d messages: %v", len(got), len(sent), err)
	}
	for i, m := range got {
		if m.UUID != sent[i].UUID || m.Payload != sent[i].Payload {
			t.Fatalf("message %d: %+v, want %+v", i, m, sent[i])
		}
	}
	for _, o := range sink.Options() {
		if !o.Durable {
			t.Fatal("delivered without Durable")
		}
	}
	waitAcked(t, srv.URL, "metlog")
	if s := in.Counters().Snapshot(); s.Received != uint64(len(sent)) {
		t.Errorf("received %d, want %d", s.Received, len(sent))
	}
}

// Two inputs with one consumer name share the messages: together they see
// every message.
func TestConsumerGroupSharesWork(t *testing.T) {
	srv := natstest.Start(t)
	sent := publish(t, srv.URL, 2000)
	sinks := []*inputtest.Sink{{}, {}}
	for _, s := range sinks {
		run(t, newInput(t, srv.URL, func(c *natsin.Config) { c.Batch = 50 }), s)
	}
	waitAcked(t, srv.URL, "metlog")
	seen := map[metlog.UUID]int{}
	for _, s := range sinks {
		for _, m := range s.Messages() {
			seen[m.UUID]++
		}
	}
	for _, m := range sent {
		if seen[m.UUID] == 0 {
			t.Fatalf("message %s never delivered", m.UUID)
		}
	}
	t.Logf("shared: %d and %d messages", len(sinks[0].Messages()), len(sinks[1].Messages()))
}

// failingSink fails its first calls, as a router whose journal write did
// not happen.
type failingSink struct {
	inputtest.Sink
	mu    sync.Mutex
	fails int
}

func (s *failingSink) Deliver(ctx context.Context, msgs []*metlog.Message, opts input.DeliverOptions) error {
	s.mu.Lock()
	fail := s.fails > 0
	s.fails--
	s.mu.Unlock()
	if fail {
		return errors.New("journal unavailable")
	}
	return s.Sink.Deliver(ctx, msgs, opts)
}

// A message that was not journaled is not acknowledged, and comes again.
func TestNotJournaledIsRedelivered(t *testing.T) {
	srv := natstest.Start(t)
	sent := publish(t, srv.URL, 10)
	sink := &failingSink{fails: 2}
	in := newInput(t, srv.URL, nil)
	run(t, in, sink)
	got, err := sink.Wait(ctxTimeout(t), len(sent))
	if err != nil {
		t.Fatalf("%d of %d messages: %v", len(got), len(sent), err)
	}
	waitAcked(t, srv.URL, "metlog")
	if in.Redelivered() == 0 {
		t.Error("no redelivery counted")
	}
}

// Data that is not a Heka record is counted, terminated and never comes
// again; the messages around it are delivered.
func TestMalformedIsRejected(t *testing.T) {
	srv := natstest.Start(t)
	publish(t, srv.URL, 1) // creates the stream
	nc, err := natsclient.Connect(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	for _, data := range []string{"not heka", "\x1e\x02\x08\x05\x1fab", `{"type":"json"}`} {
		if _, err := js.Publish(context.Background(), "metlog.bad", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	publish(t, srv.URL, 1)
	sink := &inputtest.Sink{}
	in := newInput(t, srv.URL, nil)
	run(t, in, sink)
	if _, err := sink.Wait(ctxTimeout(t), 2); err != nil {
		t.Fatal(err)
	}
	waitAcked(t, srv.URL, "metlog")
	s := in.Counters().Snapshot()
	if s.Rejected["malformed"] != 3 {
		t.Errorf("rejected %v, want 3 malformed", s.Rejected)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := map[string]func(*natsin.Config){
		"no urls":        func(c *natsin.Config) { c.URLs = nil },
		"no stream":      func(c *natsin.Config) { c.Stream = "" },
		"dotted name":    func(c *natsin.Config) { c.Consumer = "a.b" },
		"no filter":      func(c *natsin.Config) { c.FilterSubject = "" },
		"deliver":        func(c *natsin.Config) { c.DeliverPolicy = "last" },
		"batch":          func(c *natsin.Config) { c.Batch = 0 },
		"ack pending":    func(c *natsin.Config) { c.MaxAckPending = 1 },
		"signature keys": func(c *natsin.Config) { c.RequireSignature = true },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := natsin.Defaults()
			mutate(&cfg)
			if _, err := natsin.New(cfg, quiet); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

// slowSink holds its first Deliver call for a while, as a journal that is
// full or a disk that is slow.
type slowSink struct {
	inputtest.Sink
	once sync.Once
	hold time.Duration
}

func (s *slowSink) Deliver(ctx context.Context, msgs []*metlog.Message, opts input.DeliverOptions) error {
	s.once.Do(func() {
		select {
		case <-time.After(s.hold):
		case <-ctx.Done():
		}
	})
	return s.Sink.Deliver(ctx, msgs, opts)
}

// Messages that take longer than ack_wait to journal are kept in progress,
// not delivered to the other router of the group meanwhile.
func TestSlowJournalKeepsMessagesInProgress(t *testing.T) {
	srv := natstest.Start(t)
	sent := publish(t, srv.URL, 10)
	slow := &slowSink{hold: 4 * time.Second}
	ackWait := func(c *natsin.Config) { c.AckWait = config.Duration(2 * time.Second) }
	first := newInput(t, srv.URL, ackWait)
	run(t, first, slow)
	// The first input holds every message; start the second.
	waitFor(t, func() bool {
		info := consumerInfo(t, srv.URL, "METLOG", "metlog")
		return info != nil && info.NumAckPending == len(sent)
	})
	other := &inputtest.Sink{}
	second := newInput(t, srv.URL, ackWait)
	run(t, second, other)
	if _, err := slow.Wait(ctxTimeout(t), len(sent)); err != nil {
		t.Fatal(err)
	}
	waitAcked(t, srv.URL, "metlog")
	if got := len(other.Messages()); got != 0 || second.Redelivered() != 0 {
		t.Errorf("the second input got %d messages (%d redelivered), want none", got, second.Redelivered())
	}
}

// waitFor polls cond every 20ms, for up to 20s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Records the output signs pass an input that requires signatures with
// the same key; with another key they are rejected.
func TestSignedRecords(t *testing.T) {
	srv := natstest.Start(t)
	cfg := natsout.Defaults()
	cfg.URLs = []string{srv.URL}
	cfg.Signer.Name, cfg.Signer.Version, cfg.Signer.Key = "edge", 1, "secret"
	o, err := natsout.New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	batch := []*metlog.Message{{UUID: metlog.NewUUID(), Type: "oldstyle", Payload: "signed"}}
	if err := o.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		consumer, key string
		want          int
	}{{"good", "secret", 1}, {"bad", "wrong", 0}} {
		sink := &inputtest.Sink{}
		in := newInput(t, srv.URL, func(c *natsin.Config) {
			c.Consumer = tt.consumer
			c.RequireSignature = true
			c.Signers = []input.SignerKey{{Name: "edge", Version: 1, Key: tt.key}}
		})
		run(t, in, sink)
		waitAcked(t, srv.URL, tt.consumer)
		s := in.Counters().Snapshot()
		if got := len(sink.Messages()); got != tt.want || (tt.want == 0 && s.Rejected["bad_signature"] != 1) {
			t.Errorf("key %q: %d messages, rejected %v", tt.key, got, s.Rejected)
		}
	}
}
