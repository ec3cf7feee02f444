package statsd

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output"
	"github.com/metlog/metlog/output/outputtest"
)

// FuzzLine checks that any counter, timer, gauge or set message gives
// either nothing or one well-formed statsd line: a safe key, a value, a
// type, an optional rate and optional tags, in that order.
func FuzzLine(f *testing.F) {
	types := []string{metlog.TypeCounter, metlog.TypeTimer, metlog.TypeGauge, typeSet}
	ins, _ := filepath.Glob("testdata/cases/*/in.jsonl")
	for _, in := range ins {
		for _, m := range outputtest.ReadMessages(f, in) {
			if i := slices.Index(types, m.Type); i >= 0 {
				f.Add(uint8(i), m.Logger, output.MetricName(m), m.Payload, "tag value")
			}
		}
	}
	cfg := Defaults()
	cfg.LoggerNamespace, cfg.Tags = true, "dogstatsd"
	o, err := New(cfg, discard)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind uint8, logger, name, payload, tag string) {
		typ := types[int(kind)%len(types)]
		m := &metlog.Message{Type: typ, Logger: logger, Payload: payload, Fields: []metlog.Field{
			metlog.String("name", name), metlog.Float("rate", 0.5), metlog.String(tag, tag)}}
		out, ok := o.appendLine(nil, m)
		if !ok {
			if len(out) != 0 {
				t.Fatalf("rejected, yet wrote %q", out)
			}
			return
		}
		line, found := strings.CutSuffix(string(out), "\n")
		if !found || strings.ContainsAny(line, "\n\r") {
			t.Fatalf("not one line: %q", out)
		}
		metric, tags, _ := strings.Cut(line, "|#")
		key, rest, _ := strings.Cut(metric, ":")
		if key == "" || string(appendMember(nil, key)) != key {
			t.Fatalf("unsafe key %q in %q", key, out)
		}
		parts := strings.Split(rest, "|")
		wantType := map[string]string{metlog.TypeCounter: "c", metlog.TypeTimer: "ms", metlog.TypeGauge: "g", typeSet: "s"}[typ]
		if len(parts) < 2 || parts[0] == "" || parts[1] != wantType {
			t.Fatalf("bad value or type in %q", out)
		}
		if (typ == metlog.TypeCounter || typ == metlog.TypeTimer) != (len(parts) == 3 && parts[2] == "@0.5") {
			t.Fatalf("bad rate in %q", out)
		}
		for tag := range strings.SplitSeq(tags, ",") {
			if tags != "" && strings.Count(tag, ":") != 1 {
				t.Fatalf("bad tag %q in %q", tag, out)
			}
		}
	})
}
