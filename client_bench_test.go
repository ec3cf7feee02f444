package metlog

import (
	"context"
	"errors"
	"testing"
)

// discardSender accepts and forgets every batch.
type discardSender struct{}

func (discardSender) Send(context.Context, []*Message) error { return nil }
func (discardSender) Close() error                           { return nil }

// benchClient returns a client on a discarding sender; the benchmark
// reports the share of calls dropped because the sender goroutine, which
// builds every message, fell behind.
func benchClient(b *testing.B) *Client {
	c := New(discardSender{}, WithLogger("bench"), WithHostname("bench"))
	b.Cleanup(func() {
		st := c.Stats()
		c.Close()
		b.ReportMetric(float64(st.Dropped)/float64(b.N), "drops/op")
	})
	b.ReportAllocs()
	return c
}

func BenchmarkIncr(b *testing.B) {
	c := benchClient(b)
	for b.Loop() {
		c.Incr("page_views")
	}
}

func BenchmarkTimerStop(b *testing.B) {
	c := benchClient(b)
	for b.Loop() {
		c.Timer("db_query").Stop()
	}
}

func BenchmarkMetlogThreeFields(b *testing.B) {
	c := benchClient(b)
	for b.Loop() {
		c.Metlog("services", String("user", "bob"), Int("status", 200), Float("took", 1.5))
	}
}

func BenchmarkInfoWithFields(b *testing.B) {
	c := benchClient(b)
	for b.Loop() {
		c.Info("user logged in", String("user", "bob"), String("from", "10.0.0.1"))
	}
}

func BenchmarkException(b *testing.B) {
	c := benchClient(b)
	err := errors.New("boom")
	for b.Loop() {
		c.Exception(err)
	}
}

// BenchmarkBuild measures the sender goroutine's side: turning a queued
// record into a Message.
func BenchmarkBuild(b *testing.B) {
	c := benchClient(b)
	r := record{kind: kindCounter, sev: Info, ts: 1, name: "page_views", n: 1, f: 1}
	var s slot
	for b.Loop() {
		c.build(&r, &s)
	}
}
