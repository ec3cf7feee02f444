package otlp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input/inputtest"
	otlpin "github.com/metlog/metlog/input/otlp"
	"github.com/metlog/metlog/output"
	"github.com/metlog/metlog/output/outputtest"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startInput runs an otlp input (HTTP only) on a free loopback port.
func startInput(t testing.TB) (*otlpin.Input, *inputtest.Sink) {
	t.Helper()
	cfg := otlpin.Defaults()
	cfg.HTTPAddress, cfg.GRPCAddress = "127.0.0.1:0", ""
	in, err := otlpin.New(cfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	sink := &inputtest.Sink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, sink) }()
	t.Cleanup(func() { cancel(); <-done })
	return in, sink
}

func newOutput(t testing.TB, endpoint string, edit func(*Config)) *Output {
	t.Helper()
	cfg := Defaults()
	cfg.Endpoint = endpoint
	if edit != nil {
		edit(&cfg)
	}
	o, err := New(cfg, discard())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// TestLogsRoundTrip sends log messages through the output into the otlp
// input: they must come back as they were.
func TestLogsRoundTrip(t *testing.T) {
	in, sink := startInput(t)
	for _, compression := range []string{"gzip", "none"} {
		t.Run(compression, func(t *testing.T) {
			o := newOutput(t, "http://"+in.HTTPAddr().String(), func(c *Config) { c.Compression = compression })
			before := len(sink.Messages())
			batch := []*metlog.Message{
				{UUID: metlog.NewUUID(), Timestamp: 1700000000123456789, Type: "oldstyle", Logger: "app", Severity: metlog.Warning,
					Payload: "disk almost full", EnvVersion: metlog.EnvVersion, Pid: 42, Hostname: "web-1",
					Fields: []metlog.Field{
						metlog.String("resource.deployment", "prod"),
						metlog.String("scope.name", "db"),
						metlog.String("path", "/var"),
						metlog.Int("free", 3),
						metlog.Float("ratio", 0.97),
						metlog.Bool("ok", false),
						metlog.Bytes("raw", []byte{0, 1}),
						metlog.Strings("tags", "a", "b"),
						metlog.String("one", "[1]").WithRepresentation(metlog.RepresentationJSON),
						metlog.String(otlpin.FieldTraceID, "5b8efff798038103d269b633813fc60c"),
						metlog.String(otlpin.FieldSpanID, "eee19b7ec3c1b174"),
						metlog.String(otlpin.FieldSeverityText, "WARN"),
					}},
				{UUID: metlog.NewUUID(), Timestamp: 1700000001000000000, Type: "exception", Logger: "app", Severity: metlog.Critical,
					Payload: `{"code":7,"msg":"x"}`, EnvVersion: metlog.EnvVersion, Pid: 42, Hostname: "web-1",
					Fields: []metlog.Field{metlog.String(metlog.PayloadTypeField, "json").WithRepresentation(metlog.RepresentationJSON)}},
				{UUID: metlog.NewUUID(), Timestamp: 1700000002000000000, Type: "counter", Logger: "other", Severity: metlog.Debug,
					Payload: "not a number, so sent as a log", EnvVersion: metlog.EnvVersion},
			}
			if err := o.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			got := sink.Messages()[before:]
			if len(got) != len(batch) {
				t.Fatalf("got %d messages", len(got))
			}
			for i, want := range batch {
				if !got[i].Equal(want) {
					t.Errorf("message %d\n got %+v\nwant %+v", i, got[i], want)
				}
			}
		})
	}
}

// TestMetricsRoundTrip sends metric messages through the output into the
// otlp input.
func TestMetricsRoundTrip(t *testing.T) {
	in, sink := startInput(t)
	o := newOutput(t, "http://"+in.HTTPAddr().String(), nil)
	region := metlog.String("region", "eu")
	batch := []*metlog.Message{
		outputtest.Metric(metlog.TypeCounter, "app", "hits", "2", region),
		outputtest.Metric(metlog.TypeCounter, "app", "hits", "3", region),
		outputtest.Metric(metlog.TypeCounter, "app", "hits", "1", region, metlog.Float("rate", 0.5)),
		outputtest.Metric(metlog.TypeCounter, "app", "hits", "7", metlog.String("region", "us")),
		outputtest.Metric(metlog.TypeGauge, "app", "temp", "20"),
		outputtest.Metric(metlog.TypeGauge, "app", "temp", "+1.5"),
		outputtest.Metric(metlog.TypeTimer, "app", "db", "4"),
		outputtest.Metric(metlog.TypeTimer, "app", "db", "40"),
		outputtest.Metric(metlog.TypeTimer, "app", "db", "400"),
		outputtest.Metric(metlog.TypeCounter, "app", "", "1"), // no name: sent as a log
	}
	for _, m := range batch {
		m.Timestamp = 1700000000e9
	}
	if err := o.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	got := map[string]*metlog.Message{}
	for _, m := range sink.Messages() {
		key := m.Type + " " + output.MetricName(m)
		if f := m.Field("region"); f != nil {
			key += " " + f.Strings[0]
		}
		got[key] = m
	}
	for key, payload := range map[string]string{"counter hits eu": "7", "counter hits us": "7", "gauge temp": "21.5", "histogram db": "3"} {
		if m := got[key]; m == nil || m.Payload != payload {
			t.Errorf("%s: %+v, want payload %s", key, m, payload)
		}
	}
	if m := got["counter "]; m == nil || m.Payload != "1" {
		t.Errorf("the counter without a name: %+v", m)
	}
	if len(got) != 5 {
		t.Errorf("got %d series: %v", len(got), got)
	}
	h := got["histogram db"]
	if h == nil {
		t.Fatal("no histogram")
	}
	if f := h.Field(otlpin.FieldSum); f == nil || f.Doubles[0] != 444 {
		t.Errorf("sum %+v", f)
	}
	if f := h.Field(otlpin.FieldBuckets); f == nil || f.Integers[0] != 1 || f.Integers[3] != 1 || f.Integers[6] != 1 {
		t.Errorf("buckets %+v", f)
	}
	if h.Field("name").Representation != "ms" {
		t.Errorf("unit %q", h.Field("name").Representation)
	}

	// A later +N changes the value sent last.
	m := outputtest.Metric(metlog.TypeGauge, "app", "temp", "-0.5")
	if err := o.Write(context.Background(), []*metlog.Message{m}); err != nil {
		t.Fatal(err)
	}
	all := sink.Messages()
	if last := all[len(all)-1]; last.Payload != "21" {
		t.Errorf("gauge after -0.5: %q", last.Payload)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
	}{{400, true}, {404, true}, {413, true}, {429, false}, {500, false}, {502, false}, {503, false}, {504, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := proto.Marshal(status.New(codes.InvalidArgument, "no thanks").Proto())
			w.WriteHeader(tc.status)
			w.Write(b)
		}))
		o := newOutput(t, srv.URL, nil)
		err := o.Write(context.Background(), []*metlog.Message{{Type: "oldstyle", Payload: "x"}})
		if err == nil || output.IsPermanent(err) != tc.permanent {
			t.Errorf("%d: %v (permanent %v)", tc.status, err, output.IsPermanent(err))
		}
		srv.Close()
	}
	o := newOutput(t, "http://127.0.0.1:1", nil)
	if err := o.Write(context.Background(), []*metlog.Message{{Type: "oldstyle"}}); err == nil || output.IsPermanent(err) {
		t.Errorf("connection refused: %v", err)
	}
}

func TestPartialSuccess(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b []byte
		if r.URL.Path == otlpin.LogsPath {
			b, _ = proto.Marshal(&collogspb.ExportLogsServiceResponse{PartialSuccess: &collogspb.ExportLogsPartialSuccess{RejectedLogRecords: 2, ErrorMessage: "bad"}})
		} else {
			b, _ = proto.Marshal(&colmetricspb.ExportMetricsServiceResponse{PartialSuccess: &colmetricspb.ExportMetricsPartialSuccess{RejectedDataPoints: 1}})
		}
		w.Header().Set("Content-Type", otlpin.ContentTypeProtobuf)
		w.Write(b)
	}))
	defer srv.Close()
	o := newOutput(t, srv.URL, nil)
	err := o.Write(context.Background(), []*metlog.Message{{Type: "oldstyle"}, outputtest.Metric(metlog.TypeCounter, "a", "n", "1")})
	if err != nil {
		t.Fatal(err)
	}
	if rejected := o.Rejected(); rejected != 3 {
		t.Errorf("rejected %d", rejected)
	}
}

// TestMetricsOff sends metric messages as log records, with the
// configured headers.
func TestMetricsOff(t *testing.T) {
	var paths, keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		keys = append(keys, r.Header.Get("X-Api-Key"))
	}))
	defer srv.Close()
	o := newOutput(t, srv.URL, func(c *Config) { c.Metrics = false; c.Headers = map[string]string{"X-Api-Key": "k1"} })
	if err := o.Write(context.Background(), []*metlog.Message{outputtest.Metric(metlog.TypeCounter, "a", "n", "1")}); err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 || paths[0] != otlpin.LogsPath || keys[0] != "k1" {
		t.Errorf("paths %v, API keys %v", paths, keys)
	}
}

func TestStatMetric(t *testing.T) {
	b := newOutput(t, "http://127.0.0.1:1", nil).newMetricBatch()
	b.add(&metlog.Message{Type: "statmetric", Timestamp: 5, Logger: "statsd", Payload: "stats.x 1 0\nstats.y 2 0\n",
		Fields: []metlog.Field{metlog.Float("stats.x", 1), metlog.Float("stats.y", 2)}})
	ms := b.req.ResourceMetrics[0].ScopeMetrics[0].Metrics
	if len(ms) != 2 || ms[1].Name != "stats.y" || ms[1].Data.(*metricspb.Metric_Gauge).Gauge.DataPoints[0].GetAsDouble() != 2 {
		t.Errorf("metrics %v", ms)
	}
}

func TestSample(t *testing.T) {
	outputtest.CheckSample(t, "otlp", Sample(), Defaults)
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"endpoint", func(c *Config) { c.Endpoint = "127.0.0.1:4318" }, false},
		{"path", func(c *Config) { c.LogsPath = "v1/logs" }, false},
		{"compression", func(c *Config) { c.Compression = "zstd" }, false},
		{"buckets order", func(c *Config) { c.TimerBuckets = []float64{2, 1} }, false},
		{"buckets repeat", func(c *Config) { c.TimerBuckets = []float64{1, 1} }, false},
		{"no buckets", func(c *Config) { c.TimerBuckets = nil }, true},
	} {
		c := Defaults()
		tc.edit(&c)
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestConfigHeaders(t *testing.T) {
	cat := config.Catalog{config.KindOutput: {"otlp": func() any { c := Defaults(); return &c }}}
	cfg, err := config.Parse("t.toml", []byte("[output.vendor]\ntype = \"otlp\"\nendpoint = \"https://otlp.example.com\"\n[output.vendor.headers]\nX-Api-Key = \"secret\"\n"), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Of(config.KindOutput)[0].Config.(*Config)
	if c.Headers["X-Api-Key"] != "secret" || c.Endpoint != "https://otlp.example.com" {
		t.Errorf("config %+v", c)
	}
}
