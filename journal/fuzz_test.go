package journal

import (
	"testing"
)

// FuzzRecover opens a journal whose last segment and cursor log hold
// arbitrary bytes: Open must succeed, cut what follows the last good record,
// let a reader read every good record, and go on appending.
func FuzzRecover(f *testing.F) {
	var cursors, scratch []byte
	cursors, scratch = appendCursorEntry(cursors, scratch, entryPos, "out", Pos{Seq: 2, Off: 40})
	cursors, _ = appendCursorEntry(cursors, scratch, entryRemoved, "old", Pos{})
	f.Add([]byte{}, cursors)
	addSeeds(&seedAdder{f: f, cursors: cursors})
	f.Fuzz(func(t *testing.T, seg, cursors []byte) {
		recs, _ := scanAll(t, seg)
		store := newMemStorage(true)
		base := Pos{Seq: 7, Off: 1000}
		store.files[segmentName(base)] = &memFile{data: append([]byte(nil), seg...)}
		store.files[cursorName] = &memFile{data: cursors}
		j, err := open(store, Options{Logger: quietLogger}.withDefaults(true))
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		s := j.Stats()
		if s.Head.Off < base.Off || s.Head.Off-base.Off+s.TornBytes != int64(len(seg)) {
			t.Fatalf("head %v, torn %d, segment of %d bytes", s.Head, s.TornBytes, len(seg))
		}
		if s.Head.Seq < base.Seq+uint64(len(recs)) {
			t.Fatalf("head %v with %d records", s.Head, len(recs))
		}
		for _, rs := range s.Readers {
			if rs.Committed.Off < base.Off || rs.Committed.Off > s.Head.Off {
				t.Fatalf("cursor %v outside %v…%v", rs.Committed, base, s.Head)
			}
		}
		r, err := j.Reader("fuzz")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.Append(ctxT(t), []byte("new")); err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		for {
			b, err := r.Next(ctxT(t), 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range b.Records {
				got = append(got, append([]byte(nil), rec...))
			}
			if b.End.Off >= j.Stats().Head.Off {
				break
			}
		}
		if len(got) != len(recs)+1 || string(got[len(got)-1]) != "new" {
			t.Fatalf("read %d records, want %d and the new one", len(got), len(recs))
		}
	})
}

// seedAdder turns single-input seeds into (segment, cursor log) pairs.
type seedAdder struct {
	f       *testing.F
	cursors []byte
}

func (s *seedAdder) Add(args ...any) { s.f.Add(args[0], s.cursors) }
