package journal

import (
	"fmt"
	"time"
)

// syncLoop makes written records durable, persists reader cursors and
// applies retention. It runs a cycle at once when kicked through syncKick
// (SyncAlways, or someone in WaitDurable), and otherwise at most every
// SyncInterval after something became dirty, so an idle journal does not
// wake up. With MaxAge it also runs periodically to expire old segments.
func (j *Journal) syncLoop() {
	defer j.wg.Done()
	timer := time.NewTimer(j.opts.SyncInterval)
	timer.Stop()
	armed := false
	var ageTick <-chan time.Time
	if j.opts.MaxAge > 0 {
		t := time.NewTicker(max(min(j.opts.MaxAge/4, time.Minute), time.Millisecond))
		defer t.Stop()
		ageTick = t.C
	}
	for {
		select {
		case <-j.syncKick:
		case <-j.dirtyKick:
			if !armed {
				timer.Reset(j.opts.SyncInterval)
				armed = true
			}
			continue
		case <-timer.C:
			armed = false
		case <-ageTick:
		case <-j.done:
			timer.Stop()
			return
		}
		j.syncCycle()
	}
}

// syncCycle syncs the segments that hold unsynced records, writes the
// cursors that changed to the cursor log, syncs it, and then deletes the
// segments every reader has durably passed (or that retention drops). It
// runs in the sync goroutine, or in Close once that has stopped.
func (j *Journal) syncCycle() {
	j.mu.Lock()
	target := j.written
	var toSync []*segment
	needDir := false
	if j.syncs && target.Off > j.durable.Off {
		for _, s := range j.segs {
			if s.end() > j.durable.Off && s.base.Off < target.Off || !s.dirSynced {
				s.refs++
				toSync = append(toSync, s)
				needDir = needDir || !s.dirSynced
			}
		}
	}
	var entries, scratch []byte
	var wrote []*cursor
	for _, name := range j.removed {
		entries, scratch = appendCursorEntry(entries, scratch, entryRemoved, name, Pos{})
	}
	removed := len(j.removed)
	for _, c := range j.cursors {
		if c.dirty {
			c.dirty = false
			c.inflight = c.committed
			wrote = append(wrote, c)
			entries, scratch = appendCursorEntry(entries, scratch, entryPos, c.name, c.inflight)
		}
	}
	j.mu.Unlock()

	cursorsLost, err := j.persist(toSync, needDir, entries)

	j.mu.Lock()
	for _, s := range toSync {
		j.unref(s)
	}
	if err != nil || cursorsLost != nil {
		for _, c := range wrote {
			c.dirty = true
		}
	}
	if err != nil {
		j.fail(err)
		j.mu.Unlock()
		return
	}
	switch {
	case cursorsLost != nil && !j.cursorStall:
		j.cursorStall = true
		j.log.Warn("the filesystem is full; reader cursors are kept in memory until it has room", "err", cursorsLost)
	case cursorsLost == nil:
		if j.cursorStall {
			j.cursorStall = false
			j.log.Info("the filesystem has room again; reader cursors persisted")
		}
		j.removed = j.removed[removed:]
		for _, c := range wrote {
			c.persisted = c.inflight
		}
	}
	if j.syncs {
		for _, s := range toSync {
			s.dirSynced = true
		}
		if target.Off > j.durable.Off {
			j.durable = target
			j.durSig.broadcast()
		}
	}
	gone := j.retention()
	j.cycleSig.broadcast()
	compact := j.cursorSize > j.compactAt
	var snapshot map[string]Pos
	if compact {
		snapshot = make(map[string]Pos, len(j.cursors))
		for name, c := range j.cursors {
			snapshot[name] = c.persisted
		}
	}
	j.mu.Unlock()

	for _, s := range gone {
		if err := j.store.remove(s.name); err != nil {
			j.log.Warn("cannot delete a segment", "segment", s.name, "err", err)
		}
	}
	if compact {
		if err := j.writeCursorLog(snapshot); err != nil {
			j.log.Warn("cannot compact the cursor log", "err", err)
		}
	}
}

// persist writes cursor entries and syncs what toSync and the cursor log
// hold. Data is synced before the cursors that may point into it. When the
// filesystem has no room for the cursor entries, the partial write is cut
// back, the data is synced all the same, and cursorsLost says why the
// entries were not written: the caller keeps them for the next cycle.
func (j *Journal) persist(toSync []*segment, needDir bool, entries []byte) (cursorsLost, err error) {
	if len(entries) > 0 {
		if _, err := j.cursorFile.Write(entries); err != nil {
			if !noSpace(err) {
				return nil, err
			}
			if terr := j.cursorFile.Truncate(j.cursorSize); terr != nil {
				return nil, fmt.Errorf("%w; cutting back the partial write: %w", err, terr)
			}
			cursorsLost, entries = err, nil
		} else {
			j.cursorSize += int64(len(entries))
		}
	}
	if !j.syncs {
		return cursorsLost, nil
	}
	for _, s := range toSync {
		if err := s.f.Sync(); err != nil {
			return cursorsLost, err
		}
	}
	if needDir {
		if err := j.store.syncDir(); err != nil {
			return cursorsLost, err
		}
	}
	if len(entries) > 0 {
		return nil, j.cursorFile.Sync()
	}
	return cursorsLost, nil
}

// retention removes the oldest segments that may go and returns them; their
// files are deleted by the caller. A sealed segment goes when every reader's
// persisted cursor is past it. With DropUnread it also goes, read or not,
// when the journal holds more than MaxBytes after it or it is older than
// MaxAge; readers that had not read it lose its records. j.mu is held.
func (j *Journal) retention() []*segment {
	var gone []*segment
	for len(j.segs) > 1 {
		s, next := j.segs[0], j.segs[1].base
		if j.pinned(next.Off) {
			if !j.opts.DropUnread {
				break
			}
			over := j.head.Off-s.base.Off > j.opts.MaxBytes
			old := j.opts.MaxAge > 0 && time.Since(s.mod) > j.opts.MaxAge
			if !over && !old {
				break
			}
			j.drop(next)
		}
		j.segs = j.segs[1:]
		s.removed = true
		j.unref(s)
		gone = append(gone, s)
	}
	return gone
}

// pinned reports whether some reader's persisted cursor is before off.
// j.mu is held.
func (j *Journal) pinned(off int64) bool {
	for _, c := range j.cursors {
		if c.persisted.Off < off {
			return true
		}
	}
	return false
}

// drop moves every cursor before next, the start of the oldest segment
// kept, to next, counting the records each reader had not read as lost.
// j.mu is held.
func (j *Journal) drop(next Pos) {
	for _, c := range j.cursors {
		if c.committed.Off >= next.Off {
			continue
		}
		seen := c.committed
		if c.reader != nil && c.read.Off > seen.Off {
			seen = c.read
		}
		if seen.Off < next.Off && next.Seq > seen.Seq {
			c.lost += next.Seq - seen.Seq
		}
		c.committed, c.dirty = next, true
		if c.read.Off < next.Off {
			c.read = next
		}
	}
	j.cursorsChanged()
}

// unref drops a reference to s and closes its file with the last one.
// j.mu is held.
func (j *Journal) unref(s *segment) {
	s.refs--
	if s.refs == 0 {
		s.f.Close()
	}
}
