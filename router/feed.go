package router

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"runtime"
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
	// parallel lets a helper goroutine prepare the batches after the
	// first of each journal read at the same time (see run); run then
	// needs feedBuffers free buffers.
	parallel bool
	// helped counts the batches the helper prepared (read by tests once
	// run has returned).
	helped int
}

// helperBatches is how many batches a parallel feed reads at a time
// beyond its own, for its helper goroutine. Besides preparing its batch,
// run reads, checks and copies the records of all of them, so the helper
// prepares two batches for run's one.
const helperBatches = 2

// feedBuffers is how many prepared buffers an output's parallel feed
// uses: one being written, one waiting, run's own, and the helper's
// batches of two reads (see run).
const feedBuffers = 3 + 2*helperBatches

// run fills free buffers with batches and hands them over on ready, which
// it closes when reading stops. A batch holds up to batchSize messages: a
// statsd record counts as the lines it holds, and the records of a journal
// batch that do not fit go into the next one.
//
// With parallel set, run reads up to 1+helperBatches batches' worth of
// records at once. When they make more than one batch of one message each
// (no statsd record among them) and buffers are free, the records after
// the first batch are copied into those buffers, a batch each, and a helper
// goroutine prepares them while run prepares the first batch and then goes
// on reading. Batches are handed over in journal order: the helper's after
// run's first and before anything run prepares after them. Preparing —
// decoding, matching, encoding — is most of an output's work, so an output
// keeps up with inputs on more than one core. Since the helper owns its
// records, run need not wait for it before reading on: while the journal
// holds a backlog, the helper finds its next batch queued when it finishes
// one, rather than sleeping and waiting to be woken between batches (which
// costs tens of microseconds on a virtual machine's idle core).
func (f *feed) run(ctx context.Context, free <-chan *prepared, ready chan<- *prepared) {
	defer close(ready)
	// direct: records are encoded without being decoded, when every
	// message matches and the format can.
	direct, _ := f.format.(output.RecordFormat)
	if c, ok := f.matcher.Expr().(*match.Const); !ok || !c.Value || f.skipDerived {
		direct = nil
	}
	readSize := f.batchSize
	var jobs, done chan *prepared
	if f.parallel {
		readSize = (1 + helperBatches) * f.batchSize
		// Room for the batches of two reads: those pending and those
		// just given.
		jobs, done = make(chan *prepared, 2*helperBatches), make(chan *prepared, 2*helperBatches)
		defer close(jobs)
		go f.helper(jobs, done, direct)
	}
	send := func(p *prepared) bool {
		select {
		case ready <- p:
			// The writer, woken by the send, waits on this goroutine's
			// core until it blocks, which while the journal holds a
			// backlog is after preparing another batch: yield, so that
			// the batch is written now, overlapping what follows.
			runtime.Gosched()
			return true
		case <-ctx.Done():
			return false
		}
	}
	// pending are the batches given to the helper, in order: they go on
	// ready before any batch run prepares after them.
	var pending []*prepared
	flush := func() bool {
		for len(pending) > 0 {
			p := <-done // pending[0]: the helper prepares in order
			pending = pending[1:]
			f.helped++
			f.read.Add(uint64(len(p.recs)))
			f.matched.Add(uint64(p.matched))
			if !send(p) {
				return false
			}
		}
		return true
	}
	var b journal.Batch // valid until the next read
	next := 0           // b's first record not prepared yet
	var spare *prepared // a free buffer taken for the helper but not used
	var given []*prepared
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
			if len(pending) > 0 {
				// Hand the helper's batches over before waiting for records.
				if b, err = f.reader.TryNext(readSize); err == nil && len(b.Records) == 0 {
					if !flush() {
						return
					}
					b, err = f.reader.Next(ctx, readSize)
				}
			} else {
				b, err = f.reader.Next(ctx, readSize)
			}
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, journal.ErrClosed) {
					f.log.Error("reading the journal", "err", err)
					flush() // what was read before the error is still delivered
				}
				return
			}
			next = 0
		}
		given, spare = f.give(given[:0], free, b, next)
		if len(given) > 0 {
			for _, p2 := range given {
				jobs <- p2
			}
			mid := next + f.batchSize
			p.reset()
			for i := next; i < mid; i++ {
				f.prepareOne(p, b.Records[i], &p.pool[i-next], direct)
			}
			p.end = b.After(mid - 1)
			f.read.Add(uint64(mid - next))
			next = mid + len(given[0].recs)
			for _, p2 := range given[1:] {
				next += len(p2.recs)
			}
			if !flush() {
				return
			}
			f.matched.Add(uint64(p.matched))
			if !send(p) {
				return
			}
			pending = append(pending, given...)
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
		if !flush() || !send(p) {
			return
		}
	}
}

// give loads the helper's batches into free buffers and appends them to
// dst: the records of b from next on after a first batch, up to
// helperBatches batches, as long as a buffer is free at once and none of
// the records is a statsd record (a statsd record counts as its lines,
// which only a serial batch can do). A buffer taken but not used is
// returned as spare, for the next batch.
func (f *feed) give(dst []*prepared, free <-chan *prepared, b journal.Batch, next int) (given []*prepared, spare *prepared) {
	recs := b.Records[next:]
	if !f.parallel || len(recs) <= f.batchSize {
		return dst, nil
	}
	select {
	case spare = <-free:
	default:
		return dst, nil
	}
	for _, rec := range recs[:min(len(recs), (1+helperBatches)*f.batchSize)] {
		if mayBeStatsdRecord(rec) {
			return dst, spare
		}
	}
	for at := f.batchSize; at < len(recs) && len(dst) < helperBatches; at += f.batchSize {
		p2 := spare
		if p2 == nil {
			select {
			case p2 = <-free:
			default:
				return dst, nil
			}
		}
		spare = nil
		end := min(len(recs), at+f.batchSize)
		p2.load(recs[at:end])
		p2.end = b.After(next + end - 1)
		dst = append(dst, p2)
	}
	return dst, spare
}

// helper prepares the batches run gives it, in order, from the records
// loaded into them, until jobs is closed.
func (f *feed) helper(jobs <-chan *prepared, done chan<- *prepared, direct output.RecordFormat) {
	for p := range jobs {
		p.reset()
		for i, rec := range p.recs {
			f.prepareOne(p, rec, &p.pool[i], direct)
		}
		done <- p
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
		if p.encFor != direct {
			p.enc, p.encFor = output.NewRecordEncoder(direct), direct
		}
		var ok bool
		if p.data, ok = p.enc.AppendRecord(p.data, rec); ok {
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
	if typ, ok := leadingType(rec); ok {
		return string(typ) == statsdin.RecordType
	}
	if !bytes.Contains(rec, statsdTypeField) {
		return false
	}
	typ, err := heka.MessageType(rec)
	return err != nil || string(typ) == statsdin.RecordType
}

// leadingType returns the type of rec when rec starts as
// metlog.Message.AppendProtobuf writes every record the router journals:
// the UUID, the timestamp, then the type field, which that encoder writes
// once. It reports false for any other start.
func leadingType(rec []byte) ([]byte, bool) {
	// Tags: field number << 3 | wire type (0 varint, 2 length-delimited).
	const (
		uuidTag      = 1<<3 | 2
		timestampTag = 2 << 3
		typeTag      = 3<<3 | 2
		at           = 2 + 16 // after the UUID field
	)
	if len(rec) < at+1 || rec[0] != uuidTag || rec[1] != 16 || rec[at] != timestampTag {
		return nil, false
	}
	i := at + 1
	for end := min(len(rec), i+10); i < end && rec[i] >= 0x80; i++ { // the timestamp
	}
	i++
	if i+1 >= len(rec) || rec[i] != typeTag || rec[i+1] >= 0x80 || int(rec[i+1]) > len(rec)-i-2 {
		return nil, false
	}
	return rec[i+2 : i+2+int(rec[i+1])], true
}

func isDerived(m *metlog.Message) bool {
	for i := len(m.Fields) - 1; i >= 0; i-- { // the router appends it last
		if m.Fields[i].Name == DerivedField {
			return true
		}
	}
	return false
}
