package tail

import (
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input"
)

// readChunk is the size of the reads from a file; readBudget bounds what
// one poll reads from one file, so that busy files take turns.
const (
	readChunk  = 64 << 10
	readBudget = 1 << 20
)

// drainTimeout bounds how long a stopping input waits to deliver what it
// had already read.
const drainTimeout = 5 * time.Second

// fileID is a file's device and inode.
type fileID struct{ dev, ino uint64 }

// file is a followed file.
//
//	0 ........ committed ....... safe() ...... lineOff ....... readOff
//	           in the journal    in the batch  pending record  partial line (buf)
type file struct {
	id   fileID
	path string
	f    *os.File
	// head is the file's first bytes (at most fingerprint_size), read
	// when it had them; it identifies the content.
	head []byte
	// past are the contents the file had before its last truncations,
	// oldest first, to recognise the copies copytruncate made of them even
	// when several rotations happened between two polls.
	past []generation

	readOff   int64  // offset of the end of buf
	buf       []byte // unconsumed bytes: a partial line
	committed int64  // everything before it is in the journal
	backing   []byte // the array buf is in
	skipping  bool   // dropping the rest of an over-long line

	// The pending multi-line record.
	group      strings.Builder
	grouped    bool
	groupStart int64
	groupTrunc bool
	groupAt    time.Time // when its last line came

	seen       bool      // matched by the last poll
	gone       bool      // no longer matched: read to its end, then close
	lastGrowth time.Time // when it last grew
	// A copytruncate copy has a source, the original, which has the copy
	// and waits for its truncation while the copy is read.
	source *file
	copy   *file
}

// generation is what a file held before a truncation: its head, how far
// it was read, and the line it ended in if that had no newline yet.
type generation struct {
	head []byte
	off  int64
	// partial is an incomplete last line, most likely one being written
	// when the file was truncated: a copy of the file, if one turns up
	// within rotate_wait, has it whole and is read from its start;
	// otherwise it becomes a record as it is.
	partial []byte
	at      time.Time
}

// maxPast bounds the generations a file remembers.
const maxPast = 8

// minPrefix is the least a head shorter than a fingerprint must hold to
// recognise a copy that has more: a copy of a file that held less is read
// from its start (a line or two again, rather than lines lost to a file
// that merely starts alike).
const minPrefix = 32

// pastMatch returns the index of the newest of f's past contents that a
// new file with the given head may be a copy of, or -1. Newest first: the
// copy of the last truncation is the one found soonest, and contents that
// start alike (a banner longer than a fingerprint) cannot be told apart.
func (f *file) pastMatch(head []byte, full bool) int {
	for i := len(f.past) - 1; i >= 0; i-- {
		if sameStart(f.past[i].head, head, full) {
			return i
		}
	}
	return -1
}

// lineOff is the offset of the first unconsumed byte.
func (f *file) lineOff() int64 { return f.readOff - int64(len(f.buf)) }

// safe is the offset before which every record is in the batch or the
// journal: reading resumes there after a restart.
func (f *file) safe() int64 {
	if f.grouped {
		return f.groupStart
	}
	return f.lineOff()
}

// tailer is the state of one Run.
type tailer struct {
	in   *Input
	sink input.Sink
	ctx  context.Context

	files []*file // in the order found
	byID  map[fileID]*file
	// undecided are new files that may yet turn out to be a copy of a
	// followed one (their content is a prefix of its head), with when they
	// were first seen.
	undecided map[fileID]time.Time
	first     bool // no state file: start_at applies

	pool     []metlog.Message
	batch    []*metlog.Message
	size     int
	dirty    bool
	lastSave time.Time
	failed   bool // the last delivery failed; the batch is tried again
	scratch  []byte
}

func newTailer(in *Input, sink input.Sink) *tailer {
	return &tailer{
		in: in, sink: sink,
		byID:      make(map[fileID]*file),
		undecided: make(map[fileID]time.Time),
		first:     !in.state.existed,
		pool:      make([]metlog.Message, in.cfg.Batch),
	}
}

// expand returns the files the globs match now, without the excluded ones.
func (t *tailer) expand() []string {
	var out []string
	for _, pat := range t.in.cfg.Paths {
		matches, _ := filepath.Glob(pat)
		for _, p := range matches {
			base := filepath.Base(p)
			if slices.ContainsFunc(t.in.cfg.Exclude, func(ex string) bool {
				ok, _ := filepath.Match(ex, base)
				return ok
			}) {
				continue
			}
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// poll finds files, reads what they gained and delivers it. It reports
// whether a file has more to read at once.
func (t *tailer) poll(ctx context.Context) (busy bool) {
	t.ctx = ctx
	if t.failed {
		// The last delivery failed: try the batch again before reading
		// more.
		t.failed = false
		if !t.deliver() {
			return false
		}
	}
	now := time.Now()
	for _, f := range t.files {
		f.seen = false
	}
	for _, p := range t.expand() {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		id := idOf(fi)
		if f := t.byID[id]; f != nil {
			if !f.seen {
				f.seen, f.gone, f.path = true, false, p
				t.check(f, fi.Size(), now)
			}
			continue
		}
		t.found(p, id, fi.Size(), now)
	}
	t.first = false
	var done []*file
	for _, f := range t.files {
		if !f.seen && !f.gone {
			f.gone, f.lastGrowth = true, now
		}
		t.partialLines(f, now)
		if f.copy != nil {
			if !t.copyDone(f, now) {
				continue
			}
			t.resumeAfterCopy(f)
		}
		full := t.read(f, now)
		busy = busy || full
		if f.grouped && now.Sub(f.groupAt) >= time.Duration(t.in.cfg.FlushTimeout) && !full {
			t.flushGroup(f)
		}
		if f.gone && !full && now.Sub(f.lastGrowth) >= time.Duration(t.in.cfg.RotateWait) {
			t.finish(f)
			done = append(done, f)
		}
		if t.failed {
			return false
		}
	}
	if !t.deliver() {
		return false
	}
	for _, f := range done {
		t.drop(f)
	}
	if t.dirty && now.Sub(t.lastSave) >= time.Duration(t.in.cfg.StateInterval) {
		t.save(now)
	}
	return busy
}

// found starts following a file seen for the first time, unless it may be
// a copy still being made.
func (t *tailer) found(p string, id fileID, size int64, now time.Time) {
	fpSize := t.in.cfg.FingerprintSize
	fd, err := os.Open(p)
	if err != nil {
		t.in.log.Warn("cannot open file", "path", p, "err", err)
		return
	}
	// The path may name another file by now (a rotation between the stat
	// and the open): identify what was opened.
	if fi, err := fd.Stat(); err == nil && idOf(fi) != id {
		id, size = idOf(fi), fi.Size()
		if t.byID[id] != nil {
			fd.Close()
			return
		}
	}
	head := make([]byte, min(int64(fpSize), size))
	n, err := fd.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		fd.Close()
		t.in.log.Warn("cannot read file", "path", p, "err", err)
		return
	}
	head = head[:n]
	f := &file{id: id, path: p, f: fd, head: head, seen: true, lastGrowth: now}

	// Known from before a restart?
	if saved := t.in.state.byID(id); saved != nil && saved.HeadLen <= len(head) &&
		hashOf(head[:saved.HeadLen]) == saved.HeadHash && saved.Offset <= size {
		delete(t.undecided, id)
		f.readOff, f.committed = saved.Offset, saved.Offset
		t.add(f)
		return
	}

	// A copy of a followed file (copytruncate), before or after the
	// original's truncation? A head shorter than a fingerprint that
	// matches may be a copy still being written, or a new file that starts
	// like another: it is decided after rotate_wait.
	full := len(head) == fpSize
	if len(head) == 0 {
		// Nothing to read, nor to tell a copy by: wait for content.
		fd.Close()
		return
	}
	for _, src := range t.files {
		before := src.copy == nil && src.source == nil && sameStart(src.head, head, full)
		gen := -1
		if !before {
			gen = src.pastMatch(head, full)
		}
		if !before && gen < 0 {
			continue
		}
		if !full {
			since, ok := t.undecided[id]
			if !ok {
				t.undecided[id] = now
			}
			if !ok || now.Sub(since) < time.Duration(t.in.cfg.RotateWait) {
				fd.Close()
				return
			}
		}
		delete(t.undecided, id)
		if before {
			t.startCopy(f, src)
		} else {
			// The original was truncated: everything it had before was
			// read, and the copy goes on from there.
			g := src.past[gen]
			f.readOff = min(g.off-int64(len(g.partial)), size)
			f.committed = f.readOff
			src.past = slices.Delete(src.past, gen, gen+1)
			t.add(f)
			t.in.log.Debug("file is a copy of a truncated file", "path", f.path, "of", src.path, "offset", f.readOff)
		}
		return
	}
	delete(t.undecided, id)

	switch {
	case len(head) == fpSize && t.in.state.byHead(len(head), hashOf(head)) != nil:
		// A copy made while the input was down: go on from the original's
		// offset.
		f.readOff = min(t.in.state.byHead(len(head), hashOf(head)).Offset, size)
	case t.first && t.in.cfg.StartAt == "end":
		f.readOff = size
	}
	f.committed = f.readOff
	t.add(f)
}

// sameStart reports whether a new file's head (full: a whole fingerprint)
// may be a copy of a file with the given head: equal; for a known head
// shorter than a fingerprint (the file was that short), a prefix of the
// new one, if it holds at least minPrefix bytes; for a short new head (a
// copy still being written, decided later), one a prefix of the other.
func sameStart(known, head []byte, full bool) bool {
	switch {
	case len(known) == 0:
		return false
	case full && len(known) >= len(head):
		return bytes.Equal(known, head)
	case full:
		return len(known) >= minPrefix && bytes.HasPrefix(head, known)
	}
	return bytes.HasPrefix(known, head) || bytes.HasPrefix(head, known)
}

func (t *tailer) add(f *file) {
	t.files = append(t.files, f)
	t.byID[f.id] = f
	t.dirty = true
	t.in.log.Debug("following file", "path", f.path, "offset", f.readOff)
}

// startCopy follows f, a copy of src made by copytruncate: f is read from
// where src was, and src waits until it is truncated (or the copy is read
// to its end), so no line is read from both.
func (t *tailer) startCopy(f, src *file) {
	off := src.safe()
	src.buf, src.skipping = src.backing[:0], false
	src.group.Reset()
	src.grouped = false
	src.readOff = off
	f.readOff, f.committed = off, off
	f.source, src.copy = src, f
	t.add(f)
	t.in.log.Debug("file is a copy", "path", f.path, "of", src.path, "offset", off)
}

// copyDone reports whether the copy src waits for is read to its end and
// has not grown for rotate_wait, or has gone.
func (t *tailer) copyDone(src *file, now time.Time) bool {
	c := src.copy
	if t.byID[c.id] != c {
		return true
	}
	return c.lineOff() >= c.readOff && now.Sub(c.lastGrowth) >= time.Duration(t.in.cfg.RotateWait)
}

// resumeAfterCopy lets src be read again, from where its copy ended if
// src was not truncated (logrotate's copy without truncate).
func (t *tailer) resumeAfterCopy(src *file) {
	c := src.copy
	src.copy, c.source = nil, nil
	if off := c.safe(); off > src.readOff && sameHead(src, c) {
		src.readOff = off
	}
}

func sameHead(a, b *file) bool { return bytes.Equal(a.head, b.head) }

// check looks for truncation or replaced content in a followed file.
func (t *tailer) check(f *file, size int64, now time.Time) {
	fpSize := t.in.cfg.FingerprintSize
	n := min(int64(fpSize), size)
	if int(n) < len(f.head) || size < f.readOff {
		t.truncated(f, now)
		return
	}
	if int(n) == len(f.head) && len(f.head) == fpSize {
		if !t.headStill(f) {
			t.truncated(f, now)
		}
		return
	}
	// The head grows: check what we had, then extend it.
	cur := make([]byte, n)
	k, err := f.f.ReadAt(cur, 0)
	cur = cur[:k]
	if err != nil && !errors.Is(err, io.EOF) {
		return
	}
	if !bytes.HasPrefix(cur, f.head) {
		t.truncated(f, now)
		return
	}
	f.head = cur
	t.dirty = true
}

// headStill reports whether f's first bytes are still its head.
func (t *tailer) headStill(f *file) bool {
	if cap(t.scratch) < len(f.head) {
		t.scratch = make([]byte, len(f.head))
	}
	cur := t.scratch[:len(f.head)]
	k, err := f.f.ReadAt(cur, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return true // cannot tell; keep going
	}
	return bytes.Equal(cur[:k], f.head)
}

// truncated restarts f from its beginning: copytruncate, or new content
// written over the old.
func (t *tailer) truncated(f *file, now time.Time) {
	t.in.log.Debug("file truncated", "path", f.path, "offset", f.readOff)
	if f.copy == nil {
		var partial []byte
		if len(f.buf) > 0 && !f.skipping {
			partial = bytes.Clone(f.buf)
			f.buf = f.backing[:0]
		}
		t.lastLines(f)
		if f.readOff > 0 {
			if len(f.past) == maxPast {
				t.partialLine(f, &f.past[0])
				f.past = slices.Delete(f.past, 0, 1)
			}
			f.past = append(f.past, generation{head: bytes.Clone(f.head), off: f.readOff, partial: partial, at: now})
		}
	} else {
		f.copy.source, f.copy = nil, nil
	}
	f.readOff, f.buf, f.skipping = 0, f.backing[:0], false
	n := min(t.in.cfg.FingerprintSize, cap(f.head))
	f.head = f.head[:n]
	k, _ := f.f.ReadAt(f.head, 0)
	f.head = f.head[:k]
	f.lastGrowth = now
	t.dirty = true
}

// read reads what f gained, up to the poll's budget, and makes records of
// its complete lines. It reports whether the budget ran out.
func (t *tailer) read(f *file, now time.Time) (full bool) {
	if len(f.buf) > 0 {
		// Lines left when a delivery failed.
		t.lines(f)
		if t.failed {
			return false
		}
	}
	total := 0
	for total < readBudget {
		if cap(f.buf)-len(f.buf) < readChunk {
			nb := make([]byte, len(f.buf), len(f.buf)+readChunk+t.in.cfg.MaxLineSize)
			copy(nb, f.buf)
			f.buf, f.backing = nb, nb
		}
		n, err := f.f.ReadAt(f.buf[len(f.buf):cap(f.buf)], f.readOff)
		if n > 0 && !t.headStill(f) {
			// Truncated and written again since the head was taken
			// (copytruncate between two polls): what was just read may
			// be the new content. It is read again from the start, and
			// the old content's rest from its copy.
			t.truncated(f, now)
			break
		}
		if n > 0 {
			f.buf = f.buf[:len(f.buf)+n]
			f.readOff += int64(n)
			f.lastGrowth = now
			total += n
			t.lines(f)
			if t.failed {
				return false
			}
		}
		if err != nil || n == 0 {
			break
		}
	}
	return total >= readBudget
}

// lines makes records of the complete lines in f.buf and moves what is
// left to the start of the buffer.
func (t *tailer) lines(f *file) {
	enc := t.in.enc
	maxRaw := t.in.cfg.MaxLineSize
	for !t.failed {
		i := enc.newline(f.buf)
		if i < 0 {
			if len(f.buf) > maxRaw {
				// An over-long line (more than max_line_size bytes and
				// no newline yet): keep its start, skip the rest.
				start := f.lineOff()
				raw := append(t.scratch[:0], f.buf[:enc.cut(f.buf, maxRaw)]...)
				t.scratch = raw
				skipping := f.skipping
				f.buf, f.skipping = f.buf[len(f.buf):], true
				if !skipping {
					t.line(f, raw, start, true)
				}
			}
			break
		}
		start := f.lineOff()
		raw := f.buf[:i]
		f.buf = f.buf[i+enc.unit:]
		if f.skipping {
			f.skipping = false
			continue
		}
		cut := len(raw) > maxRaw
		if cut {
			raw = raw[:enc.cut(raw, maxRaw)]
		}
		t.line(f, raw, start, cut)
	}
	// Move the partial line to the front, for the next read.
	f.buf = append(f.backing[:0], f.buf...)
}

// lastLines makes records of what is left of f: a last line with no
// newline, and the pending multi-line record.
func (t *tailer) lastLines(f *file) {
	if len(f.buf) > 0 && !f.skipping {
		start := f.lineOff()
		raw := append(t.scratch[:0], f.buf...)
		t.scratch = raw
		f.buf = f.backing[:0]
		t.line(f, raw, start, false)
	}
	f.buf, f.skipping = f.backing[:0], false
	t.flushGroup(f)
}

// partialLines makes records of the incomplete last lines of f's past
// contents for which no copy turned up within rotate_wait of the
// truncation (all of them when now is zero).
func (t *tailer) partialLines(f *file, now time.Time) {
	for i := range f.past {
		if g := &f.past[i]; g.partial != nil && (now.IsZero() || now.Sub(g.at) >= time.Duration(t.in.cfg.RotateWait)) {
			t.partialLine(f, g)
		}
	}
}

// partialLine makes a record of g's incomplete last line, on its own even
// for multi-line records: the record it belonged to was made at the
// truncation.
func (t *tailer) partialLine(f *file, g *generation) {
	if g.partial == nil {
		return
	}
	start := g.off - int64(len(g.partial))
	if text := t.text(g.partial, start); text != "" {
		t.record(f, text, start, false)
	}
	g.partial = nil
}

// text is the text of a line that starts at offset start.
func (t *tailer) text(raw []byte, start int64) string {
	text := t.in.enc.text(raw)
	text = strings.TrimSuffix(text, "\r")
	if start == 0 {
		text = strings.TrimPrefix(text, "\uFEFF")
	}
	return text
}

// line handles one line: a record, or part of a multi-line one.
func (t *tailer) line(f *file, raw []byte, start int64, cut bool) {
	text := t.text(raw, start)
	if t.in.start == nil {
		if text != "" || cut {
			t.record(f, text, start, cut)
		}
		return
	}
	now := time.Now()
	if !f.grouped || t.in.start.MatchString(text) {
		old, oldStart, oldTrunc, had := f.group.String(), f.groupStart, f.groupTrunc, f.grouped
		f.group.Reset()
		f.grouped, f.groupStart, f.groupTrunc, f.groupAt = true, start, cut, now
		f.group.WriteString(text)
		if had {
			t.record(f, old, oldStart, oldTrunc)
		}
		return
	}
	f.groupAt = now
	if room := t.in.cfg.MaxLineSize - f.group.Len() - 1; room < len(text) {
		f.groupTrunc = true
		if room > 0 {
			f.group.WriteByte('\n')
			f.group.WriteString(text[:utf8Cut([]byte(text), room)])
		}
		return
	}
	f.group.WriteByte('\n')
	f.group.WriteString(text)
	f.groupTrunc = f.groupTrunc || cut
}

// flushGroup makes a record of f's pending multi-line record.
func (t *tailer) flushGroup(f *file) {
	if !f.grouped {
		return
	}
	text, start, cut := f.group.String(), f.groupStart, f.groupTrunc
	f.group.Reset()
	f.grouped = false
	t.record(f, text, start, cut)
}

// record adds a message for one record to the batch, delivering the batch
// when it is full.
func (t *tailer) record(f *file, text string, start int64, cut bool) {
	cfg := &t.in.cfg
	m := &t.pool[len(t.batch)]
	if fm := formats[cfg.Format]; fm.json {
		reason, err := t.in.dec.JSON([]byte(text), m)
		if err == nil {
			t.appendFields(m, f, start, cut)
			t.add1(m, len(text))
			return
		}
		if fm.strict {
			t.in.counters.Rejected(reason)
			t.in.log.Debug("line rejected", "path", f.path, "offset", start, "err", err)
			return
		}
	}
	logger := cfg.Logger
	if logger == "" {
		logger = filepath.Base(f.path)
	}
	*m = metlog.Message{
		Type:     cfg.Type,
		Logger:   logger,
		Severity: metlog.Severity(cfg.Severity),
		Payload:  text,
		Hostname: t.in.host,
		Fields:   m.Fields[:0],
	}
	t.appendFields(m, f, start, cut)
	t.add1(m, len(text))
}

func (t *tailer) appendFields(m *metlog.Message, f *file, start int64, cut bool) {
	if name := t.in.cfg.PathField; name != "" {
		fld := nextField(m)
		fld.Name, fld.Type, fld.Strings = name, metlog.TypeString, append(fld.Strings[:0], f.path)
	}
	if name := t.in.cfg.OffsetField; name != "" {
		fld := nextField(m)
		fld.Name, fld.Type, fld.Integers = name, metlog.TypeInteger, append(fld.Integers[:0], start)
	}
	if cut {
		fld := nextField(m)
		fld.Name, fld.Type, fld.Bools = "truncated", metlog.TypeBool, append(fld.Bools[:0], true)
	}
}

// nextField appends a field to m, reusing the value slices of the field
// that was there when m last held more fields (messages are reused from
// batch to batch), and returns it with every value slice empty.
func nextField(m *metlog.Message) *metlog.Field {
	n := len(m.Fields)
	if n < cap(m.Fields) {
		m.Fields = m.Fields[:n+1]
	} else {
		m.Fields = append(m.Fields, metlog.Field{})
	}
	fld := &m.Fields[n]
	*fld = metlog.Field{
		Strings: fld.Strings[:0], Bytes: fld.Bytes[:0], Integers: fld.Integers[:0],
		Doubles: fld.Doubles[:0], Bools: fld.Bools[:0],
	}
	return fld
}

func (t *tailer) add1(m *metlog.Message, size int) {
	t.batch = append(t.batch, m)
	t.size += size
	if len(t.batch) == len(t.pool) {
		t.deliver()
	}
}

// deliver appends the batch to the journal, waiting until it is durable,
// and then moves every file's committed offset. It reports success.
func (t *tailer) deliver() bool {
	if t.failed {
		return false
	}
	if len(t.batch) > 0 {
		if err := t.sink.Deliver(t.ctx, t.batch, input.DeliverOptions{Durable: true}); err != nil {
			t.failed = true
			if t.ctx.Err() == nil {
				t.in.log.Error("delivery failed", "err", err)
			}
			return false
		}
		t.in.counters.Received(len(t.batch), t.size)
		t.batch, t.size = t.batch[:0], 0
	}
	for _, f := range t.files {
		if s := f.safe(); s != f.committed {
			f.committed = s
			t.dirty = true
		}
	}
	return true
}

// finish makes records of what is left of a file about to be closed.
func (t *tailer) finish(f *file) {
	if f.copy == nil {
		t.lastLines(f)
	}
	t.partialLines(f, time.Time{})
}

// drop stops following f.
func (t *tailer) drop(f *file) {
	t.in.log.Debug("file done", "path", f.path, "offset", f.readOff)
	f.f.Close()
	if f.source != nil {
		f.source.copy = nil
	}
	if f.copy != nil {
		f.copy.source = nil
	}
	delete(t.byID, f.id)
	t.files = slices.DeleteFunc(t.files, func(g *file) bool { return g == f })
	t.dirty = true
}

// save writes the state file.
func (t *tailer) save(now time.Time) {
	files := make([]savedFile, 0, len(t.files))
	for _, f := range t.files {
		files = append(files, savedFile{
			Path: f.path, Dev: f.id.dev, Ino: f.id.ino,
			HeadLen: len(f.head), HeadHash: hashOf(f.head),
			Offset: f.committed,
		})
	}
	if err := t.in.state.save(files); err != nil {
		t.in.log.Error("cannot write the tail state", "err", err)
		return
	}
	t.in.state.saved = files
	t.dirty, t.lastSave = false, now
}

// stop delivers what was read, within drainTimeout, and saves the state.
func (t *tailer) stop() error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), drainTimeout)
	defer cancel()
	t.ctx = ctx
	t.failed = false
	for _, f := range t.files {
		t.partialLines(f, time.Time{})
	}
	if t.deliver() {
		t.save(time.Now())
	}
	return nil
}

// closeAll closes every file.
func (t *tailer) closeAll() {
	for _, f := range t.files {
		f.f.Close()
	}
	t.files = nil
}

func hashOf(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}
