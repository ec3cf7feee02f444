package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// writeJournal creates a journal in a new directory with records 0…n-1
// and a reader "r" that committed the first committed of them, and closes
// it. It returns the directory.
func writeJournal(t *testing.T, n, committed int) string {
	t.Helper()
	dir := t.TempDir()
	j := openDir(t, dir, Options{Sync: SyncNever})
	r, err := j.Reader("r")
	if err != nil {
		t.Fatal(err)
	}
	appendRange(t, j, 0, n, 7)
	if committed > 0 {
		if err := r.Commit(readN(t, r, 0, committed, committed)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// onlySegment returns the path of the one segment file holding records.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs := segmentFiles(t, dir)
	sort.Strings(segs)
	for i := len(segs) - 1; i >= 0; i-- {
		if fi, err := os.Stat(segs[i]); err == nil && fi.Size() > 0 {
			return segs[i]
		}
	}
	t.Fatal("no segment with records")
	return ""
}

// readAll reads every record up to the head of the journal and returns
// their numbers, checking their contents and sequence numbers.
func readAll(t *testing.T, r *Reader) []int {
	t.Helper()
	head := r.j.Stats().Head
	r.j.mu.Lock()
	pos := r.c.read
	r.j.mu.Unlock()
	var got []int
	for pos.Off < head.Off {
		b, err := r.Next(ctxT(t), 1000)
		if err != nil {
			t.Fatal(err)
		}
		for i, data := range b.Records {
			k := recIndex(t, data)
			if string(data) != string(rec(k)) {
				t.Fatalf("record %d: content differs", k)
			}
			if seq := b.After(i).Seq - 1; seq != uint64(k) {
				t.Fatalf("record %d read at sequence number %d", k, seq)
			}
			got = append(got, k)
		}
		pos = b.End
	}
	return got
}

// TestTornTail cuts the last segment at every byte offset of its last
// record: Open must succeed, cut and count the torn record, and carry on.
func TestTornTail(t *testing.T) {
	const n = 20
	src := writeJournal(t, n, 5)
	seg := lastSegment(t, src)
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	lastStart := len(full) - frameLen(len(rec(n-1)))
	for cut := lastStart; cut < len(full); cut++ {
		dir := copyDir(t, src)
		path := filepath.Join(dir, filepath.Base(seg))
		if err := os.Truncate(path, int64(cut)); err != nil {
			t.Fatal(err)
		}
		j := openDir(t, dir, Options{Sync: SyncNever})
		s := j.Stats()
		wantTorn := uint64(0)
		if cut > lastStart {
			wantTorn = 1
		}
		if s.Torn != wantTorn || s.TornBytes != int64(cut-lastStart) || s.Corrupt != 0 || s.Head.Seq != n-1 {
			t.Fatalf("cut at %d: stats %+v", cut, s)
		}
		if fi, _ := os.Stat(path); fi.Size() != int64(lastStart) {
			t.Fatalf("cut at %d: torn bytes left in the file (%d bytes)", cut, fi.Size())
		}
		r, err := j.Reader("r")
		if err != nil {
			t.Fatal(err)
		}
		readN(t, r, 5, n-6, 100)
		// The journal carries on: the next record gets the torn one's place.
		if _, err := j.Append(ctxT(t), rec(n-1)); err != nil {
			t.Fatal(err)
		}
		readN(t, r, n-1, 1, 1)
		r.Close()
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		j = openDir(t, dir, Options{Sync: SyncNever})
		if s := j.Stats(); s.Torn != 0 || s.Head.Seq != n {
			t.Fatalf("cut at %d, second open: %+v", cut, s)
		}
		j.Close()
	}
}

// TestCorruptMiddle flips each byte of a record in the middle of a segment,
// in the last segment (found by Open) and in a sealed one (found by the
// readers): the record is skipped and counted once, the others are read.
func TestCorruptMiddle(t *testing.T) {
	const n, bad = 30, 12
	for _, where := range []string{"last", "sealed"} {
		t.Run(where, func(t *testing.T) {
			src := writeJournal(t, n, 0)
			seg := lastSegment(t, src)
			if where == "sealed" {
				// Reopening seals the segment; add records after it.
				j := openDir(t, src, Options{Sync: SyncNever})
				appendRange(t, j, n, n+10, 10)
				j.Close()
			}
			full, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			start := 0
			for i := range bad {
				start += frameLen(len(rec(i)))
			}
			size := frameLen(len(rec(bad)))
			for off := start; off < start+size; off++ {
				flips := []byte{0x01, 0xFF}
				if off-start >= maxHeaderLen+3 {
					flips = flips[:1] // the record bytes: one flip is enough
				}
				for _, flip := range flips {
					dir := copyDir(t, src)
					damaged := append([]byte(nil), full...)
					damaged[off] ^= flip
					if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), damaged, 0o644); err != nil {
						t.Fatal(err)
					}
					checkSkipped(t, dir, where, n, bad, off)
				}
			}
		})
	}
}

func checkSkipped(t *testing.T, dir, where string, n, bad, off int) {
	t.Helper()
	j := openDir(t, dir, Options{Sync: SyncNever})
	defer j.Close()
	if s := j.Stats(); s.Torn != 0 || (where == "last") != (s.Corrupt == 1) {
		t.Fatalf("byte %d flipped: stats after Open %+v", off, s)
	}
	total := n
	if where == "sealed" {
		total += 10
	}
	for _, name := range []string{"r", "other"} {
		r, err := j.Reader(name)
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, r)
		if len(got) != total-1 {
			t.Fatalf("byte %d flipped: reader %s got %d records, want %d", off, name, len(got), total-1)
		}
		for i, k := range got {
			want := i
			if i >= bad {
				want++
			}
			if k != want {
				t.Fatalf("byte %d flipped: reader %s: record %d is %d", off, name, i, k)
			}
		}
		r.Close()
	}
	s := j.Stats()
	if s.Corrupt != 1 || s.CorruptBytes < 1 || s.CorruptBytes > int64(frameLen(len(rec(bad)))) {
		t.Fatalf("byte %d flipped: counted %d corrupt spans, %d bytes", off, s.Corrupt, s.CorruptBytes)
	}
	for _, rs := range s.Readers {
		if rs.Corrupt != 1 {
			t.Fatalf("byte %d flipped: reader %s counted %d corrupt spans", off, rs.Name, rs.Corrupt)
		}
	}
}

// TestCrashCopy copies the journal directory at random moments while
// records are appended, read and committed, and opens each copy: Open never
// fails, a reader's cursor never runs ahead of what it committed, and every
// record made durable before the copy started is there.
//
// The copy takes segments first, in order, and the cursor log last, which
// is what a crash can leave: segments deleted while copying were passed by
// every reader, so the later cursor log is past them.
func TestCrashCopy(t *testing.T) {
	src := t.TempDir()
	j := openDir(t, src, Options{SyncInterval: 2 * time.Millisecond, SegmentSize: 64 << 10, MaxBytes: 1 << 20})
	r, err := j.Reader("r")
	if err != nil {
		t.Fatal(err)
	}
	var durable, progress atomic.Uint64
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // appender
		defer wg.Done()
		rng := rand.New(rand.NewPCG(1, 2))
		for i, b := 0, 0; ctx.Err() == nil; b++ {
			n := 1 + rng.IntN(20)
			pos, err := j.Append(ctx, recsFrom(i, n)...)
			if err != nil {
				return
			}
			i += n
			if b%5 == 0 {
				if j.WaitDurable(ctx, pos) != nil {
					return
				}
				durable.Store(pos.Seq)
			}
		}
	}()
	go func() { // reader
		defer wg.Done()
		for ctx.Err() == nil {
			b, err := r.Next(ctx, 1+rand.IntN(300))
			if err != nil {
				return
			}
			progress.Store(b.End.Seq)
			if r.Commit(b.End) != nil {
				return
			}
		}
	}()

	type snapshot struct {
		dir           string
		before, after uint64
	}
	var snaps []snapshot
	rng := rand.New(rand.NewPCG(3, 4))
	for range 25 {
		d := time.Duration(rng.IntN(20)) * time.Millisecond
		<-time.After(d) // a random moment of the workload
		before := durable.Load()
		dir := copyRunning(t, src)
		snaps = append(snaps, snapshot{dir: dir, before: before, after: progress.Load()})
	}
	stop()
	wg.Wait()
	j.Close()

	for k, s := range snaps {
		j := openDir(t, s.dir, Options{})
		st := j.Stats()
		var cursor Pos
		for _, rs := range st.Readers {
			if rs.Name == "r" {
				cursor = rs.Committed
			}
		}
		if cursor.Seq > s.after {
			t.Fatalf("copy %d: cursor %v is ahead of what the reader committed (%d)", k, cursor, s.after)
		}
		r, err := j.Reader("r")
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, r)
		next := int(cursor.Seq)
		for _, i := range got {
			if i != next {
				t.Fatalf("copy %d: read record %d, want %d (cursor %v, durable %d)", k, i, next, cursor, s.before)
			}
			next++
		}
		if uint64(next) < s.before {
			t.Fatalf("copy %d: records %d…%d were durable but are gone (cursor %v)", k, next, s.before-1, cursor)
		}
		r.Close()
		j.Close()
	}
}

// copyRunning copies a live journal directory: segment files in order,
// then the cursor log.
func copyRunning(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	segs := segmentFiles(t, src)
	sort.Strings(segs)
	for _, p := range append(segs, filepath.Join(src, cursorName)) {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted by retention meanwhile
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	j := openDir(t, dir, Options{})
	if _, err := Open(dir, Options{Logger: quietLogger}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v", err)
	}
	j.Close()
	j = openDir(t, dir, Options{})
	j.Close()
}

func TestOpenHousekeeping(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"notes.txt": "keep me", cursorTmpName: "half-written"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 { // an empty last segment is reused, not multiplied
		j := openDir(t, dir, Options{})
		if s := j.Stats(); s.Segments != 1 {
			t.Fatalf("%d segments", s.Segments)
		}
		j.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, cursorTmpName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left behind: %v", cursorTmpName, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("unknown file removed: %v", err)
	}
	// Two segments claiming the same position: the operator must act.
	if err := os.WriteFile(filepath.Join(dir, segmentName(Pos{Seq: 5, Off: 0})), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{Logger: quietLogger}); err == nil || !strings.Contains(err.Error(), "out of order") {
		t.Fatalf("Open with clashing segments: %v", err)
	}
}

func TestOptionsValidation(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"zero", Options{}, true},
		{"small max bytes", Options{MaxBytes: 1000}, false},
		{"negative segment", Options{SegmentSize: -1}, false},
		{"max age without drop", Options{MaxAge: time.Hour}, false},
		{"max age with drop", Options{MaxAge: time.Hour, DropUnread: true}, true},
		{"unknown policy", Options{Sync: 9}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j, err := OpenMemory(c.opts)
			if (err == nil) != c.ok {
				t.Fatalf("OpenMemory: %v", err)
			}
			if j != nil {
				j.Close()
			}
		})
	}
	for _, s := range []string{"always", "batch", "never"} {
		var p SyncPolicy
		if err := p.UnmarshalText([]byte(s)); err != nil || p.String() != s {
			t.Errorf("%q: %v, %v", s, p, err)
		}
	}
	if _, err := ParseSyncPolicy("sometimes"); err == nil {
		t.Error("ParseSyncPolicy accepted \"sometimes\"")
	}
}

// TestHekaReadable checks a segment with a Heka-style splitter that knows
// nothing of the journal: 0x1E, header length, Header with message_length
// (field 1), 0x1F, message.
func TestHekaReadable(t *testing.T) {
	dir := writeJournal(t, 50, 0)
	b, err := os.ReadFile(lastSegment(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; len(b) > 0; i++ {
		if b[0] != 0x1E || b[2+int(b[1])] != 0x1F {
			t.Fatalf("record %d: not Heka framing: % x", i, b[:min(len(b), 16)])
		}
		h := b[2 : 2+int(b[1])]
		if h[0] != 0x08 {
			t.Fatalf("record %d: header does not start with message_length", i)
		}
		size, n := binary.Uvarint(h[1:])
		msg := b[3+len(h) : 3+len(h)+int(size)]
		if n <= 0 || string(msg) != string(rec(i)) {
			t.Fatalf("record %d differs", i)
		}
		b = b[3+len(h)+int(size):]
	}
}
