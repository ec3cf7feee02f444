package prometheus

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output"
	"github.com/metlog/metlog/output/outputtest"
)

var legacyName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// FuzzWrite checks that whatever metric messages arrive, a scrape
// succeeds without errors and every metric and label name is one that any Prometheus
// accepts.
func FuzzWrite(f *testing.F) {
	types := []string{"counter", "gauge", "timer"}
	ins, _ := filepath.Glob("testdata/cases/*/in.jsonl")
	for _, in := range ins {
		for _, m := range outputtest.ReadMessages(f, in) {
			if i := slices.Index(types, m.Type); i >= 0 {
				f.Add(uint8(i), output.MetricName(m), m.Logger, "region", "us-west", m.Payload, "db_query_seconds_count")
			}
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, name, logger, tag, value, payload, name2 string) {
		cfg := Defaults()
		if kind&0x80 != 0 {
			cfg.Timers = "summary"
		}
		o := newOutput(t, cfg)
		m := &metlog.Message{Type: types[int(kind&0x7f)%len(types)], Logger: logger, Payload: payload,
			Fields: []metlog.Field{metlog.String("name", name), metlog.String(tag, value), metlog.Float("rate", 0.5)}}
		// A message of another kind, whose name may clash.
		m2 := &metlog.Message{Type: types[int(kind&0x7f+1)%len(types)], Logger: logger, Payload: "1",
			Fields: []metlog.Field{metlog.String("name", name2)}}
		o.Write(context.Background(), []*metlog.Message{m, m, m2})
		mfs, err := o.registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if !legacyName.MatchString(mf.GetName()) {
				t.Fatalf("metric name %q", mf.GetName())
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if !legacyName.MatchString(l.GetName()) || reservedLabel(l.GetName()) {
						t.Fatalf("label name %q", l.GetName())
					}
				}
			}
		}
	})
}
