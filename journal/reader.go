package journal

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// Reader reads the journal for one named consumer (an output, an
// aggregator, the store) and keeps its durable cursor.
//
// Next and Reset must be called from one goroutine at a time; Commit, Lag
// and Close may be called from any goroutine, and Close unblocks a waiting
// Next.
type Reader struct {
	j    *Journal
	c    *cursor
	done chan struct{}
	once sync.Once

	mu   sync.Mutex // held by Next, Reset and Close
	seg  *segment   // the segment being read, referenced; nil to locate
	sc   segScanner
	pos  Pos // position after the records returned so far
	recs [][]byte
	ends []Pos
}

// Batch is what Reader.Next returns. Its records point into the reader's
// buffer and are valid until the next call to Next, Reset or Close.
type Batch struct {
	// Records are the record bytes, in journal order.
	Records [][]byte
	// End is the position after the last record: Commit it once the
	// batch has been delivered.
	End Pos

	ends []Pos
}

// After returns the position after Records[i], for committing part of a
// batch.
func (b Batch) After(i int) Pos { return b.ends[i] }

// Reader opens the reader called name. A reader seen for the first time
// starts at the oldest record the journal holds, and from then on pins the
// records it has not committed — across restarts — until RemoveReader. A
// name may be open once at a time.
func (j *Journal) Reader(name string) (*Reader, error) {
	if name == "" || len(name) > maxNameLen {
		return nil, fmt.Errorf("journal: reader name %q: want 1 to %d bytes", name, maxNameLen)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil, ErrClosed
	}
	c, ok := j.cursors[name]
	if !ok {
		start := j.segs[0].base
		c = &cursor{name: name, committed: start, persisted: start, read: start, dirty: true}
		j.cursors[name] = c
		j.cursorsChanged()
		kick(j.dirtyKick)
	}
	if c.reader != nil {
		return nil, fmt.Errorf("%w: %q", ErrReaderBusy, name)
	}
	r := &Reader{j: j, c: c, done: make(chan struct{}), pos: c.committed}
	c.reader, c.read = r, c.committed
	return r, nil
}

// Readers returns the names of every reader the journal keeps a cursor for,
// open or not, sorted.
func (j *Journal) Readers() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	names := make([]string, 0, len(j.cursors))
	for name := range j.cursors {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// RemoveReader forgets the reader called name, so that it no longer pins
// records: the router calls it for readers its configuration no longer has.
// The reader must not be open. Removing an unknown name does nothing.
func (j *Journal) RemoveReader(name string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return ErrClosed
	}
	c, ok := j.cursors[name]
	if !ok {
		return nil
	}
	if c.reader != nil {
		return fmt.Errorf("%w: %q", ErrReaderBusy, name)
	}
	delete(j.cursors, name)
	j.removed = append(j.removed, name)
	j.cursorsChanged()
	kick(j.dirtyKick)
	return nil
}

// Name returns the reader's name.
func (r *Reader) Name() string { return r.c.name }

// Next returns the next records, at most n of them (n < 1 means 1). It
// waits until there is at least one, ctx ends, or the reader or the journal
// is closed. Corrupt records are skipped and counted. After a write error
// the records written before it are still returned, then the error. The
// batch is valid until the next call of Next or TryNext.
func (r *Reader) Next(ctx context.Context, n int) (Batch, error) {
	return r.next(ctx, n, true)
}

// TryNext is Next without the wait: when no record is written past the
// reader it returns at once, with no records and no error.
func (r *Reader) TryNext(n int) (Batch, error) {
	return r.next(context.Background(), n, false)
}

func (r *Reader) next(ctx context.Context, n int, wait bool) (Batch, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n = max(n, 1)
	r.recs, r.ends = r.recs[:0], r.ends[:0]
	j := r.j
	for {
		j.mu.Lock()
		if err := r.usable(); err != nil {
			j.mu.Unlock()
			return Batch{}, err
		}
		r.locate()
		seg := r.seg
		limit, sealed := seg.size, seg.sealed
		j.mu.Unlock()

		ev, err := r.scan(seg, limit, sealed, n)
		r.account(seg)
		if err != nil {
			j.mu.Lock()
			defer j.mu.Unlock()
			if uerr := r.usable(); uerr != nil {
				return Batch{}, uerr
			}
			return Batch{}, fmt.Errorf("journal: read %s: %w", seg.name, err)
		}
		if len(r.recs) > 0 {
			j.mu.Lock()
			r.c.read = r.pos
			j.mu.Unlock()
			return Batch{Records: r.recs, End: r.pos, ends: r.ends}, nil
		}
		if ev == evEnd {
			r.advance(seg)
			continue
		}
		// Everything written so far is read: wait for more.
		j.mu.Lock()
		if seg.size != limit || seg.sealed != sealed || seg.removed {
			j.mu.Unlock()
			continue
		}
		if err := r.usable(); err != nil {
			j.mu.Unlock()
			return Batch{}, err
		}
		if err := j.err; err != nil {
			// Nothing more will be written: what was is read.
			j.mu.Unlock()
			return Batch{}, err
		}
		if !wait {
			j.mu.Unlock()
			return Batch{End: r.pos}, nil
		}
		ch := j.dataSig.wait()
		j.mu.Unlock()
		select {
		case <-ch:
		case <-r.done:
		case <-ctx.Done():
			return Batch{}, ctx.Err()
		}
	}
}

// usable returns why the reader cannot read, if it cannot. j.mu is held.
func (r *Reader) usable() error {
	select {
	case <-r.done:
		return ErrClosed
	default:
	}
	if r.j.closed || r.c.reader != r {
		return ErrClosed
	}
	return nil
}

// locate makes r.seg the segment holding r.pos, jumping to the oldest
// record when retention dropped the records at r.pos. j.mu is held.
func (r *Reader) locate() {
	j := r.j
	if r.seg != nil && !r.seg.removed {
		return
	}
	if r.seg != nil {
		j.unref(r.seg)
		r.seg = nil
	}
	if first := j.segs[0].base; r.pos.Off < first.Off {
		r.pos = first
	}
	i := sort.Search(len(j.segs), func(i int) bool { return j.segs[i].base.Off > r.pos.Off }) - 1
	s := j.segs[i]
	s.refs++
	r.seg = s
	r.sc.reset(s.f, r.pos.Off-s.base.Off)
}

// advance moves from the fully read, sealed segment seg to the next one.
// The next segment's name carries its exact position, which also corrects
// the record count after corrupt spans.
func (r *Reader) advance(seg *segment) {
	j := r.j
	j.mu.Lock()
	defer j.mu.Unlock()
	if r.seg != seg || seg.removed {
		return
	}
	i := sort.Search(len(j.segs), func(i int) bool { return j.segs[i].base.Off > seg.base.Off })
	if i == len(j.segs) {
		return
	}
	next := j.segs[i]
	j.unref(seg)
	next.refs++
	r.seg = next
	r.pos = next.base
	r.sc.reset(next.f, 0)
}

// scan collects up to n records from seg, of which limit bytes are
// readable. It returns evEnd when a sealed segment is used up.
func (r *Reader) scan(seg *segment, limit int64, sealed bool, n int) (scanEvent, error) {
	for len(r.recs) < n {
		spans := len(r.sc.spans)
		rec, ev := r.sc.scan(sealed && r.sc.next() >= limit)
		switch ev {
		case evRecord:
			// A corrupt span before the record is counted as one lost
			// record: exact when one record's bytes were damaged.
			r.pos.Seq += 1 + uint64(len(r.sc.spans)-spans)
			r.pos.Off = seg.base.Off + r.sc.pos
			r.recs = append(r.recs, rec)
			r.ends = append(r.ends, r.pos)
			continue
		case evEnd:
			r.pos.Off = seg.base.Off + r.sc.pos
			return evEnd, nil
		}
		// evNeed: reading more would invalidate the records collected.
		if len(r.recs) > 0 {
			return evNeed, nil
		}
		got, err := r.sc.fill(limit)
		if err != nil {
			return evNeed, err
		}
		if got == 0 {
			return evNeed, nil
		}
	}
	return evRecord, nil
}

// account counts the corrupt spans the scanner skipped since the last call,
// each once for the journal however many readers meet it.
func (r *Reader) account(seg *segment) {
	spans := r.sc.spans
	var fresh uint64
	var freshBytes int64
	for _, sp := range spans {
		if seg.countCorrupt(sp.off) {
			fresh++
			freshBytes += sp.n
			r.j.log.Warn("skipping corrupt bytes in the journal", "segment", seg.name,
				"offset", sp.off, "bytes", sp.n, "reader", r.c.name)
		}
	}
	seg.markVerified(r.sc.pos)
	if len(spans) == 0 {
		return
	}
	r.j.mu.Lock()
	r.c.corrupt += uint64(len(spans))
	r.j.stats.corrupt += fresh
	r.j.stats.corruptBytes += freshBytes
	r.j.mu.Unlock()
	r.sc.spans = r.sc.spans[:0]
}

// Commit records that every record before pos has been delivered: the
// reader's cursor moves there, freeing room for appends, and is persisted
// within the sync interval. Committing a position at or before the cursor
// does nothing; a position beyond what Next returned is an error.
func (r *Reader) Commit(pos Pos) error {
	j := r.j
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := r.usable(); err != nil {
		return err
	}
	c := r.c
	if pos.Off <= c.committed.Off {
		return nil
	}
	if pos.Off > c.read.Off {
		return fmt.Errorf("%w: commit %v, read %v", ErrPosition, pos, c.read)
	}
	c.committed, c.dirty = pos, true
	j.cursorsChanged()
	kick(j.dirtyKick)
	return nil
}

// Reset moves the reader back to its cursor, so that the records read but
// not committed are read again (after a failed delivery, say).
func (r *Reader) Reset() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	j := r.j
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := r.usable(); err != nil {
		return err
	}
	if r.seg != nil {
		j.unref(r.seg)
		r.seg = nil
	}
	r.pos = r.c.committed
	r.c.read = r.pos
	return nil
}

// Lag returns how far the reader's cursor is behind the head of the
// journal, in records and bytes.
func (r *Reader) Lag() (records uint64, bytes int64) {
	r.j.mu.Lock()
	defer r.j.mu.Unlock()
	rs := r.j.readerStats(r.c)
	return rs.LagRecords, rs.LagBytes
}

// Close releases the reader. Its cursor stays, pinning the records not
// committed, until the journal's RemoveReader. A blocked Next returns
// ErrClosed.
func (r *Reader) Close() error {
	err := ErrClosed
	r.once.Do(func() {
		close(r.done)
		r.mu.Lock()
		defer r.mu.Unlock()
		j := r.j
		j.mu.Lock()
		defer j.mu.Unlock()
		if r.seg != nil {
			j.unref(r.seg)
			r.seg = nil
		}
		r.c.reader = nil
		r.c.read = r.c.committed
		err = nil
	})
	return err
}
