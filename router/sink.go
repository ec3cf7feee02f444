package router

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/journal"
)

// sink is the input.Sink of a router: it completes messages (UUID,
// timestamp) and appends them to the journal as Heka protobuf records.
type sink struct {
	j    *journal.Journal
	now  func() time.Time
	tail *tailHub
	// oversize counts messages whose encoding is over heka.MaxMessageSize:
	// they cannot be journaled and are dropped.
	oversize atomic.Uint64
	bufs     sync.Pool // *encodeBuf
}

type encodeBuf struct {
	data  []byte
	recs  [][]byte
	ends  []int
	uuids *metlog.UUIDGenerator
}

// Deliver implements input.Sink.
func (s *sink) Deliver(ctx context.Context, msgs []*metlog.Message, opts input.DeliverOptions) error {
	b, _ := s.bufs.Get().(*encodeBuf)
	if b == nil {
		b = &encodeBuf{uuids: metlog.NewUUIDGenerator()}
	}
	defer s.bufs.Put(b)
	b.data, b.recs, b.ends = b.data[:0], b.recs[:0], b.ends[:0]
	now := s.now().UnixNano()
	for _, m := range msgs {
		if m.Timestamp == 0 {
			m.Timestamp = now
		}
		if m.UUID.IsZero() {
			m.UUID = b.uuids.New(now)
		}
		start := len(b.data)
		b.data = m.AppendProtobuf(b.data)
		if len(b.data)-start > heka.MaxMessageSize {
			b.data = b.data[:start]
			s.oversize.Add(1)
			continue
		}
		b.ends = append(b.ends, len(b.data))
	}
	if len(b.ends) == 0 {
		return nil // all oversize: counted, and nothing for the input to do
	}
	// Slice the records only now: appending may have moved data.
	start := 0
	for _, end := range b.ends {
		b.recs = append(b.recs, b.data[start:end])
		start = end
	}
	pos, err := s.store(ctx, b.recs, opts)
	if err != nil {
		return err
	}
	s.tail.publish(msgs)
	return s.durable(ctx, pos, opts)
}

// DeliverRecords implements input.RecordSink.
func (s *sink) DeliverRecords(ctx context.Context, recs [][]byte, opts input.DeliverOptions) error {
	if slices.ContainsFunc(recs, tooLarge) {
		var keep [][]byte
		for _, r := range recs {
			if tooLarge(r) {
				s.oversize.Add(1)
			} else {
				keep = append(keep, r)
			}
		}
		if recs = keep; len(recs) == 0 {
			return nil
		}
	}
	pos, err := s.store(ctx, recs, opts)
	if err != nil {
		return err
	}
	s.tail.publishRecords(recs)
	return s.durable(ctx, pos, opts)
}

func tooLarge(rec []byte) bool { return len(rec) > heka.MaxMessageSize }

// store appends recs to the journal, waiting for room unless opts.NoWait,
// and returns the position after them.
func (s *sink) store(ctx context.Context, recs [][]byte, opts input.DeliverOptions) (journal.Pos, error) {
	if !opts.NoWait {
		return s.j.Append(ctx, recs...)
	}
	pos, err := s.j.TryAppend(recs...)
	if errors.Is(err, journal.ErrFull) {
		err = input.ErrFull
	}
	return pos, err
}

// durable waits, with opts.Durable, until the journal is durable to pos.
func (s *sink) durable(ctx context.Context, pos journal.Pos, opts input.DeliverOptions) error {
	if opts.Durable {
		return s.j.WaitDurable(ctx, pos)
	}
	return nil
}
