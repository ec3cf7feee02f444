package journal

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var errDiskFull = errors.New("no space left on device")

// faultyStorage is memory storage whose writes and syncs fail on demand.
type faultyStorage struct {
	*memStorage
	failWrites, failSyncs atomic.Bool
	// full makes writes store half their bytes and fail with ENOSPC, as a
	// full filesystem does.
	full atomic.Bool
	// stall, when set, makes a write wait until the channel is closed,
	// after sending on stalled (a slow disk).
	stall   atomic.Pointer[chan struct{}]
	stalled chan struct{}
}

type faultyFile struct {
	*memFile
	s *faultyStorage
}

func (s *faultyStorage) create(name string, hint int64) (file, error) {
	f, err := s.memStorage.create(name, hint)
	return faultyFile{f.(*memFile), s}, err
}

func (s *faultyStorage) open(name string) (file, error) {
	f, err := s.memStorage.open(name)
	if err != nil {
		return nil, err
	}
	return faultyFile{f.(*memFile), s}, nil
}

func (f faultyFile) Write(p []byte) (int, error) {
	if gate := f.s.stall.Load(); gate != nil {
		f.s.stalled <- struct{}{}
		<-*gate
	}
	if f.s.failWrites.Load() {
		return 0, errDiskFull
	}
	if f.s.full.Load() {
		n, _ := f.memFile.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	}
	return f.memFile.Write(p)
}

func (f faultyFile) Sync() error {
	if f.s.failSyncs.Load() {
		return errDiskFull
	}
	return f.memFile.Sync()
}

// TestWriteErrors: a failed write or sync is sticky — appends, waits and
// readers report it, and Close returns it — and nothing hangs.
func TestWriteErrors(t *testing.T) {
	for _, which := range []string{"write", "sync"} {
		t.Run(which, func(t *testing.T) {
			st := &faultyStorage{memStorage: newMemStorage(true)}
			j, err := open(st, Options{Logger: quietLogger}.withDefaults(true))
			if err != nil {
				t.Fatal(err)
			}
			r, _ := j.Reader("out")
			if err := j.WaitDurable(ctxT(t), appendRange(t, j, 0, 10, 10)); err != nil {
				t.Fatal(err)
			}
			if which == "write" {
				st.failWrites.Store(true)
			} else {
				st.failSyncs.Store(true)
			}
			pos, err := j.Append(ctxT(t), rec(10))
			if err != nil {
				t.Fatalf("Append before the failure is noticed: %v", err)
			}
			if err := j.WaitDurable(ctxT(t), pos); !errors.Is(err, errDiskFull) {
				t.Fatalf("WaitDurable: %v", err)
			}
			if _, err := j.Append(context.Background(), rec(11)); !errors.Is(err, errDiskFull) {
				t.Fatalf("Append after the failure: %v", err)
			}
			// Readers still get what was written, then the error.
			b, err := r.Next(ctxT(t), 100)
			if err != nil || len(b.Records) < 10 {
				t.Fatalf("Next after the failure: %d records, %v", len(b.Records), err)
			}
			for err == nil {
				_, err = r.Next(ctxT(t), 100)
			}
			if !errors.Is(err, errDiskFull) {
				t.Fatalf("Next at the end: %v", err)
			}
			if err := j.Close(); !errors.Is(err, errDiskFull) {
				t.Fatalf("Close: %v", err)
			}
		})
	}
}

// TestFilesystemFull: a write that fails with ENOSPC is cut back and its
// records are kept; appends are refused meanwhile (TryAppend with ErrFull)
// and durable waiters told why; once space returns the journal writes them
// and goes on by itself, with nothing torn or corrupt, and every record
// survives a reopen.
func TestFilesystemFull(t *testing.T) {
	st := &faultyStorage{memStorage: newMemStorage(true)}
	j, err := open(st, Options{Logger: quietLogger}.withDefaults(true))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := j.Reader("out")
	if err := j.WaitDurable(ctxT(t), appendRange(t, j, 0, 10, 10)); err != nil {
		t.Fatal(err)
	}
	end := readN(t, r, 0, 10, 10)
	st.full.Store(true)
	// A cursor entry that does not fit is kept for a later cycle.
	if err := r.Commit(end); err != nil {
		t.Fatal(err)
	}
	syncNow(t, j)
	j.mu.Lock()
	persisted, jerr := j.cursors["out"].persisted, j.err
	j.mu.Unlock()
	if jerr != nil || persisted == end {
		t.Fatalf("cursor commit while full: persisted %v (want it kept back), journal error %v", persisted, jerr)
	}
	pos, err := j.Append(ctxT(t), rec(10))
	if err != nil {
		t.Fatalf("Append before the full filesystem is noticed: %v", err)
	}
	if err := j.WaitDurable(ctxT(t), pos); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WaitDurable: %v, want ENOSPC", err)
	}
	if _, err := j.Append(ctxT(t), rec(11)); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append while full: %v, want ENOSPC", err)
	}
	if _, err := j.TryAppend(rec(11)); !errors.Is(err, ErrFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("TryAppend while full: %v, want ErrFull and ENOSPC", err)
	}
	expectEmpty(t, r)
	st.full.Store(false)
	// The writer retries by itself; the first append that succeeds marks
	// the journal writable again.
	deadline := time.Now().Add(testTimeout)
	for {
		pos, err = j.Append(ctxT(t), rec(11))
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ENOSPC) || time.Now().After(deadline) {
			t.Fatalf("Append after space returned: %v", err)
		}
		time.Sleep(spaceRetry / 4)
	}
	if err := j.WaitDurable(ctxT(t), pos); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(readN(t, r, 10, 2, 10)); err != nil {
		t.Fatal(err)
	}
	if s := j.Stats(); s.Torn != 0 || s.Corrupt != 0 {
		t.Fatalf("stats after the full filesystem: %+v", s)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j = openStore(t, st, Options{Logger: quietLogger}.withDefaults(true))
	r, _ = j.Reader("out") // the cursor log survived the cut-back write
	expectEmpty(t, r)
	r, _ = j.Reader("again")
	readN(t, r, 0, 12, 100)
	if s := j.Stats(); s.Torn != 0 || s.Corrupt != 0 {
		t.Fatalf("stats after reopening: %+v", s)
	}
}

// TestNoGoroutinesAfterClose closes journals with waiters of every kind
// blocked, and checks that none of the journal's goroutines survive.
func TestNoGoroutinesAfterClose(t *testing.T) {
	for _, m := range modes {
		j := m.open(t, Options{MaxBytes: 1 << 20, DropUnread: true, MaxAge: time.Hour})
		r, _ := j.Reader("r")
		appendRange(t, j, 0, 100, 10)
		readN(t, r, 0, 100, 100)
		done := make(chan error, 1)
		go func() {
			_, err := r.Next(context.Background(), 1)
			done <- err
		}()
		waitBlocked(t, j, 1)
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("%s: Next: %v", m.name, err)
		}
	}
	if g := leaked(); len(g) > 0 {
		t.Fatalf("goroutines left after Close:\n%s", strings.Join(g, "\n\n"))
	}
}

// TestWriterStall: while the writer is stuck in a write, Append takes no
// more once 4 MiB wait to be written (it waits for room), TryAppend only
// once 16 MiB do (ErrFull); once the write returns every record taken is
// written, in order, and appends go on.
func TestWriterStall(t *testing.T) {
	st := &faultyStorage{memStorage: newMemStorage(true), stalled: make(chan struct{}, 1)}
	j, err := open(st, Options{Logger: quietLogger, MaxBytes: 1 << 30, SegmentSize: 64 << 20}.withDefaults(true))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r, err := j.Reader("out")
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	var release sync.Once
	defer release.Do(func() { close(gate) }) // before Close, should the test fail
	st.stall.Store(&gate)
	const size = 1000
	n := 0
	if _, err := j.TryAppend(recN(n, size)); err != nil {
		t.Fatal(err)
	}
	n++
	<-st.stalled // the writer took that record and is stuck writing it
	st.stall.Store(nil)

	for pending := 0; pending < pendingLimit; pending += frameLen(size) {
		if _, err := j.TryAppend(recN(n, size)); err != nil {
			t.Fatalf("TryAppend with %d bytes pending: %v", pending, err)
		}
		n++
	}
	ctx, cancel := context.WithTimeout(ctxT(t), 20*time.Millisecond)
	_, err = j.Append(ctx, recN(-1, size))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append with over 4 MiB pending: %v, want it to wait", err)
	}
	for {
		_, err := j.TryAppend(recN(n, size))
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if taken := (n - 1) * frameLen(size); taken > pendingLimitNoWait || taken < pendingLimitNoWait-frameLen(size) {
		t.Fatalf("TryAppend took %d bytes while the writer was stuck, want up to %d", taken, pendingLimitNoWait)
	}
	if got := j.Stats().Full; got != 1 {
		t.Fatalf("Stats().Full = %d, want 1", got)
	}

	release.Do(func() { close(gate) })
	if _, err := j.Append(ctxT(t), recN(n, size)); err != nil {
		t.Fatalf("Append after the stall: %v", err)
	}
	n++
	for i := 0; i < n; {
		b, err := r.Next(ctxT(t), 1000)
		if err != nil {
			t.Fatalf("Next after %d of %d records: %v", i, n, err)
		}
		for _, got := range b.Records {
			if want := recN(i, size); string(got) != string(want) {
				t.Fatalf("record %d: %.20q, want %.20q", i, got, want)
			}
			i++
		}
	}
}
