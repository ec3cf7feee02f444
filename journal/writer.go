package journal

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// spaceRetry is how often the writer tries again while the filesystem is
// full.
const spaceRetry = 200 * time.Millisecond

// writeLoop is the journal's writer. Appenders frame records into the
// pending buffer under the mutex; the writer swaps that buffer for an empty
// one and writes it to the active segment with a single write call while
// appenders fill the other. However many appenders there are, records reach
// the file in batches: one write per batch, group commit for free. An
// appender that may wait (Append, not TryAppend) and finds nothing pending
// and no write under way writes its own records at once instead (see
// append); j.wmu keeps the writes one at a time and in order.
//
// When the filesystem is full, a write is cut back to where it started and
// its records stay pending; the writer tries again every spaceRetry, and
// appends are refused until a write succeeds (see Journal.stall).
//
// On Close the writer writes what is still pending and returns.
func (j *Journal) writeLoop() {
	defer j.wg.Done()
	retry := time.NewTimer(spaceRetry)
	retry.Stop()
	for {
		stopping := false
		select {
		case <-j.writeKick:
		case <-retry.C:
		case <-j.done:
			stopping = true
		}
		j.wmu.Lock()
		for j.writeOnce() {
		}
		j.wmu.Unlock()
		if stopping {
			retry.Stop()
			return
		}
		j.mu.Lock()
		if j.stall != nil && j.err == nil {
			retry.Reset(spaceRetry)
		}
		j.mu.Unlock()
	}
}

// noSpace reports whether err says the filesystem is full.
func noSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

// writeOnce writes the pending buffer, if any, and reports whether it wrote.
// j.wmu is held.
func (j *Journal) writeOnce() bool {
	j.mu.Lock()
	if len(j.pend) == 0 || j.err != nil {
		j.mu.Unlock()
		return false
	}
	buf, target := j.pend, j.head
	j.pend, j.spare = j.spare[:0], nil
	seg := j.segs[len(j.segs)-1]
	size := seg.size
	j.spaceSig.broadcast()
	j.mu.Unlock()

	_, err := seg.f.Write(buf)
	if err != nil && noSpace(err) {
		if terr := seg.f.Truncate(size); terr != nil {
			err = fmt.Errorf("%w; cutting back the partial write: %w", err, terr)
		} else {
			j.mu.Lock()
			// The batch goes back in front of what was appended since.
			newer := j.pend
			j.pend, j.spare = append(buf, newer...), newer[:0]
			if j.stall == nil {
				j.stall = fmt.Errorf("journal: %w", err)
				j.log.Error("the filesystem is full; refusing records and retrying", "err", err,
					"pending_bytes", len(j.pend))
				j.durSig.broadcast()
			}
			j.mu.Unlock()
			return false
		}
	}

	j.mu.Lock()
	j.spare = buf[:0]
	if err != nil {
		j.fail(err)
		j.mu.Unlock()
		return false
	}
	if j.stall != nil {
		j.log.Info("the filesystem has room again; accepting records")
		j.stall = nil
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
