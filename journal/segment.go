package journal

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// File names in a journal directory.
const (
	segmentExt    = ".heka"
	cursorName    = "cursors"
	cursorTmpName = "cursors.tmp"
	lockName      = "LOCK"
)

// readBufSize is each reader's read buffer: it must hold the longest frame
// a header can claim (3 + 255 + MaxRecordSize bytes).
const readBufSize = 512 << 10

// segment is one segment file. The journal's list holds the retained
// segments, oldest first; the last one is active (being written), the others
// are sealed and never change again.
type segment struct {
	base Pos // position of the segment's first record, from its name
	name string
	f    file

	// Guarded by Journal.mu.
	size      int64     // readable bytes: written so far, or final when sealed
	sealed    bool      // no more bytes will be added
	removed   bool      // dropped from the list; its file goes when refs do
	refs      int       // the list's reference plus one per user
	mod       time.Time // when its newest record was written
	dirSynced bool      // its directory entry is durable

	// verified is the offset up to which readers have checked records, so
	// a corrupt span is counted once however many readers skip it.
	verified atomic.Int64
}

// segmentName returns the file name of a segment starting at base: the
// sequence number and byte offset of its first record, zero-padded so that
// names sort in journal order.
func segmentName(base Pos) string {
	return fmt.Sprintf("%020d-%020d%s", base.Seq, base.Off, segmentExt)
}

// parseSegmentName is the inverse of segmentName.
func parseSegmentName(name string) (Pos, bool) {
	stem, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(stem) != 41 || stem[20] != '-' {
		return Pos{}, false
	}
	seq, err1 := strconv.ParseUint(stem[:20], 10, 64)
	off, err2 := strconv.ParseInt(stem[21:], 10, 64)
	if err1 != nil || err2 != nil || off < 0 {
		return Pos{}, false
	}
	return Pos{Seq: seq, Off: off}, true
}

// end returns the position after the segment's last byte. j.mu is held.
func (s *segment) end() int64 { return s.base.Off + s.size }

// countCorrupt reports whether a corrupt span at segment offset off is
// being seen for the first time, and if so marks it seen.
func (s *segment) countCorrupt(off int64) bool {
	for {
		v := s.verified.Load()
		if v > off {
			return false
		}
		if s.verified.CompareAndSwap(v, off+1) {
			return true
		}
	}
}

// markVerified records that records up to off have been checked.
func (s *segment) markVerified(off int64) {
	for {
		v := s.verified.Load()
		if v >= off || s.verified.CompareAndSwap(v, off) {
			return
		}
	}
}

// span is a run of bytes in a segment that holds no valid record.
type span struct{ off, n int64 }

// scanEvent is what segScanner.scan found.
type scanEvent uint8

const (
	evRecord scanEvent = iota // a record
	evNeed                    // more bytes are needed: call fill
	evEnd                     // the segment is consumed
)

// segScanner reads the records of one segment through a buffer. Records it
// returns point into the buffer and stay valid until the next fill.
type segScanner struct {
	f       file
	buf     []byte
	lo, hi  int    // buf[lo:hi] holds unparsed bytes
	pos     int64  // segment offset of buf[lo]
	bad     int64  // where the current corrupt span began, or -1
	lastEnd int64  // segment offset after the last good record
	spans   []span // corrupt spans found; the owner empties it
}

// reset points the scanner at segment offset off of f.
func (s *segScanner) reset(f file, off int64) {
	s.f = f
	s.lo, s.hi = 0, 0
	s.pos = off
	s.bad = -1
	s.lastEnd = off
	s.spans = s.spans[:0]
}

// next returns the segment offset of the first byte not yet fetched.
func (s *segScanner) next() int64 { return s.pos + int64(s.hi-s.lo) }

// scan parses the next record from the buffered bytes. atEnd says no bytes
// will ever follow the buffered ones: then a partial record at the end is
// corrupt, not short, and is skipped byte by byte like any other.
func (s *segScanner) scan(atEnd bool) ([]byte, scanEvent) {
	for {
		b := s.buf[s.lo:s.hi]
		if len(b) == 0 {
			if atEnd {
				s.endSpan()
				return nil, evEnd
			}
			return nil, evNeed
		}
		rec, n, res := scanFrame(b)
		if res == frameOK {
			s.endSpan()
			s.lo += n
			s.pos += int64(n)
			s.lastEnd = s.pos
			return rec, evRecord
		}
		if res == frameShort && !atEnd {
			return nil, evNeed
		}
		if s.bad < 0 {
			s.bad = s.pos
		}
		k := resync(b)
		s.lo += k
		s.pos += int64(k)
	}
}

func (s *segScanner) endSpan() {
	if s.bad >= 0 {
		s.spans = append(s.spans, span{off: s.bad, n: s.pos - s.bad})
		s.bad = -1
	}
}

// fill reads more of the segment, up to limit bytes from its start, and
// returns how many bytes it read. Records returned before are invalid
// afterwards.
func (s *segScanner) fill(limit int64) (int, error) {
	if s.buf == nil {
		s.buf = make([]byte, readBufSize)
	}
	if s.lo > 0 {
		s.hi = copy(s.buf, s.buf[s.lo:s.hi])
		s.lo = 0
	}
	from := s.next()
	want := min(int64(len(s.buf)-s.hi), limit-from)
	if want <= 0 {
		return 0, nil
	}
	n, err := s.f.ReadAt(s.buf[s.hi:s.hi+int(want)], from)
	s.hi += n
	if n == int(want) {
		return n, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// segmentScan is what scanSegment found in a whole segment.
type segmentScan struct {
	records uint64 // good records, plus one per corrupt span
	end     int64  // offset after the last good record
	spans   []span // corrupt spans before end
}

// scanSegment reads the first size bytes of f to the end.
func scanSegment(f file, size int64) (segmentScan, error) {
	var s segScanner
	s.reset(f, 0)
	var res segmentScan
	for {
		_, ev := s.scan(s.next() == size)
		switch ev {
		case evRecord:
			res.records++
		case evNeed:
			if _, err := s.fill(size); err != nil {
				return res, err
			}
		case evEnd:
			res.end = s.lastEnd
			for _, sp := range s.spans {
				if sp.off < s.lastEnd {
					// Counted as one lost record, as readers do.
					res.spans = append(res.spans, sp)
					res.records++
				}
			}
			return res, nil
		}
	}
}
