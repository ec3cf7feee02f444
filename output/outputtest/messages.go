// Package outputtest provides what the tests of output plugins share:
// reading messages and golden cases from testdata, a loopback TCP server
// that keeps what each connection sent, and a runner for the real servers
// (carbon-cache, statsd, Prometheus) that interoperability tests start.
package outputtest

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
)

// ReadMessages reads a file of metlog JSON messages, one a line; blank
// lines are skipped.
func ReadMessages(t testing.TB, path string) []*metlog.Message {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*metlog.Message
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		m, err := metlogjson.Unmarshal(sc.Bytes())
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

// Cases runs a subtest for each testdata/cases/NAME/in.jsonl of the
// package under test: write hands its messages to the output as one batch
// and returns what came out, as text, which must equal NAME/want.txt. With
// update set, want.txt is rewritten with it first.
func Cases(t *testing.T, update bool, write func(t *testing.T, batch []*metlog.Message) string) {
	t.Helper()
	ins, err := filepath.Glob("testdata/cases/*/in.jsonl")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, in := range ins {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := write(t, ReadMessages(t, in))
			wantFile := filepath.Join(dir, "want.txt")
			if update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// Metric returns a metric message of type typ ("counter", "timer", "gauge",
// "set") from logger, with name as its "name" field, followed by fields.
func Metric(typ, logger, name, payload string, fields ...metlog.Field) *metlog.Message {
	return &metlog.Message{Type: typ, Logger: logger, Payload: payload,
		Fields: append([]metlog.Field{metlog.String("name", name)}, fields...)}
}
