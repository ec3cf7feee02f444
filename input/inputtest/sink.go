// Package inputtest provides a Sink for testing inputs without a router.
package inputtest

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/input"
)

// Sink records what inputs deliver. The zero value accepts everything.
type Sink struct {
	mu   sync.Mutex
	msgs []*metlog.Message
	opts []input.DeliverOptions
	// calls counts Deliver calls, accepted or not.
	calls int
	// Full makes Deliver with NoWait fail with input.ErrFull.
	Full bool
	// changed is closed and replaced whenever messages arrive.
	changed chan struct{}
}

// Deliver keeps a copy of every message.
func (s *Sink) Deliver(ctx context.Context, msgs []*metlog.Message, opts input.DeliverOptions) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	defer s.notify()
	if s.Full && opts.NoWait {
		return input.ErrFull
	}
	for _, m := range msgs {
		s.msgs = append(s.msgs, m.Clone())
		s.opts = append(s.opts, opts)
	}
	return nil
}

func (s *Sink) notify() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// Messages returns copies of what was delivered so far.
func (s *Sink) Messages() []*metlog.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*metlog.Message(nil), s.msgs...)
}

// Options returns the DeliverOptions each message came with.
func (s *Sink) Options() []input.DeliverOptions {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]input.DeliverOptions(nil), s.opts...)
}

// Wait blocks until at least n messages have arrived or ctx ends, and
// returns them.
func (s *Sink) Wait(ctx context.Context, n int) ([]*metlog.Message, error) {
	return s.waitFor(ctx, func() bool { return len(s.msgs) >= n })
}

// WaitCalls blocks until Deliver has been called n times, whatever it
// returned, or ctx ends.
func (s *Sink) WaitCalls(ctx context.Context, n int) error {
	_, err := s.waitFor(ctx, func() bool { return s.calls >= n })
	return err
}

func (s *Sink) waitFor(ctx context.Context, done func() bool) ([]*metlog.Message, error) {
	for {
		s.mu.Lock()
		if done() {
			out := append([]*metlog.Message(nil), s.msgs...)
			s.mu.Unlock()
			return out, nil
		}
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return s.Messages(), ctx.Err()
		}
	}
}

// RecordSink is a Sink that also takes records (input.RecordSink): it
// decodes them and keeps them as messages, counting them in Records.
type RecordSink struct {
	Sink
	records atomic.Int64
}

// DeliverRecords decodes recs and delivers them as Deliver does.
func (s *RecordSink) DeliverRecords(ctx context.Context, recs [][]byte, opts input.DeliverOptions) error {
	msgs := make([]*metlog.Message, len(recs))
	for i, r := range recs {
		msgs[i] = new(metlog.Message)
		if err := heka.Unmarshal(r, msgs[i]); err != nil {
			return err
		}
	}
	s.records.Add(int64(len(recs)))
	return s.Deliver(ctx, msgs, opts)
}

// Records returns how many messages came as records.
func (s *RecordSink) Records() int { return int(s.records.Load()) }
