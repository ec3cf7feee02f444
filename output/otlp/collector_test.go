package otlp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/metlog/metlog"
	otlpin "github.com/metlog/metlog/input/otlp"
	"github.com/metlog/metlog/internal/testenv"
	"github.com/metlog/metlog/output"
	"github.com/metlog/metlog/output/outputtest"
)

// collectorPath is where `make otelcol` builds the collector, relative to
// the module root.
const collectorPath = "testdeps/otelcol/build/otelcol-metlog-test"

// startCollector runs an OpenTelemetry Collector whose OTLP/HTTP receiver
// writes what it gets to logs.jsonl and metrics.jsonl in dir.
func startCollector(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(testenv.ModuleRoot(t), collectorPath)
	if _, err := os.Stat(bin); err != nil {
		t.Skip("SKIPPED: the OpenTelemetry Collector is not built (`make otelcol`, which `make deps` runs, builds it into " + collectorPath + ")")
	}
	addr := "127.0.0.1:" + outputtest.FreePort(t, "tcp")
	cfg := fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      http:
        endpoint: %q
exporters:
  file/logs:
    path: %q
    flush_interval: 100ms
  file/metrics:
    path: %q
    flush_interval: 100ms
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file/logs]
    metrics:
      receivers: [otlp]
      exporters: [file/metrics]
`, addr, filepath.Join(dir, "logs.jsonl"), filepath.Join(dir, "metrics.jsonl"))
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	p := outputtest.StartProcess(t, "otelcol", exec.Command(bin, "--config", cfgFile))
	p.WaitReady(t, 60*time.Second, func() bool { return outputtest.Listening(addr) })
	return "http://" + addr
}

// waitLines waits until file holds at least n lines and returns them.
func waitLines(t *testing.T, file string, n int) [][]byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, _ := os.ReadFile(file)
		var lines [][]byte
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				lines = append(lines, bytes.Clone(sc.Bytes()))
			}
		}
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d lines after 20s, want %d", file, len(lines), n)
		}
		time.Sleep(50 * time.Millisecond) // the file exporter gives no other signal
	}
}

// TestCollector sends messages to a real OpenTelemetry Collector, reads
// what its file exporter wrote (OTLP/JSON), posts that to the otlp input
// and compares what arrives with what was sent.
func TestCollector(t *testing.T) {
	dir := t.TempDir()
	endpoint := startCollector(t, dir)
	o := newOutput(t, endpoint, nil)

	logs := []*metlog.Message{
		{UUID: metlog.NewUUID(), Timestamp: 1700000000123456789, Type: "oldstyle", Logger: "app", Severity: metlog.Error,
			Payload: "payment failed", EnvVersion: metlog.EnvVersion, Pid: 7, Hostname: "web-1",
			Fields: []metlog.Field{
				metlog.String("scope.name", "billing"),
				metlog.String("order", "A-1"),
				metlog.Int("amount", 1250),
				metlog.Float("ratio", 0.5),
				metlog.Bool("retry", true),
				metlog.Strings("tags", "x", "y"),
				metlog.String(otlpin.FieldTraceID, "5b8efff798038103d269b633813fc60c"),
				metlog.String(otlpin.FieldSpanID, "eee19b7ec3c1b174"),
			}},
		{UUID: metlog.NewUUID(), Timestamp: 1700000001000000000, Type: "exception", Logger: "app", Severity: metlog.Critical,
			Payload: `{"error":"boom"}`, EnvVersion: metlog.EnvVersion, Pid: 7, Hostname: "web-1",
			Fields: []metlog.Field{metlog.String(metlog.PayloadTypeField, "json").WithRepresentation(metlog.RepresentationJSON)}},
	}
	metrics := []*metlog.Message{
		outputtest.Metric(metlog.TypeCounter, "app", "jobs", "2", metlog.String("queue", "a")),
		outputtest.Metric(metlog.TypeCounter, "app", "jobs", "5", metlog.String("queue", "a")),
		outputtest.Metric(metlog.TypeGauge, "app", "depth", "12"),
		outputtest.Metric(metlog.TypeTimer, "app", "run", "30"),
		outputtest.Metric(metlog.TypeTimer, "app", "run", "3000"),
	}
	for _, m := range metrics {
		m.Timestamp = 1700000002e9
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := o.Write(ctx, append(logs, metrics...)); err != nil {
		t.Fatal(err)
	}

	in, sink := startInput(t)
	repost := func(path, file string) {
		for _, line := range waitLines(t, file, 1) {
			resp, err := http.Post("http://"+in.HTTPAddr().String()+path, otlpin.ContentTypeJSON, bytes.NewReader(line))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("posting the collector's %s: %s", filepath.Base(file), resp.Status)
			}
		}
	}
	repost(otlpin.LogsPath, filepath.Join(dir, "logs.jsonl"))
	got := sink.Messages()
	if len(got) != len(logs) {
		t.Fatalf("got %d log messages, want %d", len(got), len(logs))
	}
	for i, want := range logs {
		if !got[i].Equal(want) {
			t.Errorf("log %d through the collector\n got %+v\nwant %+v", i, got[i], want)
		}
	}

	repost(otlpin.MetricsPath, filepath.Join(dir, "metrics.jsonl"))
	byName := map[string]*metlog.Message{}
	for _, m := range sink.Messages()[len(logs):] {
		byName[m.Type+" "+output.MetricName(m)] = m
	}
	if m := byName["counter jobs"]; m == nil || m.Payload != "7" || m.Field("queue") == nil || m.Logger != "app" {
		t.Errorf("counter: %+v", m)
	}
	if m := byName["gauge depth"]; m == nil || m.Payload != "12" {
		t.Errorf("gauge: %+v", m)
	}
	m := byName["histogram run"]
	if m == nil || m.Payload != "2" {
		t.Fatalf("timer histogram: %+v", m)
	}
	if f := m.Field(otlpin.FieldSum); f == nil || f.Doubles[0] != 3030 {
		t.Errorf("timer sum %+v", f)
	}
	if f := m.Field(otlpin.FieldMax); f == nil || f.Doubles[0] != 3000 {
		t.Errorf("timer max %+v", f)
	}
}
