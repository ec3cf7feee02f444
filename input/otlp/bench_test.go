package otlp

import (
	"strconv"
	"testing"

	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/protobuf/proto"
)

func strAttr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

// BenchmarkLogs decodes a protobuf request of 100 log records, each with
// four attributes and a trace context, and maps it: the work of one
// OTLP/HTTP logs request before the journal.
func BenchmarkLogs(b *testing.B) {
	req := logsRequest()
	for i := range 100 {
		req.ResourceLogs[0].ScopeLogs[0].LogRecords = append(req.ResourceLogs[0].ScopeLogs[0].LogRecords, &logspb.LogRecord{
			TimeUnixNano: 1700000000e9 + uint64(i), SeverityNumber: 9,
			Body:       &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "GET /api/orders/" + strconv.Itoa(i) + " 200"}},
			Attributes: []*commonpb.KeyValue{strAttr("http.method", "GET"), strAttr("http.route", "/api/orders/{id}"), strAttr("user", "u"+strconv.Itoa(i)), strAttr("region", "eu")},
			TraceId:    make([]byte, 16), SpanId: make([]byte, 8)})
	}
	data, _ := proto.Marshal(req)
	in := testInput(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var r collogspb.ExportLogsServiceRequest
		if err := proto.Unmarshal(data, &r); err != nil {
			b.Fatal(err)
		}
		if len(in.logMessages(r.ResourceLogs)) != 100 {
			b.Fatal("lost records")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/record")
}

// BenchmarkMetrics decodes and maps a protobuf request of 100 cumulative
// sum points (10 metrics × 10 series), each turned into an increment.
func BenchmarkMetrics(b *testing.B) {
	var metrics []*metricspb.Metric
	for m := range 10 {
		var dps []*metricspb.NumberDataPoint
		for s := range 10 {
			dps = append(dps, &metricspb.NumberDataPoint{StartTimeUnixNano: 1800000000e9, TimeUnixNano: 1800000010e9,
				Value: &metricspb.NumberDataPoint_AsInt{AsInt: int64(s)}, Attributes: []*commonpb.KeyValue{strAttr("route", "/r"+strconv.Itoa(s))}})
		}
		metrics = append(metrics, &metricspb.Metric{Name: "m" + strconv.Itoa(m), Data: &metricspb.Metric_Sum{Sum: &metricspb.Sum{
			AggregationTemporality: metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE, IsMonotonic: true, DataPoints: dps}}})
	}
	data, _ := proto.Marshal(metricsRequest(metrics...))
	in := testInput(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var r colmetricspb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(data, &r); err != nil {
			b.Fatal(err)
		}
		if len(in.metricMessages(r.ResourceMetrics).msgs) != 100 {
			b.Fatal("lost points")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/point")
}
