package parquet

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
	pq "github.com/parquet-go/parquet-go"
)

// seeds returns the lines of testdata/messages.jsonl.
func seeds(f *testing.F) [][]byte {
	f.Helper()
	b, err := os.ReadFile("testdata/messages.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		out = append(out, bytes.Clone(sc.Bytes()))
	}
	return out
}

// FuzzPartition checks that any type and timestamp give a path of three
// safe elements, from which Hive-style unescaping gives the type back.
func FuzzPartition(f *testing.F) {
	for _, line := range seeds(f) {
		m, err := metlogjson.Unmarshal(line)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.Type, m.Timestamp)
	}
	f.Add(strings.Repeat("%/", 200), int64(-1))
	var o Output
	f.Fuzz(func(t *testing.T, typ string, ts int64) {
		m := metlog.Message{Type: typ, Timestamp: ts}
		key := partitionOf(&m)
		if got := o.partition(&m); got != key {
			t.Fatalf("cached partition %q, want %q", got, key)
		}
		parts := strings.Split(key, "/")
		if len(parts) != 3 || !strings.HasPrefix(parts[0], "type=") ||
			!strings.HasPrefix(parts[1], "date=") || !strings.HasPrefix(parts[2], "hour=") {
			t.Fatalf("partition %q: want type=…/date=…/hour=…", key)
		}
		value := strings.TrimPrefix(parts[0], "type=")
		if len(value) > maxTypeLen || value == "" {
			t.Fatalf("type value %q: %d bytes", value, len(value))
		}
		for i := 0; i < len(value); i++ {
			if c := value[i]; !safeByte(c) && c != '%' && c != '~' {
				t.Fatalf("type value %q: unsafe byte %q", value, c)
			}
		}
		if typ == "" {
			if value != defaultPartition {
				t.Fatalf("empty type: %q", value)
			}
			return
		}
		if !strings.Contains(value, "~") {
			if got, err := url.PathUnescape(value); err != nil || got != typ {
				t.Fatalf("type %q: value %q unescapes to %q, %v", typ, value, got, err)
			}
		} else if !utf8.ValidString(typ) {
			return
		} else if got, err := url.PathUnescape(value[:strings.LastIndex(value, "~")]); err != nil || !strings.HasPrefix(typ, got) {
			t.Fatalf("long type %q: value %q unescapes to %q, %v", typ, value, got, err)
		}
	})
}

// FuzzRow checks that any message becomes a row with valid UTF-8 text and
// valid JSON fields, and that the row survives a Parquet round trip.
func FuzzRow(f *testing.F) {
	for _, line := range seeds(f) {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := metlogjson.Unmarshal(data)
		if err != nil {
			return
		}
		var r row
		r.fill(m, nil)
		if !json.Valid([]byte(r.FieldsJSON)) {
			t.Fatalf("fields_json is not JSON: %s", r.FieldsJSON)
		}
		for _, s := range []string{r.Type, r.Logger, r.Payload, r.EnvVersion, r.Hostname} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 %q", s)
			}
		}
		names := make(map[string]bool)
		for _, f := range m.Fields {
			names[utf8Text(f.Name)] = true
		}
		if len(names) != len(r.Fields) {
			t.Fatalf("fields has %d names, the message %d", len(r.Fields), len(names))
		}
		for k, v := range r.Fields {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("invalid UTF-8 in fields: %q = %q", k, v)
			}
			if !names[k] {
				t.Fatalf("fields has %q, the message does not", k)
			}
		}
		var buf bytes.Buffer
		w := pq.NewGenericWriter[row](&buf)
		if _, err := w.Write([]row{r}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := pq.Read[row](bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].FieldsJSON != r.FieldsJSON || got[0].Payload != r.Payload ||
			got[0].Timestamp != r.Timestamp || !mapsEqual(got[0].Fields, r.Fields) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}
	})
}
