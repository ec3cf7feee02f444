package otlp

import (
	"strconv"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output/outputtest"
	"google.golang.org/protobuf/proto"
)

// BenchmarkLogsRequest encodes a batch of 100 log messages with four
// fields each as an OTLP request, protobuf bytes included.
func BenchmarkLogsRequest(b *testing.B) {
	var batch []*metlog.Message
	for i := range 100 {
		batch = append(batch, &metlog.Message{UUID: metlog.NewUUID(), Timestamp: 1700000000e9 + int64(i), Type: "oldstyle",
			Logger: "app", Hostname: "web-1", Pid: 42, Severity: metlog.Info, Payload: "GET /api/orders/" + strconv.Itoa(i) + " 200",
			Fields: []metlog.Field{metlog.String("http.method", "GET"), metlog.String("http.route", "/api/orders/{id}"),
				metlog.Int("status", 200), metlog.Float("duration", 0.012)}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := proto.Marshal(logsRequest(batch)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/msg")
}

// BenchmarkMetricsRequest aggregates a batch of 100 metric messages (60
// counters and 40 timers over 10 series) into an OTLP request.
func BenchmarkMetricsRequest(b *testing.B) {
	var batch []*metlog.Message
	for i := range 100 {
		typ := metlog.TypeCounter
		if i%5 >= 3 {
			typ = metlog.TypeTimer
		}
		batch = append(batch, outputtest.Metric(typ, "app", "m"+strconv.Itoa(i%10), strconv.Itoa(i), metlog.String("region", "eu")))
	}
	o, err := New(Defaults(), discard())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		mb := o.newMetricBatch()
		for _, m := range batch {
			mb.add(m)
		}
		if _, err := proto.Marshal(mb.req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/msg")
}
