package journal

import (
	"encoding/binary"
	"errors"
	"os"
)

// cursor is a reader's durable state, guarded by Journal.mu.
type cursor struct {
	name      string
	committed Pos     // the latest Commit
	persisted Pos     // the latest value written to the cursor log
	inflight  Pos     // the value the sync goroutine is writing
	dirty     bool    // committed has not been handed to the cursor log
	read      Pos     // how far the open handle has read
	reader    *Reader // the open handle, if any
	lost      uint64
	corrupt   uint64
}

// Cursor log entries are framed records like segment records, so a torn or
// corrupt entry is detected and skipped. Body:
//
//	kind (1 byte) | uvarint len(name) | name | [uvarint seq | uvarint off]
//
// kind entryPos carries the position; kind entryRemoved has none.
const (
	entryPos     = 1
	entryRemoved = 2
	maxNameLen   = 255
)

// appendCursorEntry appends a framed cursor log entry to b; scratch is
// reused to build the body.
func appendCursorEntry(b, scratch []byte, kind byte, name string, p Pos) ([]byte, []byte) {
	body := append(scratch[:0], kind)
	body = binary.AppendUvarint(body, uint64(len(name)))
	body = append(body, name...)
	if kind == entryPos {
		body = binary.AppendUvarint(body, p.Seq)
		body = binary.AppendUvarint(body, uint64(p.Off))
	}
	return appendFrame(b, body), body
}

// parseCursorEntry decodes an entry body.
func parseCursorEntry(b []byte) (kind byte, name string, p Pos, ok bool) {
	if len(b) < 2 {
		return 0, "", Pos{}, false
	}
	kind, b = b[0], b[1:]
	l, n := binary.Uvarint(b)
	if n <= 0 || l == 0 || l > maxNameLen || l > uint64(len(b)-n) {
		return 0, "", Pos{}, false
	}
	name, b = string(b[n:n+int(l)]), b[n+int(l):]
	switch kind {
	case entryRemoved:
		return kind, name, Pos{}, len(b) == 0
	case entryPos:
		seq, n1 := binary.Uvarint(b)
		if n1 <= 0 {
			return 0, "", Pos{}, false
		}
		off, n2 := binary.Uvarint(b[n1:])
		if n2 <= 0 || off > 1<<62 || n1+n2 != len(b) {
			return 0, "", Pos{}, false
		}
		return kind, name, Pos{Seq: seq, Off: int64(off)}, true
	}
	return 0, "", Pos{}, false
}

// loadCursors reads the cursor log: the last entry for each name wins.
// Torn and corrupt entries are skipped.
func (j *Journal) loadCursors() (map[string]Pos, error) {
	out := make(map[string]Pos)
	f, err := j.store.open(cursorName)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	var s segScanner
	s.reset(f, 0)
	bad := 0
	for {
		rec, ev := s.scan(s.next() == size)
		switch ev {
		case evRecord:
			kind, name, p, ok := parseCursorEntry(rec)
			switch {
			case !ok:
				bad++
			case kind == entryPos:
				out[name] = p
			default:
				delete(out, name)
			}
			continue
		case evNeed:
			if _, err := s.fill(size); err != nil {
				return nil, err
			}
			continue
		}
		break
	}
	if len(s.spans) > 0 || bad > 0 {
		j.log.Warn("skipped damaged cursor log entries; readers may see duplicates",
			"spans", len(s.spans), "entries", bad)
	}
	return out, nil
}

// writeCursorLog replaces the cursor log with one entry per reader, through
// a temporary file and a rename, and makes it the log that new entries are
// appended to. It runs when nothing else uses the cursor log.
func (j *Journal) writeCursorLog(cursors map[string]Pos) error {
	var buf, scratch []byte
	for name, p := range cursors {
		buf, scratch = appendCursorEntry(buf, scratch, entryPos, name, p)
	}
	f, err := j.store.create(cursorTmpName, int64(len(buf)))
	if err != nil {
		return err
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return err
	}
	if j.syncs {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	if err := j.store.rename(cursorTmpName, cursorName); err != nil {
		f.Close()
		return err
	}
	if j.syncs {
		if err := j.store.syncDir(); err != nil {
			f.Close()
			return err
		}
	}
	if j.cursorFile != nil {
		j.cursorFile.Close()
	}
	j.cursorFile, j.cursorSize = f, int64(len(buf))
	return nil
}
