package hekajson

import (
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata")

// cases returns the inputs in testdata: one Heka JSON object per file.
func cases(tb testing.TB) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no cases in testdata: %v", err)
	}
	return files
}

// dump writes m in the readable form the .golden files hold.
func dump(detected bool, m *metlog.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "detected: %v\n", detected)
	fmt.Fprintf(&b, "uuid: %s\n", m.UUID)
	fmt.Fprintf(&b, "timestamp: %d (%s)\n", m.Timestamp, m.Time().Format(time.RFC3339Nano))
	fmt.Fprintf(&b, "type: %q\n", m.Type)
	fmt.Fprintf(&b, "logger: %q\n", m.Logger)
	fmt.Fprintf(&b, "severity: %d (%s)\n", m.Severity, m.Severity)
	fmt.Fprintf(&b, "payload: %q\n", m.Payload)
	fmt.Fprintf(&b, "env_version: %q\n", m.EnvVersion)
	fmt.Fprintf(&b, "pid: %d\n", m.Pid)
	fmt.Fprintf(&b, "hostname: %q\n", m.Hostname)
	fmt.Fprintf(&b, "fields: %d\n", len(m.Fields))
	for i := range m.Fields {
		f := &m.Fields[i]
		fmt.Fprintf(&b, "  %q %s", f.Name, f.Type)
		if f.Representation != "" {
			fmt.Fprintf(&b, " representation=%q", f.Representation)
		}
		b.WriteString(" [")
		for j := range f.Len() {
			if j > 0 {
				b.WriteString(", ")
			}
			switch v := f.Value(j).(type) {
			case string:
				b.WriteString(strconv.Quote(v))
			case []byte:
				b.WriteString("base64:" + base64.StdEncoding.EncodeToString(v))
			case float64:
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			default:
				fmt.Fprint(&b, v)
			}
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// TestGolden decodes each testdata/*.json and compares the message with its
// .golden file; go test -update rewrites them. The first line records
// whether Detect recognised the object as Heka JSON.
func TestGolden(t *testing.T) {
	for _, file := range cases(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var plain metlog.Message
			if err := metlogjson.Decode(data, &plain); err != nil {
				t.Fatal(err)
			}
			detected := Detect(&plain)
			var m metlog.Message
			if err := Decode(data, &m); err != nil {
				t.Fatal(err)
			}
			got := dump(detected, &m)
			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("decoded message differs from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestTimestamp(t *testing.T) {
	const ns = int64(1795312169187659000)
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{`1795312169187659000`, ns, true},
		{`1795312169187659`, ns, true},
		{`1795312169187`, ns / 1e6 * 1e6, true},
		{`1795312169`, ns / 1e9 * 1e9, true},
		{`1795312169.5`, 1795312169500000000, true},
		{`"2026-11-22T01:49:29.187659Z"`, ns, true},
		{`"2026-11-22T02:49:29.187659+01:00"`, ns, true},
		{`-5`, -5e9, true},
		{`99999999999`, 0, false}, // seconds beyond 2262
		{`100000000000`, 100000000000 * 1e6, true},
		{`"yesterday"`, 0, false},
		{`"9999-01-01T00:00:00Z"`, 0, false},
		{`1e300`, 0, false},
		{`true`, 0, false},
		{`18446744073709551616`, 0, false},
	} {
		var m metlog.Message
		if err := Decode([]byte(`{"Type":"t","Timestamp":`+tc.in+`}`), &m); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		left := m.Field("@Timestamp") != nil
		if m.Timestamp != tc.want || left == tc.ok {
			t.Errorf("Timestamp %s: got %d (kept as field: %v), want %d (ok %v)", tc.in, m.Timestamp, left, tc.want, tc.ok)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`{"Timestamp":1}`, true},
		{`{"Fields":{"a":1}}`, true},
		{`{"Pid":1,"x":2}`, true},
		{`{"Fields":null}`, true},
		{`{}`, false},
		{`{"Other":1}`, false},
		{`{"type":"x","Type":"y"}`, false},
		{`{"timestamp":"2026-01-01T00:00:00Z","Logger":"y"}`, false},
		{`{"fields":{"@Type":"x"}}`, true}, // indistinguishable once decoded
	} {
		var m metlog.Message
		if err := metlogjson.Decode([]byte(tc.in), &m); err != nil {
			t.Fatal(err)
		}
		if got := Detect(&m); got != tc.want {
			t.Errorf("Detect(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestReuse decodes different messages into one Message: nothing of an
// earlier one may survive into a later one.
func TestReuse(t *testing.T) {
	var m metlog.Message
	files := cases(t)
	for range 2 {
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := Decode(data, &m); err != nil {
				t.Fatal(err)
			}
			var fresh metlog.Message
			if err := Decode(data, &fresh); err != nil {
				t.Fatal(err)
			}
			if !m.Equal(&fresh) {
				t.Errorf("%s: decoding into a used message gives\n%s\nwant\n%s", file, dump(true, &m), dump(true, &fresh))
			}
		}
	}
}
