package metlog

import (
	"context"
	"testing"
)

// discardSender accepts and forgets every batch.
type discardSender struct{}

func (discardSender) Send(context.Context, []*Message) error { return nil }
func (discardSender) Close() error                           { return nil }

func BenchmarkIncr(b *testing.B) {
	c := New(discardSender{}, WithLogger("bench"), WithQueueSize(256))
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		c.Incr("page_views")
	}
	b.StopTimer()
	st := c.Stats()
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "drops/op")
}

func BenchmarkTimerStop(b *testing.B) {
	c := New(discardSender{}, WithLogger("bench"), WithQueueSize(256))
	defer c.Close()
	b.ReportAllocs()
	for b.Loop() {
		c.Timer("db_query").Stop()
	}
	b.StopTimer()
	st := c.Stats()
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "drops/op")
}
