package journal

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestConformance runs one suite against the disk and the memory journal:
// the two must behave alike, durability aside.
func TestConformance(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, m mode)
	}{
		{"AppendReadOrder", testAppendReadOrder},
		{"Positions", testPositions},
		{"ReadersAtDifferentSpeeds", testReadersAtDifferentSpeeds},
		{"IndependentCursors", testIndependentCursors},
		{"CommitReopenResumes", testCommitReopenResumes},
		{"SegmentsDeletedAfterAllReadersPass", testSegmentsDeleted},
		{"NoReadersKeepsNothing", testNoReaders},
		{"BackpressureBlocksAndUnblocks", testBackpressure},
		{"FailFast", testFailFast},
		{"RemoveReaderUnpins", testRemoveReader},
		{"DropUnread", testDropUnread},
		{"WaitDurable", testWaitDurable},
		{"ConcurrentAppenders", testConcurrentAppenders},
		{"CloseUnblocksWaiters", testCloseUnblocks},
		{"ReaderLifecycle", testReaderLifecycle},
		{"CommitAndReset", testCommitAndReset},
		{"RecordSizes", testRecordSizes},
		{"NextWakesOnAppend", testNextWakes},
		{"TryNextDoesNotWait", testTryNext},
		{"MaxAge", testMaxAge},
		{"CursorLogCompaction", testCursorLogCompaction},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) { c.run(t, m) })
			}
		})
	}
}

func testAppendReadOrder(t *testing.T, m mode) {
	j := m.open(t, Options{SegmentSize: 64 << 10})
	r, err := j.Reader("out")
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{1, 7, 64, 1000} {
		t.Run(fmt.Sprint("batch", batch), func(t *testing.T) {
			from := int(j.Stats().Head.Seq)
			appendRange(t, j, from, from+2000, batch)
			end := readN(t, r, from, 2000, batch)
			if err := r.Commit(end); err != nil {
				t.Fatal(err)
			}
			expectEmpty(t, r)
		})
	}
	if s := j.Stats(); s.Corrupt != 0 || s.Torn != 0 || s.Appended != 8000 {
		t.Errorf("stats %+v", s)
	}
}

func testPositions(t *testing.T, m mode) {
	j := m.open(t, Options{})
	r, _ := j.Reader("out")
	recs := [][]byte{rec(0), recN(1, 0), recN(2, 200), recN(3, MaxRecordSize)}
	recs[1] = nil
	pos, err := j.Append(ctxT(t), recs...)
	if err != nil {
		t.Fatal(err)
	}
	var off int64
	for _, b := range recs {
		off += int64(frameLen(len(b)))
	}
	if want := (Pos{Seq: 4, Off: off}); pos != want {
		t.Fatalf("Append returned %v, want %v", pos, want)
	}
	b, err := r.Next(ctxT(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Records) != 4 || b.End != pos {
		t.Fatalf("got %d records ending at %v, want 4 at %v", len(b.Records), b.End, pos)
	}
	off = 0
	for i, data := range b.Records {
		if string(data) != string(recs[i]) {
			t.Errorf("record %d differs", i)
		}
		off += int64(frameLen(len(recs[i])))
		if want := (Pos{Seq: uint64(i + 1), Off: off}); b.After(i) != want {
			t.Errorf("After(%d) = %v, want %v", i, b.After(i), want)
		}
	}
	if n, bytes := r.Lag(); n != 4 || bytes != pos.Off {
		t.Errorf("lag %d records %d bytes, want 4, %d", n, bytes, pos.Off)
	}
	if err := r.Commit(b.After(1)); err != nil {
		t.Fatal(err)
	}
	if n, bytes := r.Lag(); n != 2 || bytes != pos.Off-b.After(1).Off {
		t.Errorf("lag after partial commit: %d records %d bytes", n, bytes)
	}
}

func testReadersAtDifferentSpeeds(t *testing.T, m mode) {
	j := m.open(t, Options{SegmentSize: 64 << 10})
	const n = 5000
	batches := []int{1, 13, 500}
	var wg sync.WaitGroup
	errs := make(chan error, len(batches))
	for k, batch := range batches {
		r, err := j.Reader(fmt.Sprint("r", k))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := ctxT(t)
			for got := 0; got < n; {
				b, err := r.Next(ctx, batch)
				if err != nil {
					errs <- err
					return
				}
				for _, data := range b.Records {
					if string(data) != string(rec(got)) {
						errs <- fmt.Errorf("reader %d: record %d differs", k, got)
						return
					}
					got++
				}
				if err := r.Commit(b.End); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	appendRange(t, j, 0, n, 10)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, rs := range j.Stats().Readers {
		if rs.LagRecords != 0 || rs.LagBytes != 0 {
			t.Errorf("reader %s lags %d records %d bytes", rs.Name, rs.LagRecords, rs.LagBytes)
		}
	}
}

func testIndependentCursors(t *testing.T, m mode) {
	j := m.open(t, Options{})
	a, _ := j.Reader("a")
	b, _ := j.Reader("b")
	appendRange(t, j, 0, 100, 10)
	endA := readN(t, a, 0, 60, 100)
	if err := a.Commit(endA); err != nil {
		t.Fatal(err)
	}
	readN(t, b, 0, 10, 100)
	s := j.Stats()
	if len(s.Readers) != 2 || s.Readers[0].Name != "a" || s.Readers[1].Name != "b" {
		t.Fatalf("readers %+v", s.Readers)
	}
	if ra, rb := s.Readers[0], s.Readers[1]; ra.LagRecords != 40 || rb.LagRecords != 100 || rb.Read.Seq != 10 {
		t.Errorf("lags a=%d b=%d, b read %v", ra.LagRecords, rb.LagRecords, rb.Read)
	}
	// b continues from where it read, unaffected by a.
	readN(t, b, 10, 90, 7)
	readN(t, a, 60, 40, 7)
}

func testCommitReopenResumes(t *testing.T, m mode) {
	opts := Options{SegmentSize: 64 << 10}
	j := m.open(t, opts)
	r, _ := j.Reader("out")
	other, _ := j.Reader("other")
	appendRange(t, j, 0, 1000, 50)
	end := readN(t, r, 0, 600, 100)
	if err := r.Commit(end); err != nil {
		t.Fatal(err)
	}
	readN(t, r, 600, 100, 100) // read, not committed
	other.Close()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = m.reopen(t, j, opts)
	if s := j.Stats(); s.Head.Seq != 1000 || s.Torn != 0 || s.Corrupt != 0 {
		t.Fatalf("after reopen: %+v", s)
	}
	if names := j.Readers(); len(names) != 2 || names[0] != "other" || names[1] != "out" {
		t.Fatalf("readers %v", names)
	}
	r, err := j.Reader("out")
	if err != nil {
		t.Fatal(err)
	}
	readN(t, r, 600, 400, 64)
	other, _ = j.Reader("other")
	readN(t, other, 0, 1000, 1000)
	// Appends continue the numbering, in a new segment.
	appendRange(t, j, 1000, 1010, 5)
	readN(t, r, 1000, 10, 64)
}

func testSegmentsDeleted(t *testing.T, m mode) {
	j := m.open(t, Options{SegmentSize: 64 << 10, MaxBytes: 16 << 20})
	a, _ := j.Reader("a")
	b, _ := j.Reader("b")
	appendSmallWrites(t, j, 0, 2000) // ~520 KiB: about 8 segments
	if err := a.Commit(readN(t, a, 0, 2000, 500)); err != nil {
		t.Fatal(err)
	}
	// a has passed everything, b nothing: every byte stays.
	syncNow(t, j)
	if s := j.Stats(); s.Segments < 3 || s.Bytes != s.Head.Off {
		t.Fatalf("%d segments, %d of %d bytes retained while b needs them all", s.Segments, s.Bytes, s.Head.Off)
	}
	endB := readN(t, b, 0, 1000, 500)
	if err := b.Commit(endB); err != nil {
		t.Fatal(err)
	}
	s := waitCycle(t, j, func(s Stats) bool { return s.Bytes < s.Head.Off })
	if s.Head.Off-s.Bytes > endB.Off {
		t.Fatalf("%d bytes deleted, though b only passed %d", s.Head.Off-s.Bytes, endB.Off)
	}
	if err := b.Commit(readN(t, b, 1000, 1000, 500)); err != nil {
		t.Fatal(err)
	}
	// Everything read by all: only the active segment is left.
	waitCycle(t, j, func(s Stats) bool { return s.Segments == 1 })
}

func testNoReaders(t *testing.T, m mode) {
	j := m.open(t, Options{SegmentSize: 64 << 10})
	appendSmallWrites(t, j, 0, 2000)
	waitCycle(t, j, func(s Stats) bool { return s.Segments == 1 && s.Bytes < s.Head.Off })
	r, _ := j.Reader("late")
	appendRange(t, j, 2000, 2010, 100)
	// A new reader starts at the oldest record retained: the start of the
	// active segment at the time.
	first := -1
	for last := -1; last != 2009; {
		b, err := r.Next(ctxT(t), 10000)
		if err != nil {
			t.Fatal(err)
		}
		if first < 0 {
			first = recIndex(t, b.Records[0])
		}
		last = recIndex(t, b.Records[len(b.Records)-1])
	}
	if first <= 0 || first > 2000 {
		t.Fatalf("new reader started at record %d", first)
	}
}

// fill appends records until TryAppend reports ErrFull; it returns how many
// it appended.
func fill(t *testing.T, j *Journal, from int) int {
	t.Helper()
	for i := from; ; i++ {
		_, err := j.TryAppend(rec(i))
		if errors.Is(err, ErrFull) {
			return i - from
		}
		if err != nil {
			t.Fatal(err)
		}
		if i-from > 1e6 {
			t.Fatal("the journal never filled up")
		}
	}
}

func testBackpressure(t *testing.T, m mode) {
	j := m.open(t, Options{MaxBytes: 1 << 20})
	r, _ := j.Reader("slow")
	n := fill(t, j, 0)
	if lag := j.Stats().Readers[0].LagBytes; lag > 1<<20 || lag < 1<<20-2*int64(frameLen(250)) {
		t.Fatalf("full at a lag of %d bytes, %d records", lag, n)
	}
	// Append waits…
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := j.Append(ctx, rec(n)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append on a full journal: %v, want it to wait", err)
	}
	// …until the reader commits.
	done := make(chan error, 1)
	go func() {
		_, err := j.Append(ctxT(t), rec(n))
		done <- err
	}()
	end := readN(t, r, 0, 100, 100)
	if err := r.Commit(end); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	readN(t, r, 100, n-100+1, 1000)
}

func testFailFast(t *testing.T, m mode) {
	j := m.open(t, Options{MaxBytes: 1 << 20})
	r, _ := j.Reader("slow")
	n := fill(t, j, 0)
	for range 3 {
		if _, err := j.TryAppend(rec(n)); !errors.Is(err, ErrFull) {
			t.Fatalf("TryAppend: %v, want ErrFull", err)
		}
	}
	if s := j.Stats(); s.Full != 4 || s.Appended != uint64(n) {
		t.Fatalf("full %d appended %d, want 4 and %d", s.Full, s.Appended, n)
	}
	if err := r.Commit(readN(t, r, 0, n, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := j.TryAppend(rec(n)); err != nil {
		t.Fatalf("TryAppend after commit: %v", err)
	}
	// A batch larger than the limit still goes into an empty journal.
	if err := r.Commit(readN(t, r, n, 1, 1)); err != nil {
		t.Fatal(err)
	}
	big := make([][]byte, 0, 5000)
	for i := range 5000 {
		big = append(big, rec(n+1+i))
	}
	if _, err := j.TryAppend(big...); err != nil {
		t.Fatalf("oversized batch into an empty journal: %v", err)
	}
}

func testRemoveReader(t *testing.T, m mode) {
	j := m.open(t, Options{MaxBytes: 1 << 20})
	r, _ := j.Reader("gone")
	keep, _ := j.Reader("keep")
	n := fill(t, j, 0)
	if err := j.RemoveReader("gone"); !errors.Is(err, ErrReaderBusy) {
		t.Fatalf("RemoveReader of an open reader: %v", err)
	}
	if err := keep.Commit(readN(t, keep, 0, n, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := j.TryAppend(rec(n)); !errors.Is(err, ErrFull) {
		t.Fatalf("TryAppend: %v, want ErrFull while \"gone\" pins", err)
	}
	r.Close()
	if err := j.RemoveReader("gone"); err != nil {
		t.Fatal(err)
	}
	if err := j.RemoveReader("never-existed"); err != nil {
		t.Fatal(err)
	}
	if _, err := j.TryAppend(rec(n)); err != nil {
		t.Fatalf("TryAppend after RemoveReader: %v", err)
	}
	if names := j.Readers(); len(names) != 1 || names[0] != "keep" {
		t.Fatalf("readers %v", names)
	}
	waitCycle(t, j, func(s Stats) bool { return s.Segments <= 2 })
	// The removal is persisted: after a reopen the reader is still gone.
	keep.Close()
	j.Close()
	j = m.reopen(t, j, Options{MaxBytes: 1 << 20})
	if names := j.Readers(); len(names) != 1 || names[0] != "keep" {
		t.Fatalf("readers after reopen %v", names)
	}
}

func testDropUnread(t *testing.T, m mode) {
	j := m.open(t, Options{MaxBytes: 1 << 20, DropUnread: true})
	slow, _ := j.Reader("slow")
	fast, _ := j.Reader("fast")
	const n = 20000 // ~5 MiB through a 1 MiB journal
	for i := 0; i < n; i += 100 {
		if _, err := j.TryAppend(recsFrom(i, 100)...); err != nil {
			t.Fatalf("TryAppend with DropUnread: %v", err)
		}
		if err := fast.Commit(readN(t, fast, i, 100, 100)); err != nil {
			t.Fatal(err)
		}
	}
	// Retention settles once no more than MaxBytes is retained.
	s := waitCycle(t, j, func(s Stats) bool { return s.Bytes <= 1<<20 })
	slowStats := s.Readers[1]
	if slowStats.Name != "slow" || slowStats.Lost == 0 || s.Readers[0].Lost != 0 {
		t.Fatalf("readers %+v", s.Readers)
	}
	// The slow reader resumes at the oldest record kept, in order.
	b, err := slow.Next(ctxT(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	first := recIndex(t, b.Records[0])
	if uint64(first) != slowStats.Lost {
		t.Fatalf("slow reader resumed at record %d having lost %d", first, slowStats.Lost)
	}
	readN(t, slow, first+1, n-first-1, 1000)
}

func recsFrom(from, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = rec(from + i)
	}
	return out
}

func testWaitDurable(t *testing.T, m mode) {
	for _, p := range []SyncPolicy{SyncAlways, SyncBatch, SyncNever} {
		t.Run(p.String(), func(t *testing.T) {
			// An hour-long interval: under SyncBatch, WaitDurable must
			// make the sync happen rather than wait for it.
			j := m.open(t, Options{Sync: p, SyncInterval: time.Hour})
			pos, err := j.Append(ctxT(t), rec(0), rec(1))
			if err != nil {
				t.Fatal(err)
			}
			if p == SyncAlways {
				if d := j.Stats().Durable; d.Off < pos.Off {
					t.Fatalf("SyncAlways: Append returned with durable %v < %v", d, pos)
				}
			}
			for range 3 {
				pos, err = j.Append(ctxT(t), rec(2))
				if err != nil {
					t.Fatal(err)
				}
				if err := j.WaitDurable(ctxT(t), pos); err != nil {
					t.Fatal(err)
				}
				if d := j.Stats().Durable; d.Off < pos.Off {
					t.Fatalf("durable %v < %v after WaitDurable", d, pos)
				}
			}
			// A position never reached: WaitDurable honours ctx.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			if err := j.WaitDurable(ctx, Pos{Seq: pos.Seq + 1, Off: pos.Off + 1}); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("WaitDurable beyond the head: %v", err)
			}
		})
	}
}

func testConcurrentAppenders(t *testing.T, m mode) {
	j := m.open(t, Options{SegmentSize: 256 << 10})
	r, _ := j.Reader("out")
	const writers, per = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; {
				n := 1 + (i+w)%17
				batch := make([][]byte, 0, n)
				for ; len(batch) < n && i < per; i++ {
					batch = append(batch, rec(w*per+i))
				}
				if _, err := j.Append(context.Background(), batch...); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]int, writers) // next record expected from each writer
	for got := 0; got < writers*per; {
		b, err := r.Next(ctxT(t), 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, data := range b.Records {
			i := recIndex(t, data)
			w := i / per
			if i%per != next[w] {
				t.Fatalf("writer %d: got record %d, want %d", w, i%per, next[w])
			}
			next[w]++
			got++
		}
		if err := r.Commit(b.End); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	expectEmpty(t, r)
}

func testCloseUnblocks(t *testing.T, m mode) {
	j := m.open(t, Options{MaxBytes: 1 << 20, Sync: SyncBatch, SyncInterval: time.Hour})
	full, _ := j.Reader("full")
	n := fill(t, j, 0)
	readN(t, full, 0, n, 10000)
	idle, _ := j.Reader("idle")
	readN(t, idle, 0, n, 10000)

	results := make(chan error, 3)
	go func() { // blocked on backpressure
		_, err := j.Append(context.Background(), rec(n))
		results <- err
	}()
	go func() { // blocked waiting for records
		_, err := idle.Next(context.Background(), 1)
		results <- err
	}()
	go func() { // blocked waiting for a position that never comes
		results <- j.WaitDurable(context.Background(), Pos{Seq: 1 << 40, Off: 1 << 50})
	}()
	// Let them block: each waits on a channel only Close will close.
	waitBlocked(t, j, 3)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-results; !errors.Is(err, ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	}
	if _, err := j.TryAppend(rec(0)); !errors.Is(err, ErrClosed) {
		t.Errorf("TryAppend after Close: %v", err)
	}
	if err := j.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
	if _, err := j.Reader("x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Reader after Close: %v", err)
	}
	if err := full.Commit(Pos{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: %v", err)
	}
}

// waitBlocked waits until n goroutines wait on the journal's signals.
func waitBlocked(t *testing.T, j *Journal, n int) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		j.mu.Lock()
		waiting := 0
		for _, s := range []*signal{&j.spaceSig, &j.dataSig, &j.durSig} {
			if s.ch != nil {
				waiting++
			}
		}
		j.mu.Unlock()
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d waiters blocked", waiting, n)
		}
		runtime.Gosched() // no signal says "a goroutine is now blocked"
	}
}

func testReaderLifecycle(t *testing.T, m mode) {
	j := m.open(t, Options{})
	r, err := j.Reader("out")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Reader("out"); !errors.Is(err, ErrReaderBusy) {
		t.Fatalf("second Reader: %v", err)
	}
	for _, bad := range []string{"", string(make([]byte, 256))} {
		if _, err := j.Reader(bad); err == nil {
			t.Errorf("Reader(%q) accepted", bad)
		}
	}
	appendRange(t, j, 0, 10, 10)
	readN(t, r, 0, 5, 5)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := r.Next(ctxT(t), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	// Reopened, it starts again at its (uncommitted) cursor.
	r, err = j.Reader("out")
	if err != nil {
		t.Fatal(err)
	}
	readN(t, r, 0, 10, 3)
	// Close unblocks a waiting Next.
	done := make(chan error, 1)
	go func() {
		_, err := r.Next(context.Background(), 1)
		done <- err
	}()
	waitBlocked(t, j, 1)
	r.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Next after Close: %v", err)
	}
}

func testCommitAndReset(t *testing.T, m mode) {
	j := m.open(t, Options{})
	r, _ := j.Reader("out")
	appendRange(t, j, 0, 100, 100)
	b, err := r.Next(ctxT(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(Pos{Seq: 50, Off: b.End.Off + 1}); !errors.Is(err, ErrPosition) {
		t.Fatalf("commit beyond the read position: %v", err)
	}
	if err := r.Commit(b.After(4)); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(b.After(2)); err != nil { // backwards: ignored
		t.Fatal(err)
	}
	if c := j.Stats().Readers[0].Committed; c != b.After(4) {
		t.Fatalf("cursor %v, want %v", c, b.After(4))
	}
	readN(t, r, 10, 20, 7)
	// A failed delivery: go back to the cursor and read again.
	if err := r.Reset(); err != nil {
		t.Fatal(err)
	}
	readN(t, r, 5, 95, 50)
}

func testRecordSizes(t *testing.T, m mode) {
	j := m.open(t, Options{SegmentSize: 64 << 10})
	r, _ := j.Reader("out")
	if _, err := j.Append(ctxT(t), make([]byte, MaxRecordSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized record: %v", err)
	}
	if pos, err := j.Append(ctxT(t)); err != nil || pos != (Pos{}) {
		t.Fatalf("empty append: %v %v", pos, err)
	}
	sizes := []int{0, 1, 127, 128, 16383, 16384, MaxRecordSize - 1, MaxRecordSize, 3, MaxRecordSize}
	for i, n := range sizes {
		if _, err := j.Append(ctxT(t), recN(i, n)); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range sizes {
		b, err := r.Next(ctxT(t), 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Records[0]; len(got) != n || string(got) != string(recN(i, n)) {
			t.Fatalf("record %d: %d bytes, want %d", i, len(got), n)
		}
	}
}

func testNextWakes(t *testing.T, m mode) {
	j := m.open(t, Options{})
	r, _ := j.Reader("out")
	for i := range 50 {
		got := make(chan error, 1)
		go func() {
			b, err := r.Next(ctxT(t), 10)
			if err == nil && (len(b.Records) != 1 || recIndex(t, b.Records[0]) != i) {
				err = fmt.Errorf("got %d records", len(b.Records))
			}
			got <- err
		}()
		if i%2 == 0 {
			waitBlocked(t, j, 1)
		}
		if _, err := j.Append(ctxT(t), rec(i)); err != nil {
			t.Fatal(err)
		}
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
}

// TryNext returns what Next would when records are there, and nothing,
// at once, when none are; across segments, and ErrClosed once closed.
func testTryNext(t *testing.T, m mode) {
	j := m.open(t, Options{SegmentSize: minSegmentSize})
	r, _ := j.Reader("out")
	next := 0
	for _, n := range []int{1, 7, 1000, 3} { // 1000 records span segments
		if b, err := r.TryNext(10); err != nil || len(b.Records) != 0 {
			t.Fatalf("TryNext with nothing written: %d records, err %v", len(b.Records), err)
		}
		appendRange(t, j, next, next+n, 100)
		for got := 0; got < n; {
			b, err := r.TryNext(64)
			if err != nil || len(b.Records) == 0 {
				t.Fatalf("TryNext after %d of %d records: %d records, err %v", got, n, len(b.Records), err)
			}
			for k, data := range b.Records {
				if i := recIndex(t, data); i != next+got {
					t.Fatalf("record %d: got record %d", next+got, i)
				}
				if b.After(k).Seq != uint64(next+got+1) {
					t.Fatalf("record %d ends at %v", next+got, b.After(k))
				}
				got++
			}
			if err := r.Commit(b.End); err != nil {
				t.Fatal(err)
			}
		}
		next += n
	}
	if b, err := r.TryNext(10); err != nil || len(b.Records) != 0 {
		t.Fatalf("TryNext with everything read: %d records, err %v", len(b.Records), err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.TryNext(10); !errors.Is(err, ErrClosed) {
		t.Fatalf("TryNext after Close: err %v, want ErrClosed", err)
	}
}

func testMaxAge(t *testing.T, m mode) {
	j := m.open(t, Options{DropUnread: true, MaxAge: 20 * time.Millisecond, SegmentSize: 64 << 10})
	r, _ := j.Reader("idle")
	appendSmallWrites(t, j, 0, 1000)
	// Sealed segments age out although unread; the active one stays.
	s := waitCycle(t, j, func(s Stats) bool { return s.Segments == 1 })
	lost := s.Readers[0].Lost
	if lost == 0 || s.Bytes == s.Head.Off {
		t.Fatalf("nothing dropped: %+v", s)
	}
	readN(t, r, int(lost), 1000-int(lost), 1000)
}

func testCursorLogCompaction(t *testing.T, m mode) {
	j := m.open(t, Options{})
	j.mu.Lock()
	j.compactAt = 4 << 10
	j.mu.Unlock()
	r, _ := j.Reader("out")
	for i := range 500 {
		appendRange(t, j, i, i+1, 1)
		if err := r.Commit(readN(t, r, i, 1, 1)); err != nil {
			t.Fatal(err)
		}
		syncNow(t, j)
	}
	r.Close()
	j.Close()
	if size := j.cursorSize; size > 4<<10 {
		t.Fatalf("cursor log of %d bytes was not compacted", size)
	}
	j = m.reopen(t, j, Options{})
	if s := j.Stats(); len(s.Readers) != 1 || s.Readers[0].Committed.Seq != 500 {
		t.Fatalf("after compaction and reopen: %+v", s.Readers)
	}
}

// appendSmallWrites appends records from to to-1, waiting for each 100 to
// be written, so that segments roll near SegmentSize however fast the
// writer is.
func appendSmallWrites(t *testing.T, j *Journal, from, to int) {
	t.Helper()
	for i := from; i < to; i += 100 {
		if err := j.WaitDurable(ctxT(t), appendRange(t, j, i, min(i+100, to), 100)); err != nil {
			t.Fatal(err)
		}
	}
}
