package store

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
)

// base is the time the generated corpus starts at.
var base = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func openTest(t testing.TB, edit func(*Config)) *Store {
	t.Helper()
	cfg := Defaults()
	cfg.Path = t.TempDir()
	cfg.MaxAge = 0
	cfg.MaxBytes = 0
	cfg.Partition.UnmarshalText([]byte("1h"))
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// captures decodes every metlog-py capture of testdata/metlog-py.
func captures(t testing.TB) []*metlog.Message {
	t.Helper()
	files, err := filepath.Glob("testdata/metlog-py/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in testdata/metlog-py: %v", err)
	}
	slices.Sort(files)
	var out []*metlog.Message
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := metlogjson.Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m.UUID = metlog.NewUUIDAt(m.Time())
		m.Timestamp += int64(i) // the -b copies share a timestamp
		out = append(out, m)
	}
	return out
}

// generated makes n varied messages, a second apart from base, spanning
// several one-hour partitions.
func generated(n int) []*metlog.Message {
	types := []string{"oldstyle", "counter", "timer", "gauge", "custom", "exception"}
	loggers := []string{"web", "db", "worker", "web.api"}
	hosts := []string{"web-1.example.com", "web-22.example.com", "db-1", ""}
	var out []*metlog.Message
	for i := range n {
		ts := base.Add(time.Duration(i) * 7 * time.Second)
		m := &metlog.Message{
			UUID:       metlog.NewUUIDAt(ts),
			Timestamp:  ts.UnixNano(),
			Type:       types[i%len(types)],
			Logger:     loggers[i%len(loggers)],
			Severity:   metlog.Severity(i % 8),
			Hostname:   hosts[i%len(hosts)],
			Pid:        int32(i % 5),
			EnvVersion: "0.8",
		}
		switch m.Type {
		case "counter":
			m.Payload = fmt.Sprint(i%3 + 1)
			m.Fields = []metlog.Field{metlog.String("name", fmt.Sprintf("db.query.%d", i%3)), metlog.Float("rate", []float64{1, 0.5, 0.25}[i%3])}
		case "timer":
			m.Payload = fmt.Sprint(i % 250)
			m.Fields = []metlog.Field{metlog.String("name", "db.latency"), metlog.Float("rate", 1)}
		case "gauge":
			m.Payload = fmt.Sprint(i % 40)
			if i%4 == 1 {
				m.Payload = "+2"
			}
			m.Fields = []metlog.Field{metlog.String("name", "queue.depth")}
		case "exception":
			m.Payload = "open /tmp/x: no such file"
			m.Fields = []metlog.Field{
				metlog.Strings(metlog.FieldErrorType, "*fs.PathError"),
				metlog.Strings(metlog.FieldErrorMessage, "open /tmp/x: no such file"),
				metlog.Strings(metlog.FieldStackFunc, fmt.Sprintf("main.handler%d", i%2), "main.main"),
				metlog.String(metlog.FieldMechanism, "error"),
			}
		default:
			i := i / 6
			m.Payload = fmt.Sprintf("request %d served in %d ms by worker-%d", i, i%100, i%3)
			m.Fields = []metlog.Field{
				metlog.Int("status", int64([]int{200, 404, 500, 503}[i%4])),
				metlog.String("headers.path", []string{"/api/users", "/static/a.css", "/api/orders"}[i%3]),
				metlog.Bool("cached", i%2 == 0),
			}
			if i%5 == 0 {
				m.Fields = append(m.Fields, metlog.Ints("name", int64(i)))
			}
			if i%7 == 0 {
				m.Fields = append(m.Fields, metlog.String("name", "dup"), metlog.Strings("tags", "a", "b", "c"))
			}
		}
		out = append(out, m)
	}
	return out
}

func corpus(t testing.TB) []*metlog.Message {
	return append(captures(t), generated(1500)...)
}

// writtenClosed writes n generated messages to a new store without the
// full-text index, closes it, and returns the messages and its config.
func writtenClosed(t testing.TB, n int) ([]*metlog.Message, Config) {
	t.Helper()
	msgs := generated(n)
	s := openTest(t, func(c *Config) { c.FullText = false })
	write(t, s, msgs)
	cfg := s.cfg
	s.Close()
	return msgs, cfg
}

func write(t testing.TB, s *Store, msgs []*metlog.Message) {
	t.Helper()
	for b := range slices.Chunk(msgs, 100) {
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
}

// expressions reads testdata/expressions.txt.
func expressions(t testing.TB) []string {
	b, err := os.ReadFile("testdata/expressions.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
