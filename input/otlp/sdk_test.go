package otlp

import (
	"context"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input/inputtest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// The official OpenTelemetry Go SDK exporters send to the input over each
// transport; what arrives must be what was logged and measured.

func testResource() *resource.Resource {
	return resource.NewSchemaless(semconv.ServiceName("sdk-test"), semconv.HostName("box"), attribute.String("team", "core"))
}

func TestSDKLogs(t *testing.T) {
	for _, transport := range []string{"http", "grpc"} {
		t.Run(transport, func(t *testing.T) {
			sink := &inputtest.Sink{}
			in := start(t, Defaults(), sink)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var exp sdklog.Exporter
			var err error
			if transport == "http" {
				exp, err = otlploghttp.New(ctx, otlploghttp.WithEndpoint(in.HTTPAddr().String()), otlploghttp.WithInsecure())
			} else {
				exp, err = otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(in.GRPCAddr().String()), otlploggrpc.WithInsecure(),
					otlploggrpc.WithCompressor("gzip"))
			}
			if err != nil {
				t.Fatal(err)
			}
			lp := sdklog.NewLoggerProvider(sdklog.WithResource(testResource()), sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
			defer lp.Shutdown(context.Background())
			var r otellog.Record
			ts := time.Unix(1700000000, 5)
			r.SetTimestamp(ts)
			r.SetSeverity(otellog.SeverityError)
			r.SetSeverityText("error")
			r.SetBody(attribute.StringValue("disk full"))
			r.AddAttributes(attribute.String("path", "/var"), attribute.Int("free", 0), attribute.StringSlice("disks", []string{"a", "b"}))
			lp.Logger("scope-a", otellog.WithInstrumentationVersion("v1")).Emit(ctx, r)
			if err := lp.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}
			msgs, err := sink.Wait(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[0]
			if m.Type != "oldstyle" || m.Logger != "sdk-test" || m.Hostname != "box" || m.Severity != metlog.Error ||
				m.Payload != "disk full" || m.Timestamp != ts.UnixNano() {
				t.Errorf("envelope %+v", m)
			}
			want := map[string]any{"resource.team": "core", "scope.name": "scope-a", "scope.version": "v1",
				"path": "/var", "free": int64(0), "severity_text": "error"}
			for name, v := range want {
				if f := m.Field(name); f == nil || f.Value(0) != v {
					t.Errorf("field %s = %+v, want %v", name, f, v)
				}
			}
			if f := m.Field("disks"); f == nil || f.Len() != 2 || f.Strings[1] != "b" {
				t.Errorf("disks %+v", f)
			}
		})
	}
}

func TestSDKMetrics(t *testing.T) {
	for _, transport := range []string{"http cumulative", "grpc delta"} {
		t.Run(transport, func(t *testing.T) {
			sink := &inputtest.Sink{}
			in := start(t, Defaults(), sink)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var exp sdkmetric.Exporter
			var err error
			if transport == "http cumulative" {
				exp, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(in.HTTPAddr().String()), otlpmetrichttp.WithInsecure(),
					otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
			} else {
				exp, err = otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(in.GRPCAddr().String()), otlpmetricgrpc.WithInsecure(),
					otlpmetricgrpc.WithTemporalitySelector(sdkmetric.DeltaTemporalitySelector))
			}
			if err != nil {
				t.Fatal(err)
			}
			// The interval is long: ForceFlush does the exporting.
			reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(testResource()), sdkmetric.WithReader(reader))
			defer mp.Shutdown(context.Background())
			meter := mp.Meter("m")
			counter, _ := meter.Int64Counter("jobs", metric.WithUnit("1"))
			hist, _ := meter.Float64Histogram("latency")
			gauge, _ := meter.Float64Gauge("temp")
			route := metric.WithAttributes(attribute.String("route", "/a"))

			counter.Add(ctx, 3, route)
			hist.Record(ctx, 5, route)
			hist.Record(ctx, 50, route)
			gauge.Record(ctx, 21.5)
			if err := mp.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}
			counter.Add(ctx, 4, route)
			hist.Record(ctx, 7, route)
			if err := mp.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}
			var counts []string
			var histCounts []int64
			var gauges []string
			for _, m := range sink.Messages() {
				if m.Logger != "sdk-test" {
					t.Errorf("logger %q", m.Logger)
				}
				switch name := m.Field("name").Strings[0]; {
				case name == "jobs" && m.Type == metlog.TypeCounter:
					counts = append(counts, m.Payload)
					if f := m.Field("route"); f == nil || f.Strings[0] != "/a" {
						t.Errorf("route %+v", m.Fields)
					}
				case name == "latency" && m.Type == TypeHistogram:
					histCounts = append(histCounts, m.Field(FieldCount).Integers[0])
				case name == "temp" && m.Type == metlog.TypeGauge:
					gauges = append(gauges, m.Payload)
				default:
					t.Errorf("unexpected %s %s", m.Type, name)
				}
			}
			// A cumulative exporter repeats the gauge and the histogram; the
			// increments are the same either way.
			if len(counts) != 2 || counts[0] != "3" || counts[1] != "4" {
				t.Errorf("counter increments %v, want [3 4]", counts)
			}
			if len(histCounts) != 2 || histCounts[0] != 2 || histCounts[1] != 1 {
				t.Errorf("histogram counts %v, want [2 1]", histCounts)
			}
			if len(gauges) == 0 || gauges[0] != "21.5" {
				t.Errorf("gauges %v", gauges)
			}
		})
	}
}
