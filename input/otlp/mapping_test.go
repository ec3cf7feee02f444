package otlp

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata")

// testInput returns an input with no listeners, whose cumulative streams
// count as new when they started at or after 1700000000 s.
func testInput(t testing.TB) *Input {
	t.Helper()
	cfg := Defaults()
	in := &Input{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		streams: newStreams(time.Unix(1700000000, 0), cfg.StreamExpiry.D(), cfg.MaxStreams)}
	return in
}

// renderedField and renderedMessage show a message with every field's
// type, for golden files.
type renderedField struct {
	Name           string `json:"name"`
	Type           string `json:"type"`
	Representation string `json:"representation,omitempty"`
	Values         []any  `json:"values"`
}

type renderedMessage struct {
	Timestamp int64           `json:"timestamp"`
	Type      string          `json:"type"`
	Logger    string          `json:"logger"`
	Severity  int32           `json:"severity"`
	Payload   string          `json:"payload"`
	Pid       int32           `json:"pid,omitempty"`
	Hostname  string          `json:"hostname,omitempty"`
	Fields    []renderedField `json:"fields"`
}

func render(msgs []*metlog.Message) []byte {
	var buf bytes.Buffer
	for _, m := range msgs {
		r := renderedMessage{Timestamp: m.Timestamp, Type: m.Type, Logger: m.Logger, Severity: int32(m.Severity),
			Payload: m.Payload, Pid: m.Pid, Hostname: m.Hostname, Fields: []renderedField{}}
		for i := range m.Fields {
			f := &m.Fields[i]
			rf := renderedField{Name: f.Name, Type: f.Type.String(), Representation: f.Representation, Values: []any{}}
			for j := range f.Len() {
				v := f.Value(j)
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				rf.Values = append(rf.Values, v)
			}
			r.Fields = append(r.Fields, rf)
		}
		b, err := json.Marshal(r)
		if err != nil {
			panic(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

// mapFile maps a testdata file of OTLP/JSON requests, one per line, and
// returns the messages and the partial-success messages.
func mapFile(t testing.TB, in *Input, path string) ([]*metlog.Message, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := strings.Contains(filepath.ToSlash(path), "/logs/")
	var msgs []*metlog.Message
	var partial []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if logs {
			req := &collogspb.ExportLogsServiceRequest{}
			if err := UnmarshalJSON(line, req); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			msgs = append(msgs, in.logMessages(req.ResourceLogs)...)
			continue
		}
		req := &colmetricspb.ExportMetricsServiceRequest{}
		if err := UnmarshalJSON(line, req); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		res := in.metricMessages(req.ResourceMetrics)
		msgs = append(msgs, res.msgs...)
		partial = append(partial, res.errs...)
	}
	return msgs, partial
}

// TestGolden maps every testdata/{logs,metrics}/*.jsonl file and compares
// the messages with the .golden file beside it (go test -update rewrites
// them). Partial-success errors are rendered after the messages.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*/*.jsonl")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(path[len("testdata/"):], ".jsonl"), func(t *testing.T) {
			msgs, partial := mapFile(t, testInput(t), path)
			got := render(msgs)
			for _, p := range partial {
				got = append(got, "# rejected: "+p+"\n"...)
			}
			golden := strings.TrimSuffix(path, ".jsonl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n%s", path, golden, got)
			}
		})
	}
}
