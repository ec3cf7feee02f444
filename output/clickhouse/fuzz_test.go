package clickhouse

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/codec/metlogjson"
)

// FuzzFields checks, for the fields of any metlog JSON message, that the
// fields column is valid JSON equal to the spaced metlog JSON compacted,
// and that fields_proto reads back as the same fields.
func FuzzFields(f *testing.F) {
	files, _ := filepath.Glob("testdata/metlog-py/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"fields": {"a b": "x: y, z", "q": "\"", "n": {"m": [1, 2.5, null, true]}, "e": "\\\\"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := metlogjson.Unmarshal(data)
		if err != nil {
			return
		}
		got := AppendFieldsJSON([]byte("prefix"), m.Fields)
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatalf("prefix lost: %q", got)
		}
		got = got[len("prefix"):]
		if !json.Valid(got) {
			t.Fatalf("fields column is not JSON: %s", got)
		}
		full := (&metlog.Message{Fields: m.Fields}).AppendJSON(nil)
		var want bytes.Buffer
		start := len(fieldsJSONHead)
		end := bytes.LastIndex(full, []byte(fieldsJSONTail))
		if err := json.Compact(&want, full[start:end]); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("fields column\n%s\nwant\n%s", got, want.Bytes())
		}
		var back metlog.Message
		if err := heka.Unmarshal(AppendFieldsProto(nil, m.Fields), &back); err != nil {
			t.Fatal(err)
		}
		if len(back.Fields) != len(m.Fields) {
			t.Fatalf("%d fields back, want %d", len(back.Fields), len(m.Fields))
		}
		for i := range m.Fields {
			if !back.Fields[i].Equal(&m.Fields[i]) {
				t.Fatalf("field %d back as %+v, want %+v", i, back.Fields[i], m.Fields[i])
			}
		}
		var enc rowEncoder
		enc.appendRow(nil, m)
	})
}
