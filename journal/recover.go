package journal

import (
	"fmt"
	"sort"
	"time"
)

// recover rebuilds the journal's state from its files: segments, the tail
// of the last one, and the cursors. It runs before the goroutines start.
//
// The last segment is scanned to the end. Whatever follows its last good
// record is a torn write: it is cut off and counted. Corrupt spans before
// that are counted here and skipped by readers. The recovered segment is
// then sealed and a new active segment started, so that every byte written
// in this run lands in a clean segment. Sealed segments are not scanned:
// readers verify every record as they read it.
func (j *Journal) recover() error {
	names, err := j.store.list()
	if err != nil {
		return err
	}
	cursors, err := j.loadCursors()
	if err != nil {
		return fmt.Errorf("cursor log: %w", err)
	}
	for _, name := range names {
		switch name {
		case lockName, cursorName:
			continue
		case cursorTmpName: // a compaction that did not finish
			if err := j.store.remove(name); err != nil {
				return err
			}
			continue
		}
		base, ok := parseSegmentName(name)
		if !ok {
			j.log.Warn("ignoring unknown file in the journal directory", "file", name)
			continue
		}
		j.segs = append(j.segs, &segment{base: base, name: name, refs: 1, sealed: true, dirSynced: true})
	}
	sort.Slice(j.segs, func(a, b int) bool { return j.segs[a].base.Off < j.segs[b].base.Off })
	for i, s := range j.segs {
		if i > 0 && (s.base.Off == j.segs[i-1].base.Off || s.base.Seq < j.segs[i-1].base.Seq) {
			return fmt.Errorf("segments %s and %s are out of order; move one of them away", j.segs[i-1].name, s.name)
		}
		if s.f, err = j.store.open(s.name); err != nil {
			return err
		}
		if s.size, err = s.f.Size(); err != nil {
			return err
		}
		if s.mod, err = s.f.ModTime(); err != nil {
			return err
		}
		if i > 0 {
			prev := j.segs[i-1]
			prev.size = min(prev.size, s.base.Off-prev.base.Off)
		}
	}

	var head Pos
	if len(j.segs) > 0 {
		if head, err = j.recoverTail(j.segs[len(j.segs)-1]); err != nil {
			return err
		}
	} else {
		// Every segment is gone: start after the furthest cursor.
		for _, p := range cursors {
			if p.Off > head.Off {
				head = p
			}
		}
	}
	if n := len(j.segs); n > 0 && j.segs[n-1].size == 0 {
		j.segs[n-1].sealed = false // reuse an empty last segment
	} else {
		s, err := j.newSegment(head)
		if err != nil {
			return err
		}
		j.segs = append(j.segs, s)
	}
	j.head, j.written, j.durable = head, head, head
	j.lowStale = true

	first := j.segs[0].base
	for name, p := range cursors {
		switch {
		case p.Off > head.Off:
			j.log.Warn("reader cursor is past the recovered end of the journal; moving it back",
				"reader", name, "cursor", p, "end", head)
			p = head
		case p.Off < first.Off:
			j.log.Warn("reader cursor points at deleted records; moving it to the oldest record",
				"reader", name, "cursor", p, "oldest", first)
			p = first
		}
		cursors[name] = p
		j.cursors[name] = &cursor{name: name, committed: p, persisted: p, read: p}
	}
	if err := j.writeCursorLog(cursors); err != nil {
		return fmt.Errorf("cursor log: %w", err)
	}
	return nil
}

// recoverTail scans the last segment, cuts a torn tail off it and returns
// the position after its last record.
func (j *Journal) recoverTail(s *segment) (Pos, error) {
	res, err := scanSegment(s.f, s.size)
	if err != nil {
		return Pos{}, fmt.Errorf("segment %s: %w", s.name, err)
	}
	for _, sp := range res.spans {
		j.stats.corrupt++
		j.stats.corruptBytes += sp.n
		j.log.Warn("skipping corrupt bytes in the journal", "segment", s.name, "offset", sp.off, "bytes", sp.n)
	}
	if torn := s.size - res.end; torn > 0 {
		j.stats.torn++
		j.stats.tornBytes += torn
		j.log.Warn("cutting a torn write off the journal's tail", "segment", s.name, "offset", res.end, "bytes", torn)
		if err := s.f.Truncate(res.end); err != nil {
			return Pos{}, err
		}
		if j.syncs {
			if err := s.f.Sync(); err != nil {
				return Pos{}, err
			}
		}
		s.size = res.end
	}
	s.verified.Store(res.end)
	return Pos{Seq: s.base.Seq + res.records, Off: s.base.Off + res.end}, nil
}

// newSegment creates an empty segment file starting at base.
func (j *Journal) newSegment(base Pos) (*segment, error) {
	name := segmentName(base)
	// A segment may exceed SegmentSize by one write batch.
	f, err := j.store.create(name, j.opts.SegmentSize+min(pendingLimitNoWait, j.opts.SegmentSize/4)+maxFrameLen)
	if err != nil {
		return nil, err
	}
	return &segment{base: base, name: name, f: f, refs: 1, mod: time.Now()}, nil
}
