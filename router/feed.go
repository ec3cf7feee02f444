package router

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	statsdin "github.com/metlog/metlog/input/statsd"
	"github.com/metlog/metlog/journal"
	"github.com/metlog/metlog/match"
	"github.com/metlog/metlog/output"
)

// DerivedField names the field the router adds to every message an
// aggregator emits; its value is the aggregator's name. Aggregators never
// read messages that carry it, so derived messages cannot loop.
const DerivedField = "derived_by"

// feed reads a journal reader in batches, decodes and matches them: the
// first stage of every output's and aggregator's pipeline. With a format,
// it also encodes the batch (see EncodingOutput).
type feed struct {
	reader    *journal.Reader
	matcher   *match.Matcher
	batchSize int
	// skipDerived drops messages an aggregator emitted (aggregators' feeds).
	skipDerived bool
	// format, when set, encodes the matched messages into prepared.data.
	format  output.Format
	log     *slog.Logger
	read    *atomic.Uint64 // records read
	matched *atomic.Uint64 // messages the matcher accepted
	corrupt *atomic.Uint64 // records that did not decode
	// parallel lets a helper goroutine prepare every other batch of a
	// journal read at the same time (see run); run then needs a free
	// buffer more.
	parallel bool
	// helped counts the batches the helper prepared (read by tests once
	// run has returned).
	helped int
}

// halfJob is a batch the helper prepares: records into p.
type halfJob struct {
	p       *prepared
	records [][]byte
	direct  output.RecordFormat
	done    chan struct{}
}

// run fills free buffers with batches and hands them over on ready, which
// it closes when reading stops. A batch holds up to batchSize messages: a
// statsd record counts as the lines it holds, and the records of a journal
// batch that do not fit go into the next one.
//
// With parallel set, run reads up to two batches' worth of records at once.
// When they make two full batches of one message each (no statsd record
// among them) and a second buffer is free, a helper goroutine prepares the
// second batch while run prepares the first; both are handed over in
// order. Preparing — decoding, matching, encoding — is most of an output's
// work, so an output keeps up with inputs on more than one core.
func (f *feed) run(ctx context.Context, free <-chan *prepared, ready chan<- *prepared) {
	defer close(ready)
	// direct: records are encoded without being decoded, when every
	// message matches and the format can.
	direct, _ := f.format.(output.RecordFormat)
	if c, ok := f.matcher.Expr().(*match.Const); !ok || !c.Value || f.skipDerived {
		direct = nil
	}
	readSize := f.batchSize
	var jobs chan halfJob
	if f.parallel {
		readSize = 2 * f.batchSize
		jobs = make(chan halfJob)
		defer close(jobs)
		go f.helper(jobs)
	}
	done := make(chan struct{}, 1)
	var b journal.Batch // valid until the next call of Next
	next := 0           // b's first record not prepared yet
	var spare *prepared // a free buffer taken for the helper but not used
	for {
		var p *prepared
		if p, spare = spare, nil; p == nil {
			select {
			case p = <-free:
			case <-ctx.Done():
				return
			}
		}
		if next == len(b.Records) {
			var err error
			if b, err = f.reader.Next(ctx, readSize); err != nil {
				if ctx.Err() == nil && !errors.Is(err, journal.ErrClosed) {
					f.log.Error("reading the journal", "err", err)
				}
				return
			}
			next = 0
		}
		var p2 *prepared
		if p2, spare = f.second(free, b.Records[next:]); p2 != nil {
			mid := next + f.batchSize
			end := min(len(b.Records), mid+f.batchSize)
			jobs <- halfJob{p: p2, records: b.Records[mid:end], direct: direct, done: done}
			p.reset()
			for i := next; i < mid; i++ {
				f.prepareOne(p, b.Records[i], &p.pool[i-next], direct)
			}
			p.end = b.After(mid - 1)
			<-done
			p2.end = b.After(end - 1)
			f.helped++
			f.read.Add(uint64(end - next))
			f.matched.Add(uint64(p.matched + p2.matched))
			next = end
			for _, q := range [...]*prepared{p, p2} {
				select {
				case ready <- q:
				case <-ctx.Done():
					return
				}
			}
			continue
		}
		p.reset()
		i, n := next, 0 // n counts messages, a record's lines included
		for ; i < len(b.Records) && n < f.batchSize; i++ {
			n += f.prepare(p, b.Records[i], &p.pool[i-next], direct)
		}
		p.end = b.After(i - 1)
		f.read.Add(uint64(i - next))
		f.matched.Add(uint64(p.matched))
		next = i
		select {
		case ready <- p:
		case <-ctx.Done():
			return
		}
	}
}

// second returns a free buffer for the helper when recs, the records not
// prepared yet, make more than a batch of one message each and a buffer is
// free at once. A buffer it took but cannot use (a statsd record is among
// the records) is returned as spare, for the next batch.
func (f *feed) second(free <-chan *prepared, recs [][]byte) (p2, spare *prepared) {
	if !f.parallel || len(recs) <= f.batchSize {
		return nil, nil
	}
	select {
	case p2 = <-free:
	default:
		return nil, nil
	}
	for _, rec := range recs[:min(len(recs), 2*f.batchSize)] {
		if mayBeStatsdRecord(rec) {
			return nil, p2
		}
	}
	return p2, nil
}

// helper prepares the batches run hands it until jobs is closed.
func (f *feed) helper(jobs <-chan halfJob) {
	for j := range jobs {
		j.p.reset()
		for i, rec := range j.records {
			f.prepareOne(j.p, rec, &j.p.pool[i], j.direct)
		}
		j.done <- struct{}{}
	}
}

// prepare decodes and matches the record rec into p, and with a format
// encodes it into p.data, in the order of the records; m is the message to
// decode it into. It returns the number of messages the record counts as
// in a batch: the lines of a statsd record, else 1.
func (f *feed) prepare(p *prepared, rec []byte, m *metlog.Message, direct output.RecordFormat) int {
	if direct == nil || mayBeStatsdRecord(rec) {
		return f.prepareDecoded(p, rec, m)
	}
	f.prepareOne(p, rec, m, direct)
	return 1
}

// prepareOne is prepare for a record known not to be a statsd record.
func (f *feed) prepareOne(p *prepared, rec []byte, m *metlog.Message, direct output.RecordFormat) {
	if direct != nil {
		var ok bool
		if p.data, ok = direct.AppendRecord(p.data, rec); ok {
			p.matched++
			p.encoded++
			return
		}
	}
	f.prepareDecoded(p, rec, m)
}

// prepareDecoded is prepare without the direct encoding: rec is decoded
// into m.
func (f *feed) prepareDecoded(p *prepared, rec []byte, m *metlog.Message) int {
	if err := heka.Unmarshal(rec, m); err != nil {
		f.corrupt.Add(1)
		return 1
	}
	n := 1
	switch {
	case m.Type == statsdin.RecordType:
		n = p.expand(f.matcher, m)
	case f.skipDerived && isDerived(m):
	case f.matcher.Match(m):
		p.batch = append(p.batch, m)
		p.matched++
	}
	if f.format != nil {
		for _, m := range p.batch {
			var err error
			if p.data, err = f.format.Append(p.data, m); err != nil {
				f.log.Warn("message cannot be written in this format; skipped", "uuid", m.UUID, "err", err)
				continue
			}
			p.encoded++
		}
		p.batch = p.batch[:0]
	}
	return n
}

// expand adds the messages of the lines of rec, a record of the statsd
// input, that matcher accepts to p.batch, and returns the number of lines.
// The lines of a record stay together: a batch may exceed the batch size
// by up to statsd.MaxRecordLines-1 messages.
func (p *prepared) expand(matcher *match.Matcher, rec *metlog.Message) int {
	if p.expander == nil {
		p.expander = statsdin.NewExpander()
	}
	p.lines, _ = p.expander.Expand(p.lines[:0], rec, 0, 0)
	for _, m := range p.lines {
		if matcher.Match(m) {
			p.batch = append(p.batch, m)
			p.matched++
		}
	}
	return len(p.lines)
}

// statsdTypeField is the type field of a statsd record as protobuf bytes:
// tag 3, length, statsdin.RecordType.
var statsdTypeField = append([]byte{3<<3 | 2, byte(len(statsdin.RecordType))}, statsdin.RecordType...)

// mayBeStatsdRecord reports whether rec, a protobuf Message, may be a
// record of the statsd input: it is not unless it holds that type field's
// bytes, which a search finds faster than rec's fields can be read.
func mayBeStatsdRecord(rec []byte) bool {
	if !bytes.Contains(rec, statsdTypeField) {
		return false
	}
	typ, err := heka.MessageType(rec)
	return err != nil || string(typ) == statsdin.RecordType
}

func isDerived(m *metlog.Message) bool {
	for i := len(m.Fields) - 1; i >= 0; i-- { // the router appends it last
		if m.Fields[i].Name == DerivedField {
			return true
		}
	}
	return false
}
