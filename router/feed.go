package router

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	statsdin "github.com/metlog/metlog/input/statsd"
	"github.com/metlog/metlog/journal"
	"github.com/metlog/metlog/match"
)

// DerivedField names the field the router adds to every message an
// aggregator emits; its value is the aggregator's name. Aggregators never
// read messages that carry it, so derived messages cannot loop.
const DerivedField = "derived_by"

// feed reads a journal reader in batches, decodes and matches them: the
// first stage of every output's and aggregator's pipeline.
type feed struct {
	reader    *journal.Reader
	matcher   *match.Matcher
	batchSize int
	// skipDerived drops messages an aggregator emitted (aggregators' feeds).
	skipDerived bool
	log         *slog.Logger
	read        *atomic.Uint64 // records read
	matched     *atomic.Uint64 // messages the matcher accepted
	corrupt     *atomic.Uint64 // records that did not decode
}

// run fills free buffers with batches and hands them over on ready, which
// it closes when reading stops. A batch holds up to batchSize messages: a
// statsd record counts as the lines it holds, and the records of a journal
// batch that do not fit go into the next one.
func (f *feed) run(ctx context.Context, free <-chan *prepared, ready chan<- *prepared) {
	defer close(ready)
	var b journal.Batch // valid until the next call of Next
	next := 0           // b's first record not prepared yet
	for {
		var p *prepared
		select {
		case p = <-free:
		case <-ctx.Done():
			return
		}
		if next == len(b.Records) {
			var err error
			if b, err = f.reader.Next(ctx, f.batchSize); err != nil {
				if ctx.Err() == nil && !errors.Is(err, journal.ErrClosed) {
					f.log.Error("reading the journal", "err", err)
				}
				return
			}
			next = 0
		}
		p.batch = p.batch[:0]
		if p.expander != nil {
			p.expander.Reset()
		}
		i, n := next, 0 // n counts messages, a record's lines included
		for ; i < len(b.Records) && n < f.batchSize; i++ {
			m := &p.pool[i-next]
			n++
			if err := heka.Unmarshal(b.Records[i], m); err != nil {
				f.corrupt.Add(1)
				continue
			}
			if m.Type == statsdin.RecordType {
				p.batch = p.expand(f.matcher, m)
				n += len(p.lines) - 1
				continue
			}
			if f.skipDerived && isDerived(m) {
				continue
			}
			if f.matcher.Match(m) {
				p.batch = append(p.batch, m)
			}
		}
		p.end = b.After(i - 1)
		f.read.Add(uint64(i - next))
		f.matched.Add(uint64(len(p.batch)))
		next = i
		select {
		case ready <- p:
		case <-ctx.Done():
			return
		}
	}
}

// expand adds the messages of the lines of rec, a record of the statsd
// input, that matcher accepts to p.batch, and returns it. The lines of a
// record stay together: a batch may exceed the batch size by up to
// statsd.MaxRecordLines-1 messages.
func (p *prepared) expand(matcher *match.Matcher, rec *metlog.Message) []*metlog.Message {
	if p.expander == nil {
		p.expander = statsdin.NewExpander()
	}
	p.lines, _ = p.expander.Expand(p.lines[:0], rec, 0, 0)
	for _, m := range p.lines {
		if matcher.Match(m) {
			p.batch = append(p.batch, m)
		}
	}
	return p.batch
}

func isDerived(m *metlog.Message) bool {
	for i := len(m.Fields) - 1; i >= 0; i-- { // the router appends it last
		if m.Fields[i].Name == DerivedField {
			return true
		}
	}
	return false
}
