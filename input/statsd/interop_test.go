package statsd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
)

// A statsd line gives the message metlog-py sends for the same metric: same
// type, payload and fields (metlog-py's JSON object does not keep field
// order, so fields are compared by name), so both aggregate identically.
// The captures are metlog-py's own, in testdata.
func TestSameShapeAsMetlogPy(t *testing.T) {
	tests := []struct{ capture, line string }{
		{"04-incr-default.json", "page_views:1|c"},
		{"06-incr-sampled.json", "sampled_counter:1|c|@0.25"},
		{"07-timer-context.json", "db_query:12|ms|#table:users"},
	}
	in := testInput(Defaults())
	b := testBuilder(in, 65536)
	for _, tt := range tests {
		data, err := os.ReadFile(filepath.Join("testdata", tt.capture))
		if err != nil {
			t.Fatal(err)
		}
		var py metlog.Message
		if err := metlogjson.Decode(data, &py); err != nil {
			t.Fatalf("%s: %v", tt.capture, err)
		}
		b.add([]byte(tt.line), now)
		got := b.batch()
		if len(got) != 1 {
			t.Fatalf("%q rejected", tt.line)
		}
		m := got[0]
		if m.Type != py.Type || m.Payload != py.Payload || len(m.Fields) != len(py.Fields) {
			t.Errorf("%s: got %s %q %d fields, metlog-py %s %q %d fields", tt.capture,
				m.Type, m.Payload, len(m.Fields), py.Type, py.Payload, len(py.Fields))
		}
		for i := range py.Fields {
			want := &py.Fields[i]
			if f := m.Field(want.Name); f == nil || !f.Equal(want) {
				t.Errorf("%s: field %s: got %+v, metlog-py %+v", tt.capture, want.Name, f, want)
			}
		}
		b.reset()
	}
}
