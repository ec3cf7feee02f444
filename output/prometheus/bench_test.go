package prometheus

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/metlog/metlog"
)

func benchBatch() []*metlog.Message {
	batch := make([]*metlog.Message, 1000)
	for i := range batch {
		typ, payload := "counter", "1"
		if i%2 == 1 {
			typ, payload = "timer", "12.5"
		}
		batch[i] = &metlog.Message{Type: typ, Logger: "web", Payload: payload, Fields: []metlog.Field{
			metlog.String("name", fmt.Sprintf("requests.%d", i%50)), metlog.Float("rate", 1),
			metlog.String("region", "eu-west"), metlog.Int("code", 200)}}
	}
	return batch
}

// BenchmarkWrite folds batches of 1000 counters and timers (100 series)
// into the metrics.
func BenchmarkWrite(b *testing.B) {
	o := newOutput(b, Defaults())
	batch := benchBatch()
	b.ReportAllocs()
	for b.Loop() {
		o.Write(context.Background(), batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/msg")
}

// BenchmarkScrape serves the text exposition of 100 series, half of them
// histograms.
func BenchmarkScrape(b *testing.B) {
	o := newOutput(b, Defaults())
	o.Write(context.Background(), benchBatch())
	req := httptest.NewRequest("GET", o.Pattern(), nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		o.Handler().ServeHTTP(rec, req)
		io.Copy(io.Discard, rec.Body)
	}
}
