package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// start runs an input on free loopback ports until the test ends.
func start(t *testing.T, cfg Config, sink input.Sink) *Input {
	t.Helper()
	cfg.HTTPAddress, cfg.GRPCAddress = "127.0.0.1:0", "127.0.0.1:0"
	in, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, sink) }()
	running.Add(1)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if running.Add(-1) > 0 {
			return // another input's goroutines are still about
		}
		g := leaked()
		for i := 0; len(g) > 0 && i < 100; i++ { // a connection may still be closing
			time.Sleep(10 * time.Millisecond)
			g = leaked()
		}
		if len(g) > 0 {
			t.Errorf("goroutines left after Run returned:\n%s", strings.Join(g, "\n\n"))
		}
	})
	return in
}

// running counts the inputs tests have started and not stopped.
var running atomic.Int32

// leaked returns the stacks of the goroutines still running the input's
// code or its servers. Run waits for all of them, so once the last input
// has returned there must be none.
func leaked() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "input/otlp.(*Input)") || strings.Contains(g, "grpc.(*Server)") ||
			strings.Contains(g, "net/http.(*Server)") || strings.Contains(g, "net/http.(*conn).serve") {
			out = append(out, g)
		}
	}
	return out
}

func logsRequest(bodies ...string) *collogspb.ExportLogsServiceRequest {
	var recs []*logspb.LogRecord
	for _, b := range bodies {
		recs = append(recs, &logspb.LogRecord{TimeUnixNano: 1700000000e9, SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_WARN,
			Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: b}}})
	}
	return &collogspb.ExportLogsServiceRequest{ResourceLogs: []*logspb.ResourceLogs{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{{Key: "service.name",
			Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "svc"}}}}},
		ScopeLogs: []*logspb.ScopeLogs{{LogRecords: recs}},
	}}}
}

func metricsRequest(metrics ...*metricspb.Metric) *colmetricspb.ExportMetricsServiceRequest {
	return &colmetricspb.ExportMetricsServiceRequest{ResourceMetrics: []*metricspb.ResourceMetrics{{
		ScopeMetrics: []*metricspb.ScopeMetrics{{Metrics: metrics}},
	}}}
}

func gaugeMetric(name string, v float64) *metricspb.Metric {
	return &metricspb.Metric{Name: name, Data: &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{DataPoints: []*metricspb.NumberDataPoint{
		{TimeUnixNano: 1700000000e9, Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: v}}}}}}
}

type response struct {
	code        int
	contentType string
	body        []byte
}

func post(t *testing.T, in *Input, path, ctype, encoding string, body []byte) response {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+in.HTTPAddr().String()+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestHTTPLogsProtobuf(t *testing.T) {
	sink := &inputtest.Sink{}
	in := start(t, Defaults(), sink)
	body, _ := proto.Marshal(logsRequest("a", "b"))
	r := post(t, in, LogsPath, ContentTypeProtobuf, "", body)
	if r.code != 200 || r.contentType != ContentTypeProtobuf {
		t.Fatalf("%d %s %q", r.code, r.contentType, r.body)
	}
	var resp collogspb.ExportLogsServiceResponse
	if err := proto.Unmarshal(r.body, &resp); err != nil || resp.PartialSuccess != nil {
		t.Fatalf("%v %v", err, &resp)
	}
	msgs := sink.Messages()
	if len(msgs) != 2 || msgs[1].Payload != "b" || msgs[0].Logger != "svc" || msgs[0].Severity != metlog.Warning || !sink.Options()[0].Durable {
		t.Errorf("got %+v", msgs)
	}
	if c := in.Counters().Snapshot(); c.Received != 2 {
		t.Errorf("counters %+v", c)
	}
}

func TestHTTPMetricsJSONGzip(t *testing.T) {
	sink := &inputtest.Sink{}
	in := start(t, Defaults(), sink)
	body, _ := MarshalJSON(metricsRequest(gaugeMetric("temp", 21.5)))
	r := post(t, in, MetricsPath, "application/json; charset=utf-8", "gzip", gzipped(body))
	if r.code != 200 || r.contentType != ContentTypeJSON {
		t.Fatalf("%d %s %q", r.code, r.contentType, r.body)
	}
	msgs := sink.Messages()
	if len(msgs) != 1 || msgs[0].Type != metlog.TypeGauge || msgs[0].Payload != "21.5" {
		t.Errorf("got %+v", msgs)
	}
}

func TestHTTPPartialSuccess(t *testing.T) {
	sink := &inputtest.Sink{}
	in := start(t, Defaults(), sink)
	summary := &metricspb.Metric{Name: "s", Data: &metricspb.Metric_Summary{Summary: &metricspb.Summary{
		DataPoints: []*metricspb.SummaryDataPoint{{Count: 1}, {Count: 2}}}}}
	body, _ := proto.Marshal(metricsRequest(gaugeMetric("g", 1), summary))
	r := post(t, in, MetricsPath, ContentTypeProtobuf, "", body)
	var resp colmetricspb.ExportMetricsServiceResponse
	if err := proto.Unmarshal(r.body, &resp); err != nil || r.code != 200 {
		t.Fatalf("%d %v", r.code, err)
	}
	if ps := resp.PartialSuccess; ps == nil || ps.RejectedDataPoints != 2 || !strings.Contains(ps.ErrorMessage, "summaries") {
		t.Errorf("partial success %v", ps)
	}
	if len(sink.Messages()) != 1 {
		t.Errorf("got %d messages", len(sink.Messages()))
	}
}

// failingSink fails every delivery, as a journal that stays full does.
type failingSink struct{}

func (failingSink) Deliver(ctx context.Context, _ []*metlog.Message, _ input.DeliverOptions) error {
	return context.DeadlineExceeded
}

func TestHTTPErrors(t *testing.T) {
	cfg := Defaults()
	cfg.MaxBodySize = 1000
	in := start(t, cfg, &inputtest.Sink{})
	full := start(t, cfg, failingSink{})
	logs, _ := proto.Marshal(logsRequest("x"))
	big, _ := proto.Marshal(logsRequest(strings.Repeat("x", 2000)))
	for _, tc := range []struct {
		name     string
		in       *Input
		path     string
		ctype    string
		encoding string
		body     []byte
		code     int
		grpcCode codes.Code
	}{
		{"content type", in, LogsPath, "text/plain", "", logs, 415, codes.InvalidArgument},
		{"no content type", in, LogsPath, "", "", logs, 415, codes.InvalidArgument},
		{"encoding", in, LogsPath, ContentTypeProtobuf, "br", logs, 415, codes.InvalidArgument},
		{"bad protobuf", in, LogsPath, ContentTypeProtobuf, "", []byte{0xff, 0xff}, 400, codes.InvalidArgument},
		{"bad json", in, MetricsPath, ContentTypeJSON, "", []byte(`{"resourceMetrics": 3}`), 400, codes.InvalidArgument},
		{"bad hex id", in, LogsPath, ContentTypeJSON, "", []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}`), 400, codes.InvalidArgument},
		{"bad gzip", in, LogsPath, ContentTypeProtobuf, "gzip", logs, 400, codes.InvalidArgument},
		{"too large", in, LogsPath, ContentTypeProtobuf, "", big, 413, codes.ResourceExhausted},
		{"too large gzipped", in, LogsPath, ContentTypeProtobuf, "gzip", gzipped(big), 413, codes.ResourceExhausted},
		{"journal full", full, LogsPath, ContentTypeProtobuf, "", logs, 503, codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, tc.in, tc.path, tc.ctype, tc.encoding, tc.body)
			if r.code != tc.code {
				t.Fatalf("status %d, want %d: %q", r.code, tc.code, r.body)
			}
			var st spb.Status
			if r.contentType == ContentTypeJSON {
				if err := UnmarshalJSON(r.body, &st); err != nil {
					t.Fatal(err)
				}
			} else if err := proto.Unmarshal(r.body, &st); err != nil {
				t.Fatal(err)
			}
			if codes.Code(st.Code) != tc.grpcCode || st.Message == "" {
				t.Errorf("status %v", &st)
			}
		})
	}
	resp, err := http.Get("http://" + in.HTTPAddr().String() + LogsPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET: %d", resp.StatusCode)
	}
	if c := in.Counters().Snapshot(); c.Rejected["malformed"] != 4 || c.Rejected["too_large"] != 2 {
		t.Errorf("counters %+v", c)
	}
	if c := full.Counters().Snapshot(); c.Dropped != 1 {
		t.Errorf("full counters %+v", c)
	}
}

func TestGRPC(t *testing.T) {
	sink := &inputtest.Sink{}
	in := start(t, Defaults(), sink)
	conn, err := grpc.NewClient(in.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := collogspb.NewLogsServiceClient(conn).Export(ctx, logsRequest("hello")); err != nil {
		t.Fatal(err)
	}
	mresp, err := colmetricspb.NewMetricsServiceClient(conn).Export(ctx, metricsRequest(gaugeMetric("g", 2)))
	if err != nil || mresp.PartialSuccess != nil {
		t.Fatal(err, mresp)
	}
	msgs := sink.Messages()
	if len(msgs) != 2 || msgs[0].Payload != "hello" || msgs[1].Payload != "2" {
		t.Errorf("got %+v", msgs)
	}

	full := start(t, Defaults(), failingSink{})
	conn2, err := grpc.NewClient(full.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	_, err = collogspb.NewLogsServiceClient(conn2).Export(ctx, logsRequest("hello"))
	if status.Code(err) != codes.Unavailable {
		t.Errorf("full journal: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no address", func(c *Config) { c.HTTPAddress, c.GRPCAddress = "", "" }, "set http_address"},
		{"bad address", func(c *Config) { c.GRPCAddress = "nope" }, "grpc_address"},
		{"log type", func(c *Config) { c.LogType = "" }, "log_type"},
		{"body", func(c *Config) { c.MaxBodySize = 0 }, "max_body_size"},
		{"streams", func(c *Config) { c.MaxStreams = 0 }, "max_streams"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Defaults()
			tc.edit(&c)
			err := c.Validate()
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestNewAddressInUse(t *testing.T) {
	in := start(t, Defaults(), &inputtest.Sink{})
	cfg := Defaults()
	cfg.HTTPAddress, cfg.GRPCAddress = "127.0.0.1:0", in.GRPCAddr().String()
	if _, err := New(cfg, slog.Default()); err == nil {
		t.Fatal("a second input on the same gRPC address started")
	}
}

// blockingSink holds every delivery until release is closed.
type blockingSink struct {
	entered chan struct{}
	release chan struct{}
	inputtest.Sink
}

func (s *blockingSink) Deliver(ctx context.Context, msgs []*metlog.Message, opts input.DeliverOptions) error {
	s.entered <- struct{}{}
	<-s.release
	return s.Sink.Deliver(ctx, msgs, opts)
}

// TestStopFinishesRequests stops the input while a request waits for the
// journal: the request still gets its answer, and Run returns after it.
func TestStopFinishesRequests(t *testing.T) {
	sink := &blockingSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
	cfg := Defaults()
	cfg.HTTPAddress, cfg.GRPCAddress = "127.0.0.1:0", ""
	in, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, sink) }()
	codes := make(chan int, 1)
	go func() {
		body, _ := proto.Marshal(logsRequest("x"))
		resp, err := http.Post("http://"+in.HTTPAddr().String()+LogsPath, ContentTypeProtobuf, bytes.NewReader(body))
		if err != nil {
			codes <- 0
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}()
	<-sink.entered
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) while a request was in progress", err)
	default:
	}
	close(sink.release)
	if code := <-codes; code != 200 {
		t.Errorf("status %d", code)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(sink.Messages()) != 1 {
		t.Error("message lost")
	}
}

// Over mutual TLS each message names the client certificate in
// tls_client, and an attribute claiming an identity is dropped.
func TestMutualTLSIdentity(t *testing.T) {
	ca := inputtest.NewCA(t)
	srv := ca.Server()
	cfg := Defaults()
	cfg.TLS = input.TLS{CertFile: srv.CertFile, KeyFile: srv.KeyFile, ClientCAFile: ca.File}
	sink := &inputtest.Sink{}
	in := start(t, cfg, sink)
	req := logsRequest("hello")
	req.ResourceLogs[0].ScopeLogs[0].LogRecords[0].Attributes = []*commonpb.KeyValue{
		{Key: "tls_client", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "admin"}}}}
	body, _ := proto.Marshal(req)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: ca.Pool, Certificates: []tls.Certificate{ca.Client("collector-1").Cert}}}}
	defer client.CloseIdleConnections()
	resp, err := client.Post("https://"+in.HTTPAddr().String()+LogsPath, ContentTypeProtobuf, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	msgs := sink.Messages()
	if resp.StatusCode != 200 || len(msgs) != 1 {
		t.Fatalf("%s, %d messages", resp.Status, len(msgs))
	}
	checkClient := func(m *metlog.Message, want string) {
		t.Helper()
		var names []string
		for _, f := range m.Fields {
			if f.Name == "tls_client" {
				names = append(names, f.Strings[0])
			}
		}
		if len(names) != 1 || names[0] != want {
			t.Errorf("tls_client fields %v, want [%s]", names, want)
		}
	}
	checkClient(msgs[0], "collector-1")

	// gRPC over mutual TLS (it needs the h2 protocol negotiated).
	creds := credentials.NewTLS(&tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{ca.Client("collector-2").Cert}})
	conn, err := grpc.NewClient(in.GRPCAddr().String(), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := collogspb.NewLogsServiceClient(conn).Export(ctx, req); err != nil {
		t.Fatal(err)
	}
	if msgs = sink.Messages(); len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	checkClient(msgs[1], "collector-2")
}
