package metlog

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"
	"time"
)

// zeroTime is what the test clients stamp on records that carry no time,
// so that the conformance test can tell them apart.
const zeroTime = 1000

func withClock(now func() int64) Option { return func(o *options) { o.now = now } }

func TestSlogHandlerConformance(t *testing.T) {
	var c *Client
	var mem *MemorySender
	newHandler := func(t *testing.T) slog.Handler {
		c, mem = newTestClient(t, withClock(func() int64 { return zeroTime }))
		return NewSlogHandler(c, &SlogOptions{Level: slog.LevelDebug})
	}
	result := func(t *testing.T) map[string]any {
		msgs := flushed(t, c, mem)
		if len(msgs) != 1 {
			t.Fatalf("got %d messages, want 1", len(msgs))
		}
		return messageAsMap(msgs[0])
	}
	slogtest.Run(t, newHandler, result)
}

// messageAsMap renders m as slogtest expects a record: time, level and
// message keys, and fields nested by their dotted names.
func messageAsMap(m *Message) map[string]any {
	out := map[string]any{
		slog.LevelKey:   m.Severity.String(),
		slog.MessageKey: m.Payload,
	}
	if m.Timestamp != zeroTime {
		out[slog.TimeKey] = m.Time()
	}
	for _, f := range m.Fields {
		parts := strings.Split(f.Name, ".")
		node := out
		for _, p := range parts[:len(parts)-1] {
			next, ok := node[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				node[p] = next
			}
			node = next
		}
		node[parts[len(parts)-1]] = f.Value(0)
	}
	return out
}

func TestSlogLevels(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  Severity
	}{
		{slog.LevelDebug - 4, Debug},
		{slog.LevelDebug, Debug},
		{slog.LevelInfo - 1, Debug},
		{slog.LevelInfo, Info},
		{slog.LevelInfo + 2, Notice},
		{slog.LevelWarn, Warning},
		{slog.LevelError, Error},
		{slog.LevelError + 4, Critical},
		{slog.LevelError + 8, Alert},
		{slog.LevelError + 12, Emergency},
		{slog.LevelError + 100, Emergency},
	}
	for _, tt := range tests {
		if got := severityOfLevel(tt.level); got != tt.want {
			t.Errorf("level %v: severity %v, want %v", tt.level, got, tt.want)
		}
	}
}

type stringer struct{}

func (stringer) String() string { return "stringer" }

func TestSlogAttrs(t *testing.T) {
	c, mem := newTestClient(t)
	l := slog.New(NewSlogHandler(c, &SlogOptions{Type: "applog", AddSource: true}))
	l = l.With("app", "web").WithGroup("req")
	l.Debug("not handled")
	l.Warn("slow request",
		"method", "GET",
		"n", 3,
		slog.Uint64("big", 1<<63),
		"ratio", 0.5,
		"ok", true,
		"took", 1500*time.Millisecond,
		"at", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"err", errors.New("boom"),
		"s", stringer{},
		"raw", []byte("hi"),
		"obj", map[string]int{"a": 1},
		"ch", make(chan int),
		slog.Group("user", "id", 7, slog.Group("empty")),
	)
	msgs := flushed(t, c, mem)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	m := msgs[0]
	if m.Type != "applog" || m.Severity != Warning || m.Payload != "slow request" {
		t.Errorf("message %+v", m)
	}
	want := map[string]any{
		"app":             "web",
		"req.method":      "GET",
		"req.n":           int64(3),
		"req.big":         "9223372036854775808",
		"req.ratio":       0.5,
		"req.ok":          true,
		"req.took":        int64(1500 * time.Millisecond),
		"req.at":          "2026-01-02T03:04:05Z",
		"req.err":         "boom",
		"req.s":           "stringer",
		"req.obj":         `{"a":1}`,
		"req.user.id":     int64(7),
		"source.line":     nil, // checked below
		"source.file":     nil,
		"source.function": nil,
	}
	for name, v := range want {
		if v == nil {
			continue
		}
		if got := fieldValue(m, name); got != v {
			t.Errorf("%s = %#v, want %#v", name, got, v)
		}
	}
	if f := m.Field("req.raw"); f == nil || f.Type != TypeBytes || !bytes.Equal(f.Bytes[0], []byte("hi")) {
		t.Errorf("req.raw = %+v", f)
	}
	if f := m.Field("req.obj"); f.Representation != RepresentationJSON {
		t.Errorf("req.obj representation %q", f.Representation)
	}
	if f := m.Field("req.took"); f.Representation != "ns" {
		t.Errorf("req.took representation %q", f.Representation)
	}
	if !strings.HasPrefix(fieldValue(m, "req.ch").(string), "0x") {
		t.Errorf("req.ch = %v", fieldValue(m, "req.ch"))
	}
	if fn, _ := fieldValue(m, "source.function").(string); !strings.HasSuffix(fn, "TestSlogAttrs") {
		t.Errorf("source.function = %q", fn)
	}
	if m.Field("req.user.empty") != nil {
		t.Error("empty group written")
	}
}

func TestSlogHandlerFilters(t *testing.T) {
	c, mem := newTestClient(t, WithTypeSeverityMax(TypeOldstyle, Warning))
	h := NewSlogHandler(c, nil)
	ctx := context.Background()
	if h.Enabled(ctx, slog.LevelInfo) || !h.Enabled(ctx, slog.LevelWarn) || h.Enabled(ctx, slog.LevelDebug) {
		t.Error("Enabled does not follow the level and the client's filters")
	}
	l := slog.New(h)
	l.Info("dropped")
	l.Error("kept")
	if msgs := flushed(t, c, mem); len(msgs) != 1 || msgs[0].Payload != "kept" {
		t.Errorf("got %v", msgs)
	}
}
