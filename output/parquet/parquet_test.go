package parquet

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output/outputtest"
	pq "github.com/parquet-go/parquet-go"
)

// testConfig is a configuration for tests: no fsync of spools, so tests
// stay fast on a busy machine.
func testConfig(dir string) Config {
	cfg := Defaults()
	cfg.Dir = dir
	cfg.Sync = false
	return cfg
}

func newOutput(t testing.TB, cfg Config) *Output {
	t.Helper()
	o, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func write(t *testing.T, o *Output, batch []*metlog.Message) {
	t.Helper()
	if err := o.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

// files lists the .parquet files under dir, relative to it, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".parquet") {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// readRows reads every row of every file under dir.
func readRows(t *testing.T, dir string) []row {
	t.Helper()
	var out []row
	for _, f := range files(t, dir) {
		rows, err := pq.ReadFile[row](filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, rows...)
	}
	return out
}

// inflight lists the inflight directory.
func inflight(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, inflightDir))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// gen returns n messages of the given types, round robin, one a
// millisecond (plus a nanosecond, to check timestamps are exact) from
// start.
func gen(n int, start time.Time, types ...string) []*metlog.Message {
	out := make([]*metlog.Message, n)
	for i := range out {
		out[i] = &metlog.Message{
			UUID:       metlog.NewUUID(),
			Timestamp:  start.UnixNano() + int64(i)*int64(time.Millisecond) + 1,
			Type:       types[i%len(types)],
			Logger:     "gen",
			Severity:   metlog.Severity(i % 8),
			Payload:    strings.Repeat("x", i%50),
			EnvVersion: metlog.EnvVersion,
			Pid:        int32(i),
			Hostname:   "host",
			Fields:     []metlog.Field{metlog.String("name", "m"), metlog.Int("i", int64(i))},
		}
	}
	return out
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // substring of the error, "" for none
	}{
		{"defaults", func(*Config) {}, ""},
		{"no dir", func(c *Config) { c.Dir = "" }, "dir must be set"},
		{"snappy", func(c *Config) { c.Compression = "snappy" }, ""},
		{"none", func(c *Config) { c.Compression = "none" }, ""},
		{"lzo", func(c *Config) { c.Compression = "lzo" }, `compression "lzo"`},
		{"size", func(c *Config) { c.MaxFileSize = 0 }, "max_file_size"},
		{"age", func(c *Config) { c.MaxFileAge = -1 }, "max_file_age"},
		{"row group", func(c *Config) { c.RowGroupSize = 0 }, "row_group_size"},
		{"open", func(c *Config) { c.MaxOpenFiles = 0 }, "max_open_files"},
		{"mode", func(c *Config) { c.Mode = "rw" }, "mode"},
		{"dir mode", func(c *Config) { c.DirMode = "1777" }, "dir_mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			c.Dir = "x"
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPartitionOf(t *testing.T) {
	ts := time.Date(2026, 11, 22, 5, 30, 0, 0, time.UTC).UnixNano()
	long := strings.Repeat("é", 150)
	var o Output // its cache must agree with partitionOf
	for _, tc := range []struct {
		typ  string
		ts   int64
		want string
	}{
		{"timer", ts, "type=timer/date=2026-11-22/hour=05"},
		{"", ts, "type=__HIVE_DEFAULT_PARTITION__/date=2026-11-22/hour=05"},
		{"a/b c", ts, "type=a%2Fb%20c/date=2026-11-22/hour=05"},
		{"..", ts, "type=../date=2026-11-22/hour=05"},
		{"x=1%", ts, "type=x%3D1%25/date=2026-11-22/hour=05"},
		{"dotted.name_-", 0, "type=dotted.name_-/date=1970-01-01/hour=00"},
		{"t", -1, "type=t/date=1969-12-31/hour=23"},
		{"t", -int64(time.Hour), "type=t/date=1969-12-31/hour=23"},
		{"t", -int64(time.Hour) - 1, "type=t/date=1969-12-31/hour=22"},
		{"t", int64(time.Hour) - 1, "type=t/date=1970-01-01/hour=00"},
		{long, ts, "type=" + strings.Repeat("%C3%A9", 30) + "~e8f95dee7a64a70d/date=2026-11-22/hour=05"},
	} {
		m := metlog.Message{Type: tc.typ, Timestamp: tc.ts}
		if got := partitionOf(&m); got != tc.want {
			t.Errorf("partitionOf(%q, %d) = %q, want %q", tc.typ, tc.ts, got, tc.want)
		}
		for range 2 {
			if got := o.partition(&m); got != tc.want {
				t.Errorf("partition(%q, %d) = %q, want %q", tc.typ, tc.ts, got, tc.want)
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	o := newOutput(t, testConfig(dir))
	msgs := outputtest.ReadMessages(t, "testdata/messages.jsonl")
	write(t, o, msgs)
	if got := files(t, dir); len(got) != 0 {
		t.Fatalf("files visible before they are closed: %v", got)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if got := inflight(t, dir); len(got) != 0 {
		t.Errorf("inflight after Close: %v", got)
	}
	rows := readRows(t, dir)
	byUUID := make(map[string]row)
	for _, r := range rows {
		byUUID[r.UUID] = r
	}
	if len(byUUID) != len(msgs) || len(rows) != len(msgs) {
		t.Fatalf("read %d rows (%d uuids), want %d", len(rows), len(byUUID), len(msgs))
	}
	for _, m := range msgs {
		var want row
		want.fill(m, nil)
		got := byUUID[m.UUID.String()]
		if got.Timestamp != m.Timestamp || got.Type != m.Type || got.Logger != m.Logger ||
			got.Severity != int32(m.Severity) || got.Payload != m.Payload || got.EnvVersion != m.EnvVersion ||
			got.Pid != m.Pid || got.Hostname != m.Hostname || got.FieldsJSON != want.FieldsJSON ||
			!mapsEqual(got.Fields, want.Fields) {
			t.Errorf("row %s:\n got %+v\nwant %+v", m.UUID, got, want)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
