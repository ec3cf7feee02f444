package journal

import "time"

// writeLoop is the journal's one writer. Appenders frame records into the
// pending buffer under the mutex; the writer swaps that buffer for an empty
// one and writes it to the active segment with a single write call while
// appenders fill the other. However many appenders there are, records reach
// the file in batches: one write per batch, group commit for free.
//
// On Close the writer writes what is still pending and returns.
func (j *Journal) writeLoop() {
	defer j.wg.Done()
	for {
		stopping := false
		select {
		case <-j.writeKick:
		case <-j.done:
			stopping = true
		}
		for j.writeOnce() {
		}
		if stopping {
			return
		}
	}
}

// writeOnce writes the pending buffer, if any, and reports whether it wrote.
func (j *Journal) writeOnce() bool {
	j.mu.Lock()
	if len(j.pend) == 0 || j.err != nil {
		j.mu.Unlock()
		return false
	}
	buf, target := j.pend, j.head
	j.pend, j.spare = j.spare[:0], nil
	seg := j.segs[len(j.segs)-1]
	j.spaceSig.broadcast()
	j.mu.Unlock()

	_, err := seg.f.Write(buf)

	j.mu.Lock()
	j.spare = buf[:0]
	if err != nil {
		j.fail(err)
		j.mu.Unlock()
		return false
	}
	j.written = target
	seg.size += int64(len(buf))
	seg.mod = time.Now()
	j.dataSig.broadcast()
	urgent := j.opts.Sync == SyncAlways || j.want.Off > j.durable.Off
	if !j.syncs {
		j.durable = target
		j.durSig.broadcast()
	}
	roll := seg.size >= j.opts.SegmentSize
	j.mu.Unlock()

	if urgent && j.syncs {
		kick(j.syncKick)
	} else {
		kick(j.dirtyKick)
	}
	if roll {
		j.roll(seg, target)
	}
	return true
}

// roll seals the active segment seg, which ends at end, and starts a new
// one. If the new file cannot be created, the writer keeps appending to seg
// and tries again after the next write.
func (j *Journal) roll(seg *segment, end Pos) {
	next, err := j.newSegment(end)
	if err != nil {
		j.log.Warn("cannot start a new segment; the active one keeps growing", "err", err)
		return
	}
	j.mu.Lock()
	seg.sealed = true
	j.segs = append(j.segs, next)
	j.dataSig.broadcast()
	j.mu.Unlock()
}
