package file

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output"
)

func msgs(payloads ...string) []*metlog.Message {
	out := make([]*metlog.Message, len(payloads))
	for i, p := range payloads {
		out[i] = &metlog.Message{Timestamp: 1700000000000000000, Type: "oldstyle", Logger: "app",
			Severity: metlog.Info, Payload: p, EnvVersion: "0.8"}
	}
	return out
}

func newOutput(t *testing.T, cfg Config) *Output {
	t.Helper()
	o, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteFormats(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		format, want string
	}{
		{"text", "2023-11-14T22:13:20Z app INFO one\n2023-11-14T22:13:20Z app INFO two\n"},
		{"metlog-json", `{"severity": 6, "timestamp": "2023-11-14T22:13:20.000000Z", "metlog_hostname": "", "fields": {}, "metlog_pid": 0, "logger": "app", "type": "oldstyle", "payload": "one", "env_version": "0.8"}` + "\n"},
	} {
		cfg := Defaults()
		cfg.Path = filepath.Join(dir, "sub", tc.format+".log")
		cfg.Format = tc.format
		o := newOutput(t, cfg)
		if err := o.Write(context.Background(), msgs("one", "two")); err != nil {
			t.Fatal(err)
		}
		got := read(t, cfg.Path)
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant prefix %q", tc.format, got, tc.want)
		}
		st, _ := os.Stat(cfg.Path)
		if st.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v", tc.format, st.Mode().Perm())
		}
	}
}

func TestRotateBySizeAndKeep(t *testing.T) {
	dir := t.TempDir()
	cfg := Defaults()
	cfg.Path = filepath.Join(dir, "app.log")
	cfg.Template = "{payload}"
	cfg.RotateBytes = 10
	cfg.Keep = 2
	o := newOutput(t, cfg)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	for _, p := range []string{"aaaa", "bbbb", "cccc", "dddd", "eeee"} {
		if err := o.Write(context.Background(), msgs(p)); err != nil {
			t.Fatal(err)
		}
	}
	// 5 bytes a line, 10 bytes a file: aaaa+bbbb | cccc+dddd | eeee, two rotated kept.
	if got := read(t, cfg.Path); got != "eeee\n" {
		t.Errorf("current file %q", got)
	}
	rotated, _ := filepath.Glob(cfg.Path + ".*")
	if len(rotated) != 2 {
		t.Fatalf("rotated files %v, want 2", rotated)
	}
	if got := read(t, rotated[1]); got != "cccc\ndddd\n" {
		t.Errorf("newest rotated %q", got)
	}
}

func TestRotateByTime(t *testing.T) {
	cfg := Defaults()
	cfg.Path = filepath.Join(t.TempDir(), "app.log")
	cfg.Template = "{payload}"
	cfg.RotateEvery = config.Duration(time.Hour)
	o := newOutput(t, cfg)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o.now = func() time.Time { return clock }
	o.opened = clock
	o.Write(context.Background(), msgs("a"))
	clock = clock.Add(30 * time.Minute)
	o.Write(context.Background(), msgs("b"))
	clock = clock.Add(31 * time.Minute)
	o.Write(context.Background(), msgs("c"))
	if got := read(t, cfg.Path); got != "c\n" {
		t.Errorf("current %q", got)
	}
	if _, err := os.Stat(cfg.Path + ".20260101T010100.000000000Z"); err != nil {
		t.Error(err)
	}
}

func TestReopenAfterLogrotate(t *testing.T) {
	cfg := Defaults()
	cfg.Path = filepath.Join(t.TempDir(), "app.log")
	cfg.Template = "{payload}"
	o := newOutput(t, cfg)
	o.Write(context.Background(), msgs("before"))
	if err := os.Rename(cfg.Path, cfg.Path+".1"); err != nil {
		t.Fatal(err)
	}
	o.Write(context.Background(), msgs("still old"))
	if err := o.Reopen(); err != nil {
		t.Fatal(err)
	}
	o.Write(context.Background(), msgs("after"))
	if got := read(t, cfg.Path+".1"); got != "before\nstill old\n" {
		t.Errorf("rotated %q", got)
	}
	if got := read(t, cfg.Path); got != "after\n" {
		t.Errorf("new %q", got)
	}
}

func TestValidate(t *testing.T) {
	cfg := Config{Format: "xml", Mode: "rw", DirMode: "0750", Keep: -1}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"path must be set", `format "xml"`, `mode "rw"`, "keep must not be negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}

// A file the router was killed while writing ends in part of a line or a
// record; opening it cuts that off, so that what follows is whole.
func TestTornTailCut(t *testing.T) {
	dir := t.TempDir()
	for _, format := range []string{"text", "metlog-json", "heka"} {
		t.Run(format, func(t *testing.T) {
			cfg := Defaults()
			cfg.Path, cfg.Format, cfg.Template = filepath.Join(dir, format+".log"), format, "{payload}"
			o := newOutput(t, cfg)
			if err := o.Write(context.Background(), msgs("first")); err != nil {
				t.Fatal(err)
			}
			o.Close()
			whole := read(t, cfg.Path)
			// The next batch was half written when the router died.
			o = newOutput(t, cfg)
			o.Write(context.Background(), msgs("second"))
			o.Close()
			full := read(t, cfg.Path)
			os.Truncate(cfg.Path, int64(len(full)-3))

			o = newOutput(t, cfg)
			if err := o.Write(context.Background(), msgs("third")); err != nil {
				t.Fatal(err)
			}
			o.Close()
			got := read(t, cfg.Path)
			f, _ := output.NewFormat(format, "{payload}")
			third, _ := f.Append(nil, msgs("third")[0])
			if got != whole+string(third) {
				t.Fatalf("after the cut:\n%q\nwant\n%q", got, whole+string(third))
			}
			if format != "heka" {
				return
			}
			r := heka.NewReader(strings.NewReader(got), 0)
			n := 0
			for {
				if _, err := r.Next(); err != nil {
					break
				}
				n++
			}
			if n != 2 || r.Skipped() != 0 || r.Truncated() != 0 {
				t.Errorf("%d records, %d bytes skipped, %d truncated; want 2, 0, 0", n, r.Skipped(), r.Truncated())
			}
		})
	}
}

// WriteEncoded writes what the router encoded with the output's Format
// exactly as Write writes the messages, rotation included.
func TestWriteEncoded(t *testing.T) {
	dir := t.TempDir()
	for _, format := range output.Formats {
		cfg := Defaults()
		cfg.Format = format
		cfg.RotateBytes = 100
		cfg.Path = filepath.Join(dir, format+"-write.log")
		byWrite := newOutput(t, cfg)
		cfg.Path = filepath.Join(dir, format+"-encoded.log")
		byEncoded := newOutput(t, cfg)
		for _, p := range []string{"one", "two", "three", "four", "five", "six"} {
			batch := msgs(p)
			if err := byWrite.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			data, err := byEncoded.Format().Append(nil, batch[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := byEncoded.WriteEncoded(context.Background(), data, 1); err != nil {
				t.Fatal(err)
			}
		}
		if a, b := read(t, byWrite.cfg.Path), read(t, cfg.Path); a != b || a == "" {
			t.Errorf("%s: Write wrote %q, WriteEncoded %q", format, a, b)
		}
		w, _ := filepath.Glob(byWrite.cfg.Path + ".*")
		e, _ := filepath.Glob(cfg.Path + ".*")
		if len(w) == 0 || len(w) != len(e) {
			t.Errorf("%s: %d files rotated by Write, %d by WriteEncoded", format, len(w), len(e))
		}
	}
}
