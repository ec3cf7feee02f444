package parquet

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output/outputtest"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func withClock(o *Output, c *clock) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.now = c.Now
}

// crash stops o as a killed process would: its files are closed without
// being finished, and it is never closed.
func crash(o *Output) {
	o.mu.Lock()
	for key, p := range o.open {
		p.spool.Close()
		p.tmp.Close()
		delete(o.open, key)
	}
	o.closed = true
	o.mu.Unlock()
	close(o.stop)
	<-o.done
}

var t0 = time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)

func TestRotateBySize(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxFileSize = 48 << 10
	cfg.RowGroupSize = 64 << 10
	o := newOutput(t, cfg)
	msgs := gen(4000, t0, "timer")
	for i := 0; i < len(msgs); i += 200 {
		write(t, o, msgs[i:i+200])
	}
	o.Close()
	fs := files(t, dir)
	if len(fs) < 3 {
		t.Fatalf("%d files, want several: %v", len(fs), fs)
	}
	for _, f := range fs {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		// A file closes at the first batch that takes its estimated size
		// (which counts buffered rows uncompressed) past the limit.
		if st.Size() > 2*cfg.MaxFileSize {
			t.Errorf("%s: %d bytes, limit %d", f, st.Size(), cfg.MaxFileSize)
		}
	}
	if rows := readRows(t, dir); len(rows) != len(msgs) {
		t.Fatalf("%d rows, want %d", len(rows), len(msgs))
	}
}

func TestRotateByAge(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxFileAge = config.Duration(time.Hour)
	o := newOutput(t, cfg)
	c := &clock{t: t0}
	withClock(o, c)
	write(t, o, gen(10, t0, "a"))
	c.Add(30 * time.Minute)
	write(t, o, gen(10, t0, "a", "b"))
	if fs := files(t, dir); len(fs) != 0 {
		t.Fatalf("files before max_file_age: %v", fs)
	}
	c.Add(30 * time.Minute) // a's file is an hour old, b's half an hour
	write(t, o, gen(1, t0, "c"))
	fs := files(t, dir)
	if len(fs) != 1 || !strings.HasPrefix(fs[0], "type=a/") {
		t.Fatalf("files after an hour: %v, want a's", fs)
	}
	if rows := readRows(t, dir); len(rows) != 15 {
		t.Fatalf("%d rows in a's file, want 15", len(rows))
	}
}

// TestRotateByAgeIdle checks that files close by age when nothing is
// written: the ticker closes them.
func TestRotateByAgeIdle(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxFileAge = config.Duration(20 * time.Millisecond)
	o := newOutput(t, cfg)
	write(t, o, gen(10, t0, "idle"))
	deadline := time.Now().Add(20 * time.Second)
	for len(files(t, dir)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the idle file was not closed by age")
		}
		time.Sleep(5 * time.Millisecond) // polling the directory; there is no signal to await
	}
}

func TestMaxOpenFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.MaxOpenFiles = 2
	o := newOutput(t, cfg)
	c := &clock{t: t0}
	withClock(o, c)
	write(t, o, gen(3, t0, "a"))
	c.Add(time.Second)
	write(t, o, gen(3, t0, "b"))
	c.Add(time.Second)
	write(t, o, gen(3, t0, "a")) // a is now the most recently written
	c.Add(time.Second)
	write(t, o, gen(3, t0, "c")) // closes b
	fs := files(t, dir)
	if len(fs) != 1 || !strings.HasPrefix(fs[0], "type=b/") {
		t.Fatalf("files = %v, want b's", fs)
	}
	o.mu.Lock()
	open := len(o.open)
	o.mu.Unlock()
	if open != 2 {
		t.Fatalf("%d files open, want 2", open)
	}
}

func TestRecover(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	o := newOutput(t, cfg)
	msgs := gen(500, t0, "a", "b", "c")
	for i := 0; i < len(msgs); i += 50 {
		write(t, o, msgs[i:i+50])
	}
	crash(o)
	if fs := files(t, dir); len(fs) != 0 {
		t.Fatalf("files visible before recovery: %v", fs)
	}
	// The crash cut a record short in one spool: its batch was never
	// acknowledged.
	var spool string
	for _, name := range inflight(t, dir) {
		if strings.HasSuffix(name, spoolExt) {
			spool = filepath.Join(dir, inflightDir, name)
		}
	}
	f, err := os.OpenFile(spool, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0x1e, 10, 0x08, 0x99})
	f.Close()

	o2 := newOutput(t, cfg)
	if got := inflight(t, dir); len(got) != 0 {
		t.Errorf("inflight after recovery: %v", got)
	}
	fs := files(t, dir)
	if len(fs) != 3 {
		t.Fatalf("files after recovery: %v, want 3", fs)
	}
	rows := readRows(t, dir)
	if len(rows) != len(msgs) {
		t.Fatalf("%d rows after recovery, want %d", len(rows), len(msgs))
	}
	got := make(map[string]int64)
	for _, r := range rows {
		got[r.UUID] = r.Timestamp
	}
	for _, m := range msgs {
		if ts, ok := got[m.UUID.String()]; !ok || ts != m.Timestamp {
			t.Fatalf("message %s: timestamp %d, %v; want %d", m.UUID, ts, ok, m.Timestamp)
		}
	}
	// The new run names its files apart from the recovered ones.
	write(t, o2, gen(5, t0, "a"))
	o2.Close()
	if fs := files(t, dir); len(fs) != 4 {
		t.Fatalf("files = %v, want 4", fs)
	}
}

// TestRecoverRenamed covers a crash between a file's rename and the
// deletion of its spool: recovery must not write the file twice.
func TestRecoverRenamed(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	o := newOutput(t, cfg)
	write(t, o, gen(20, t0, "a"))
	o.mu.Lock()
	var spool []byte
	var spoolPath string
	for _, p := range o.open {
		spoolPath = p.spoolPath()
		var err error
		if spool, err = os.ReadFile(spoolPath); err != nil {
			t.Fatal(err)
		}
	}
	o.mu.Unlock()
	o.Close()
	if err := os.WriteFile(spoolPath, spool, 0o640); err != nil {
		t.Fatal(err)
	}
	before := files(t, dir)
	newOutput(t, cfg)
	if after := files(t, dir); len(after) != 1 || after[0] != before[0] {
		t.Fatalf("files = %v, want %v", after, before)
	}
	if rows := readRows(t, dir); len(rows) != 20 {
		t.Fatalf("%d rows, want 20", len(rows))
	}
	if got := inflight(t, dir); len(got) != 0 {
		t.Errorf("inflight after recovery: %v", got)
	}
}

func TestWriteAfterClose(t *testing.T) {
	o := newOutput(t, testConfig(t.TempDir()))
	o.Close()
	if err := o.Write(t.Context(), gen(1, t0, "a")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestCompressions(t *testing.T) {
	var queries []string
	for _, c := range []string{"zstd", "snappy", "gzip", "none"} {
		dir := t.TempDir()
		t.Run(c, func(t *testing.T) {
			cfg := testConfig(dir)
			cfg.Compression = c
			o := newOutput(t, cfg)
			write(t, o, gen(100, t0, "a"))
			o.Close()
			fs := files(t, dir)
			if len(fs) != 1 {
				t.Fatalf("files = %v", fs)
			}
			b, _ := os.ReadFile(filepath.Join(dir, fs[0]))
			if !bytes.HasPrefix(b, []byte("PAR1")) || !bytes.HasSuffix(b, []byte("PAR1")) {
				t.Fatal("not a Parquet file")
			}
			if rows := readRows(t, dir); len(rows) != 100 {
				t.Fatalf("%d rows", len(rows))
			}
		})
		queries = append(queries, "SELECT '"+c+"' AS codec, count(*)::INTEGER AS n, sum(pid)::INTEGER AS pids FROM "+scan(dir))
	}
	// And DuckDB reads every codec.
	for _, res := range duckDB(t, queries...) {
		if r := res[0]; r["n"] != float64(100) || r["pids"] != float64(99*100/2) {
			t.Errorf("DuckDB read %v", r)
		}
	}
}

// TestRebuildCorrupt checks that recovery survives any spool: whole, cut
// short, with garbage in front or in the middle, or nothing but garbage.
// It publishes the records it can decode and removes the spool.
func TestRebuildCorrupt(t *testing.T) {
	var whole []byte
	msgs := outputtest.ReadMessages(t, "testdata/messages.jsonl")
	for _, m := range msgs {
		var err error
		if whole, err = heka.AppendRecord(whole, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	flipped := bytes.Clone(whole)
	for i := 7; i < len(flipped); i += 97 {
		flipped[i] ^= 0x5a
	}
	for _, tc := range []struct {
		name  string
		spool []byte
		rows  int // -1: any number
	}{
		{"whole", whole, len(msgs)},
		{"cut short", whole[:len(whole)-3], len(msgs) - 1},
		{"garbage first", append([]byte("garbage\x1e\x1f"), whole...), len(msgs)},
		{"bytes flipped", flipped, -1},
		{"garbage only", bytes.Repeat([]byte{0x1e, 2, 0x1f, 0xff}, 100), 0},
		{"empty", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := &Output{cfg: testConfig(dir), log: slog.New(slog.DiscardHandler), mode: 0o640, dirMode: 0o750,
				rows: make([]row, rowChunk)}
			if err := os.MkdirAll(filepath.Join(dir, inflightDir), 0o750); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, inflightDir, "part-x"+spoolExt)
			if err := os.WriteFile(path, tc.spool, 0o640); err != nil {
				t.Fatal(err)
			}
			if err := o.rebuild(path); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err == nil {
				t.Fatal("the spool is still there")
			}
			rows := readRows(t, dir)
			if tc.rows >= 0 && len(rows) != tc.rows {
				t.Fatalf("%d rows, want %d", len(rows), tc.rows)
			}
			if got := inflight(t, dir); len(got) != 0 {
				t.Errorf("inflight: %v", got)
			}
		})
	}
}
