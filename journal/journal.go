package journal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
)

// Errors returned by the journal. Callers compare with errors.Is.
var (
	// ErrClosed: the journal or the reader is closed.
	ErrClosed = errors.New("journal: closed")
	// ErrFull: TryAppend found no room (the slowest reader lags by
	// MaxBytes, or 16 MiB wait to be written). The caller drops and counts.
	ErrFull = errors.New("journal: full")
	// ErrTooLarge: a record is longer than MaxRecordSize.
	ErrTooLarge = errors.New("journal: record too large")
	// ErrReaderBusy: the reader is open elsewhere.
	ErrReaderBusy = errors.New("journal: reader already open")
	// ErrPosition: a commit beyond what the reader has read.
	ErrPosition = errors.New("journal: position not read yet")
)

// Pos is a position in the journal: the point between two records. Seq
// counts the records before it and Off their framed bytes; both grow forever
// across segments. Off is authoritative (it says where the record is); Seq
// is for counting lag in records.
type Pos struct {
	Seq uint64
	Off int64
}

// String formats p as "seq@off".
func (p Pos) String() string { return fmt.Sprintf("%d@%d", p.Seq, p.Off) }

// Journal is a durable, segmented, append-only log of records, read by any
// number of named readers, each with its own durable cursor. All methods are
// safe for concurrent use.
type Journal struct {
	opts  Options
	store storage
	log   *slog.Logger
	// syncs says whether fsync is called at all: durable storage and a
	// policy other than SyncNever.
	syncs bool

	writeKick chan struct{} // pending bytes to write
	// wmu is held by whoever writes the pending buffer to the active
	// segment: the writer goroutine, or an appender that found the writer
	// idle (see append). Writes happen one at a time, in order.
	wmu       sync.Mutex
	syncKick  chan struct{} // sync as soon as possible
	dirtyKick chan struct{} // something to sync or persist within SyncInterval
	done      chan struct{} // closed by Close: goroutines stop
	wg        sync.WaitGroup

	// cursorFile is the cursor log; used by the sync goroutine, and by
	// open and Close when it is not running.
	cursorFile file
	cursorSize int64
	compactAt  int64 // cursor log size that triggers a rewrite

	mu       sync.Mutex
	closed   bool  // no more appends; goroutines stopping
	finished bool  // Close has flushed everything it will
	err      error // sticky write or sync error
	// stall is set while the filesystem is full: the last write failed
	// with ENOSPC and was cut back, its records wait in pend, and the
	// writer retries every spaceRetry. Appends are refused meanwhile.
	stall error
	// cursorStall is set while cursor entries cannot be written for lack
	// of space (logged once); guarded by mu.
	cursorStall bool
	pend        []byte
	spare       []byte
	head        Pos // after the last accepted record
	written     Pos // after the last record written to a segment file
	durable     Pos // after the last record synced (or written, when not syncing)
	want        Pos // the furthest position someone waits to be durable
	segs        []*segment
	cursors     map[string]*cursor
	// lowCommit caches the lowest committed offset of any reader;
	// lowStale says a cursor changed since it was computed.
	lowCommit int64
	lowStale  bool
	removed   []string // readers removed but not yet persisted as removed
	dataSig   signal   // written advanced or a segment was sealed
	spaceSig  signal   // room freed for appends
	durSig    signal   // durable advanced
	cycleSig  signal   // a sync cycle finished (cursors persisted, retention applied)
	stats     counters
}

// counters are the journal-wide statistics, guarded by Journal.mu.
type counters struct {
	appended     uint64
	full         uint64
	torn         uint64
	tornBytes    int64
	corrupt      uint64
	corruptBytes int64
}

// signal wakes every goroutine waiting on it. It is guarded by the
// Journal's mutex and allocates only when someone waits.
type signal struct{ ch chan struct{} }

func (s *signal) wait() <-chan struct{} {
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) broadcast() {
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Open opens the journal in dir, creating the directory if needed, and
// recovers it: a torn record at the tail of the last segment is cut off and
// counted, corrupt records elsewhere are skipped and counted, and each
// reader's cursor is restored. Only one process may open a directory.
func Open(dir string, opts Options) (*Journal, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	st, err := openDisk(dir)
	if err != nil {
		return nil, err
	}
	j, err := open(st, opts.withDefaults(false))
	if err != nil {
		st.release()
		return nil, fmt.Errorf("journal: open %s: %w", dir, err)
	}
	return j, nil
}

// OpenMemory returns a journal that keeps its segments in memory. It
// behaves as a disk journal does — segments, cursors, retention,
// backpressure — except that nothing survives Close and WaitDurable returns
// once records are written.
func OpenMemory(opts Options) (*Journal, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return open(newMemStorage(false), opts.withDefaults(true))
}

// open recovers the journal kept in st and starts its goroutines.
func open(st storage, opts Options) (*Journal, error) {
	j := &Journal{
		opts:      opts,
		store:     st,
		log:       opts.Logger.With("component", "journal"),
		syncs:     st.durable() && opts.Sync != SyncNever,
		writeKick: make(chan struct{}, 1),
		syncKick:  make(chan struct{}, 1),
		dirtyKick: make(chan struct{}, 1),
		done:      make(chan struct{}),
		cursors:   make(map[string]*cursor),
		compactAt: cursorCompactThreshold,
	}
	if err := j.recover(); err != nil {
		j.closeFiles()
		return nil, err
	}
	j.wg.Add(2)
	go j.writeLoop()
	go j.syncLoop()
	return j, nil
}

// Append adds records to the journal in order and returns the position
// after the last of them. It waits while the slowest reader lags by more
// than MaxBytes (backpressure), until ctx ends. Under SyncAlways it also
// waits until the records are durable; if ctx ends during that wait, the
// records are in the journal and the error says only that their durability
// is unconfirmed. The journal copies the records; the caller may reuse them
// when Append returns.
func (j *Journal) Append(ctx context.Context, records ...[]byte) (Pos, error) {
	return j.append(ctx, records, true)
}

// TryAppend is Append that never waits for room: when the journal is full
// it returns ErrFull at once, and the caller drops and counts the records.
// Under SyncAlways it still waits for the records to be durable.
func (j *Journal) TryAppend(records ...[]byte) (Pos, error) {
	return j.append(context.Background(), records, false)
}

func (j *Journal) append(ctx context.Context, records [][]byte, wait bool) (Pos, error) {
	size := 0
	for _, r := range records {
		if len(r) > MaxRecordSize {
			return Pos{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(r), MaxRecordSize)
		}
		size += frameLen(len(r))
	}
	j.mu.Lock()
	for {
		if j.closed {
			j.mu.Unlock()
			return Pos{}, ErrClosed
		}
		if j.err != nil {
			err := j.err
			j.mu.Unlock()
			return Pos{}, err
		}
		if j.stall != nil {
			err := j.stall
			if !wait {
				j.stats.full++
				err = fmt.Errorf("%w: %w", ErrFull, j.stall)
			}
			j.mu.Unlock()
			return Pos{}, err
		}
		if len(records) == 0 {
			pos := j.head
			j.mu.Unlock()
			return pos, nil
		}
		if j.fits(size, wait) {
			break
		}
		if !wait {
			j.stats.full++
			j.mu.Unlock()
			return Pos{}, ErrFull
		}
		ch := j.spaceSig.wait()
		j.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Pos{}, ctx.Err()
		}
		j.mu.Lock()
	}
	wasEmpty := len(j.pend) == 0
	for _, r := range records {
		j.pend = appendFrame(j.pend, r)
	}
	j.head.Seq += uint64(len(records))
	j.head.Off += int64(size)
	j.stats.appended += uint64(len(records))
	pos := j.head
	j.mu.Unlock()
	switch {
	case wait && wasEmpty && j.wmu.TryLock():
		// Nothing was pending and no write is under way: write the
		// records now, from this goroutine, while the bytes it just
		// framed are still in its CPU's cache. Copying them into the
		// page cache costs half as much as when the writer goroutine
		// does it later, from memory. What others append meanwhile is
		// left to the writer goroutine.
		j.writeOnce()
		j.wmu.Unlock()
		j.mu.Lock()
		more := len(j.pend) > 0
		j.mu.Unlock()
		if more {
			kick(j.writeKick)
		}
	case wasEmpty:
		kick(j.writeKick)
	}
	if j.opts.Sync == SyncAlways {
		return pos, j.WaitDurable(ctx, pos)
	}
	return pos, nil
}

// fits reports whether size more bytes may be appended now, by an
// appender that can wait for room or not. j.mu is held.
func (j *Journal) fits(size int, wait bool) bool {
	limit := pendingLimit
	if !wait {
		limit = pendingLimitNoWait
	}
	if len(j.pend) > 0 && len(j.pend)+size > limit {
		return false
	}
	if j.opts.DropUnread {
		return true
	}
	if len(j.cursors) == 0 {
		return true
	}
	if j.lowStale {
		j.lowStale = false
		j.lowCommit = j.head.Off
		for _, c := range j.cursors {
			j.lowCommit = min(j.lowCommit, c.committed.Off)
		}
	}
	lag := j.head.Off - j.lowCommit
	return lag <= 0 || lag+int64(size) <= j.opts.MaxBytes
}

// cursorsChanged notes that a reader's cursor moved, appeared or went:
// appenders waiting for room look again. j.mu is held.
func (j *Journal) cursorsChanged() {
	j.lowStale = true
	j.spaceSig.broadcast()
}

// WaitDurable waits until every record before pos is durable: fsynced under
// SyncAlways and SyncBatch (where waiting makes the sync happen at once,
// shared with every other waiter), written to the segment file under
// SyncNever and in memory. It returns early with ctx.Err(), a write or sync
// error, or ErrClosed when the journal closed before pos became durable.
func (j *Journal) WaitDurable(ctx context.Context, pos Pos) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for {
		if j.durable.Off >= pos.Off {
			return nil
		}
		if j.err != nil {
			return j.err
		}
		if j.stall != nil {
			// The records may still be written once space returns.
			return j.stall
		}
		if j.finished {
			return ErrClosed
		}
		if pos.Off > j.want.Off {
			j.want = pos
		}
		if j.written.Off >= pos.Off {
			kick(j.syncKick)
		}
		ch := j.durSig.wait()
		j.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			j.mu.Lock()
			return ctx.Err()
		}
		j.mu.Lock()
	}
}

// fail records the first write or sync error; the journal accepts no more
// records after it. j.mu is held.
func (j *Journal) fail(err error) {
	if j.err == nil {
		j.err = fmt.Errorf("journal: %w", err)
		j.log.Error("journal failed; no more records are accepted", "err", err)
	}
	j.spaceSig.broadcast()
	j.durSig.broadcast()
	j.dataSig.broadcast()
}

// Close stops accepting records, writes and syncs what was accepted and
// every reader's cursor, stops the journal's goroutines and closes its
// files. Blocked Append calls and Reader.Next calls return ErrClosed.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return ErrClosed
	}
	j.closed = true
	j.spaceSig.broadcast()
	j.dataSig.broadcast()
	j.mu.Unlock()

	close(j.done)
	j.wg.Wait()
	// The goroutines are gone: flush what is left from here.
	j.syncCycle()

	j.mu.Lock()
	j.finished = true
	err := j.err
	if err == nil && len(j.pend) > 0 && j.stall != nil {
		err = fmt.Errorf("%w; %d bytes of records were never written", j.stall, len(j.pend))
	}
	j.durSig.broadcast()
	j.mu.Unlock()
	j.closeFiles()
	if rerr := j.store.release(); err == nil && rerr != nil {
		err = fmt.Errorf("journal: %w", rerr)
	}
	return err
}

// closeFiles closes every segment, including dropped ones open readers
// still hold, and the cursor log.
func (j *Journal) closeFiles() {
	j.mu.Lock()
	segs := slices.Clone(j.segs)
	for _, c := range j.cursors {
		if r := c.reader; r != nil && r.seg != nil && r.seg.removed {
			segs = append(segs, r.seg)
		}
	}
	j.mu.Unlock()
	for _, s := range segs {
		if s.f != nil {
			s.f.Close()
		}
	}
	if j.cursorFile != nil {
		j.cursorFile.Close()
	}
}

// Stats is a snapshot of a journal's state and counters.
type Stats struct {
	Segments     int    // segment files retained
	Bytes        int64  // bytes in those files
	Head         Pos    // after the last record accepted
	Durable      Pos    // after the last record known durable
	Appended     uint64 // records accepted since Open
	Full         uint64 // TryAppend calls refused with ErrFull
	Torn         uint64 // torn tails cut off at Open (at most one per Open)
	TornBytes    int64  // bytes cut off with them
	Corrupt      uint64 // corrupt spans skipped, each counted once
	CorruptBytes int64  // bytes in those spans
	Readers      []ReaderStats
}

// ReaderStats describes one reader.
type ReaderStats struct {
	Name       string
	Open       bool   // a Reader handle is open
	Committed  Pos    // the cursor
	Read       Pos    // how far the open handle has read
	LagRecords uint64 // records from the cursor to the head
	LagBytes   int64  // bytes from the cursor to the head
	Lost       uint64 // records deleted by retention before this reader read them
	Corrupt    uint64 // corrupt spans this reader skipped
}

// Stats returns the journal's current statistics; readers are sorted by
// name.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := Stats{
		Segments:     len(j.segs),
		Head:         j.head,
		Durable:      j.durable,
		Appended:     j.stats.appended,
		Full:         j.stats.full,
		Torn:         j.stats.torn,
		TornBytes:    j.stats.tornBytes,
		Corrupt:      j.stats.corrupt,
		CorruptBytes: j.stats.corruptBytes,
	}
	for _, seg := range j.segs {
		s.Bytes += seg.size
	}
	for _, c := range j.cursors {
		s.Readers = append(s.Readers, j.readerStats(c))
	}
	sort.Slice(s.Readers, func(a, b int) bool { return s.Readers[a].Name < s.Readers[b].Name })
	return s
}

// readerStats describes c. j.mu is held.
func (j *Journal) readerStats(c *cursor) ReaderStats {
	rs := ReaderStats{
		Name:      c.name,
		Open:      c.reader != nil,
		Committed: c.committed,
		Read:      c.read,
		Lost:      c.lost,
		Corrupt:   c.corrupt,
	}
	if j.head.Seq > c.committed.Seq {
		rs.LagRecords = j.head.Seq - c.committed.Seq
	}
	rs.LagBytes = max(0, j.head.Off-c.committed.Off)
	return rs
}
