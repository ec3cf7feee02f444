package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// testTimeout bounds every wait in the tests, so a bug fails instead of
// hanging.
const testTimeout = 20 * time.Second

// quietLogger drops the journal's recovery warnings, which the tests
// provoke on purpose.
var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// mode opens journals in one storage mode and reopens them on the same
// storage, which is what the conformance suite runs against.
type mode struct {
	name string
	// open returns a new, empty journal.
	open func(t *testing.T, opts Options) *Journal
	// reopen opens again the storage of j, which must be closed.
	reopen func(t *testing.T, j *Journal, opts Options) *Journal
}

var modes = []mode{
	{
		name: "disk",
		open: func(t *testing.T, opts Options) *Journal {
			return openDir(t, t.TempDir(), opts)
		},
		reopen: func(t *testing.T, j *Journal, opts Options) *Journal {
			return openDir(t, j.store.(*diskStorage).dir, opts)
		},
	},
	{
		name: "memory",
		open: func(t *testing.T, opts Options) *Journal {
			opts.Logger = quietLogger
			j, err := OpenMemory(opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { j.Close() })
			return j
		},
		reopen: func(t *testing.T, j *Journal, opts Options) *Journal {
			return openStore(t, j.store, opts.withDefaults(true))
		},
	},
}

func openDir(t *testing.T, dir string, opts Options) *Journal {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger
	}
	j, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func openStore(t *testing.T, st storage, opts Options) *Journal {
	t.Helper()
	opts.Logger = quietLogger
	j, err := open(st, opts.withDefaults(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

// rec returns the test record number i: 250 bytes that name i, so a reader
// can check order and completeness.
func rec(i int) []byte {
	return recN(i, 250)
}

func recN(i, n int) []byte {
	b := make([]byte, 0, n)
	b = fmt.Appendf(b, "record %08d ", i)
	for len(b) < n {
		b = append(b, byte('a'+(i+len(b))%26))
	}
	return b[:n]
}

// recIndex returns the number of a record made by rec.
func recIndex(t testing.TB, b []byte) int {
	t.Helper()
	var i int
	if _, err := fmt.Sscanf(string(b), "record %08d ", &i); err != nil {
		t.Fatalf("not a test record: %q", b[:min(len(b), 40)])
	}
	return i
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// appendRange appends records from to to-1 in batches of batch.
func appendRange(t *testing.T, j *Journal, from, to, batch int) Pos {
	t.Helper()
	var pos Pos
	recs := make([][]byte, 0, batch)
	for i := from; i < to; {
		recs = recs[:0]
		for ; i < to && len(recs) < batch; i++ {
			recs = append(recs, rec(i))
		}
		var err error
		if pos, err = j.Append(ctxT(t), recs...); err != nil {
			t.Fatal(err)
		}
	}
	return pos
}

// readN reads exactly n records and checks that they are from, from+1, …
// It returns the position after them.
func readN(t *testing.T, r *Reader, from, n, batch int) Pos {
	t.Helper()
	var end Pos
	for got := 0; got < n; {
		b, err := r.Next(ctxT(t), min(batch, n-got))
		if err != nil {
			t.Fatalf("after %d of %d records: %v", got, n, err)
		}
		for k, data := range b.Records {
			if i := recIndex(t, data); i != from+got {
				t.Fatalf("record %d: got record %d", from+got, i)
			}
			if want := rec(from + got); string(data) != string(want) {
				t.Fatalf("record %d: content differs", from+got)
			}
			if b.After(k).Seq == 0 || (k > 0 && b.After(k).Off <= b.After(k-1).Off) {
				t.Fatalf("positions not increasing: %v", b.ends)
			}
			got++
		}
		end = b.End
	}
	return end
}

// expectEmpty checks that r has nothing more to read right now.
func expectEmpty(t *testing.T, r *Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	b, err := r.Next(ctx, 10)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next: got %d records, err %v; want nothing", len(b.Records), err)
	}
}

// waitCycle runs sync cycles until cond holds for the journal's stats.
func waitCycle(t *testing.T, j *Journal, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		j.mu.Lock()
		ch := j.cycleSig.wait()
		j.mu.Unlock()
		if s := j.Stats(); cond(s) {
			return s
		}
		kick(j.syncKick)
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("condition not reached; stats %+v", j.Stats())
		}
	}
}

// syncNow waits for a whole sync cycle that starts after the call.
func syncNow(t *testing.T, j *Journal) {
	t.Helper()
	for range 2 { // the first may have been under way already
		j.mu.Lock()
		ch := j.cycleSig.wait()
		j.mu.Unlock()
		kick(j.syncKick)
		select {
		case <-ch:
		case <-time.After(testTimeout):
			t.Fatal("no sync cycle")
		}
	}
}

// leaked returns the stacks of this package's goroutines still running,
// after giving them a moment to finish exiting.
func leaked() []string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		var out []string
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "journal.(*Journal).writeLoop") || strings.Contains(g, "journal.(*Journal).syncLoop") {
				out = append(out, g)
			}
		}
		if len(out) == 0 || time.Now().After(deadline) {
			return out
		}
		runtime.Gosched()
	}
}

// TestMain fails the run if any test leaves a journal's goroutines behind.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if g := leaked(); len(g) > 0 {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", strings.Join(g, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// segmentFiles lists the segment files in dir.
func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segmentExt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// copyDir copies the regular files of src to a new directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
