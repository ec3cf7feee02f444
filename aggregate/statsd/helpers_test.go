package statsd

import (
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// flushTime is a flush at a whole second, so that graphite timestamps are
// exact.
var flushTime = time.Unix(1700000000, 0)

func newAcc(tb testing.TB, edit func(*Config)) *Accumulator {
	tb.Helper()
	cfg := Defaults()
	cfg.FlushInterval.UnmarshalText([]byte("2s"))
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(cfg, quiet)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

// metric builds a metric message; rate < 0 leaves the rate field out, and
// tags are key, value pairs.
func metric(typ, name, payload string, rate float64, tags ...string) *metlog.Message {
	m := &metlog.Message{Type: typ, Payload: payload, Fields: []metlog.Field{metlog.String("name", name)}}
	if rate >= 0 {
		m.Fields = append(m.Fields, metlog.Float("rate", rate))
	}
	for i := 0; i+1 < len(tags); i += 2 {
		m.Fields = append(m.Fields, metlog.String(tags[i], tags[i+1]))
	}
	return m
}

// flush flushes a and returns the metrics emitted, checking that every
// message's payload lines and fields say the same.
func flush(tb testing.TB, a *Accumulator, now time.Time) map[string]float64 {
	tb.Helper()
	got := map[string]float64{}
	a.Flush(now, func(m *metlog.Message) {
		checkMessage(tb, a, m, now)
		for _, f := range m.Fields {
			if _, dup := got[f.Name]; dup {
				tb.Errorf("%s emitted twice", f.Name)
			}
			got[f.Name] = f.Doubles[0]
		}
	})
	return got
}

// checkMessage checks the shape of an emitted message.
func checkMessage(tb testing.TB, a *Accumulator, m *metlog.Message, now time.Time) {
	tb.Helper()
	if m.Type != TypeStatMetric || m.Timestamp != now.UnixNano() || m.Logger != a.cfg.Logger {
		tb.Fatalf("envelope %+v", m)
	}
	lines := strings.Split(strings.TrimSuffix(m.Payload, "\n"), "\n")
	if len(lines) != len(m.Fields) {
		tb.Fatalf("%d lines, %d fields", len(lines), len(m.Fields))
	}
	sec := strconv.FormatInt((now.UnixMilli()+500)/1000, 10)
	for i, l := range lines {
		parts := strings.Split(l, " ")
		f := &m.Fields[i]
		if len(parts) != 3 || parts[0] != f.Name || parts[2] != sec || f.Type != metlog.TypeDouble || len(f.Doubles) != 1 {
			tb.Fatalf("line %q, field %+v", l, f)
		}
		if parts[1] != string(appendNumber(nil, f.Doubles[0])) {
			tb.Fatalf("line %q, value %v", l, f.Doubles[0])
		}
	}
}

// users drops the accumulator's own metrics.
func users(m map[string]float64) map[string]float64 {
	for k := range m {
		for _, own := range []string{"numStats", "processing_time", "bad_lines_seen", "metrics_received"} {
			if strings.Contains(k, "statsd."+own) {
				delete(m, k)
			}
		}
	}
	return m
}
