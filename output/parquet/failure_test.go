package parquet

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// openFile returns o's only open file.
func openFile(t *testing.T, o *Output) *partFile {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.open) != 1 {
		t.Fatalf("%d files open, want 1", len(o.open))
	}
	for _, p := range o.open {
		return p
	}
	return nil
}

// TestSpoolWriteFails checks that a batch that cannot be spooled is
// refused, that what was accepted before it is published, and that the
// retry goes into a new file.
func TestSpoolWriteFails(t *testing.T) {
	dir := t.TempDir()
	o := newOutput(t, testConfig(dir))
	first, second := gen(30, t0, "a"), gen(20, t0, "a")
	write(t, o, first)
	openFile(t, o).spool.Close() // the next spool write fails
	if err := o.Write(t.Context(), second); err == nil {
		t.Fatal("Write succeeded with a broken spool")
	}
	if fs := files(t, dir); len(fs) != 1 {
		t.Fatalf("files after the failure: %v, want the accepted one", fs)
	}
	if rows := readRows(t, dir); len(rows) != len(first) {
		t.Fatalf("%d rows published, want the %d accepted", len(rows), len(first))
	}
	write(t, o, second) // the router's retry
	o.Close()
	rows := readRows(t, dir)
	seen := make(map[string]bool)
	for _, r := range rows {
		if seen[r.UUID] {
			t.Errorf("%s written twice", r.UUID)
		}
		seen[r.UUID] = true
	}
	if len(rows) != len(first)+len(second) {
		t.Fatalf("%d rows, want %d", len(rows), len(first)+len(second))
	}
	if got := inflight(t, dir); len(got) != 0 {
		t.Errorf("inflight: %v", got)
	}
}

// TestParquetWriteFails checks that a file whose Parquet writer fails is
// rebuilt from its spool.
func TestParquetWriteFails(t *testing.T) {
	dir := t.TempDir()
	o := newOutput(t, testConfig(dir))
	write(t, o, gen(40, t0, "a"))
	openFile(t, o).tmp.Close() // finishing the file fails
	o.Close()
	if rows := readRows(t, dir); len(rows) != 40 {
		t.Fatalf("%d rows, want 40", len(rows))
	}
	if got := inflight(t, dir); len(got) != 0 {
		t.Errorf("inflight: %v", got)
	}
}

// TestNoGoroutineLeft checks that Close stops the age ticker.
func TestNoGoroutineLeft(t *testing.T) {
	o := newOutput(t, testConfig(t.TempDir()))
	write(t, o, gen(3, t0, "a"))
	o.Close()
	// The ticker signals done just before it returns; a real leak is
	// still there a second later.
	g := tickers()
	for i := 0; len(g) > 0 && i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
		g = tickers()
	}
	if len(g) > 0 {
		t.Fatalf("goroutines left after Close:\n%s", strings.Join(g, "\n\n"))
	}
}

func tickers() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "output/parquet.(*Output).tick") {
			out = append(out, g)
		}
	}
	return out
}

// TestTooLargeSkipped checks that a message too large for the spool is
// left out of the file as well, so that a rebuilt file is the same.
func TestTooLargeSkipped(t *testing.T) {
	dir := t.TempDir()
	o := newOutput(t, testConfig(dir))
	batch := gen(3, t0, "a")
	batch[1].Payload = strings.Repeat("x", 70_000) // beyond Heka's 64 KiB
	write(t, o, batch)
	o.Close()
	rows := readRows(t, dir)
	if len(rows) != 2 || rows[0].UUID != batch[0].UUID.String() || rows[1].UUID != batch[2].UUID.String() {
		t.Fatalf("rows %v, want the first and the last message", len(rows))
	}
}
