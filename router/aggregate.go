package router

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/journal"
	"github.com/metlog/metlog/match"
)

// Aggregator is what an aggregate plugin implements (the statsd
// accumulator, exception grouping). The router calls every method from one
// goroutine per aggregator:
//
//   - Add with each message its matcher accepts, in journal order; the
//     message is valid only during the call. Messages other aggregators
//     emitted (DerivedField) are never passed.
//   - Flush every FlushInterval, with the time of the flush; the messages
//     passed to emit are journaled as derived messages (the router adds
//     DerivedField), and only once they are durable does the aggregator's
//     cursor move past what it had added. emit copies what it needs.
//
// After a crash, an aggregator re-reads everything since its last flush,
// so a flushed period is never lost; its derived messages may be emitted
// twice if the crash fell between journaling them and moving the cursor.
type Aggregator interface {
	Add(m *metlog.Message)
	Flush(now time.Time, emit func(*metlog.Message))
	FlushInterval() time.Duration
}

type aggregateCounters struct {
	read, matched, corrupt atomic.Uint64
	emitted                atomic.Uint64 // derived messages journaled
	flushes                atomic.Uint64
}

// runningAggregate is one configured aggregator and its goroutine.
type runningAggregate struct {
	name, typ string
	common    *config.AggregateCommon
	agg       Aggregator
	matcher   *match.Matcher
	reader    *journal.Reader
	sink      *sink
	log       *slog.Logger
	counters  aggregateCounters

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func (a *runningAggregate) start(ctx context.Context) { go a.run(ctx) }

func (a *runningAggregate) run(ctx context.Context) {
	defer close(a.done)
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	free := make(chan *prepared, 2)
	for range cap(free) {
		free <- &prepared{pool: make([]metlog.Message, aggregateBatch)}
	}
	ready := make(chan *prepared, 1)
	f := feed{reader: a.reader, matcher: a.matcher, batchSize: aggregateBatch, skipDerived: true, log: a.log,
		read: &a.counters.read, matched: &a.counters.matched, corrupt: &a.counters.corrupt}
	go f.run(readCtx, free, ready)
	defer func() {
		cancelRead()
		for range ready {
		}
	}()

	tick := time.NewTicker(a.agg.FlushInterval())
	defer tick.Stop()
	var added journal.Pos // where the reader is, everything before it added
	var emitted []*metlog.Message
	for {
		select {
		case p, ok := <-ready:
			if !ok {
				return
			}
			for _, m := range p.batch {
				a.agg.Add(m)
			}
			added = p.end
			free <- p
		case now := <-tick.C:
			emitted = emitted[:0]
			a.agg.Flush(now, func(m *metlog.Message) {
				m = m.Clone()
				m.AddField(metlog.String(DerivedField, a.name))
				emitted = append(emitted, m)
			})
			a.counters.flushes.Add(1)
			if len(emitted) > 0 {
				if err := a.sink.Deliver(ctx, emitted, input.DeliverOptions{Durable: true}); err != nil {
					a.log.Error("journaling aggregated messages; the period will be recomputed after a restart", "err", err)
					return
				}
				a.counters.emitted.Add(uint64(len(emitted)))
			}
			if added != (journal.Pos{}) {
				if err := a.reader.Commit(added); err != nil {
					a.log.Error("committing the cursor", "err", err)
					return
				}
			}
		case <-a.stop:
			// Not flushed: after a restart the period is re-read and
			// aggregated again, so nothing is lost or counted twice.
			return
		}
	}
}

// aggregateBatch is how many records an aggregator reads at once.
const aggregateBatch = 4096

func (a *runningAggregate) shutdown() {
	a.once.Do(func() { close(a.stop) })
	<-a.done
	a.reader.Close()
}
