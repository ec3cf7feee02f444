package statsd

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/metlog/metlog"
)

// benchMessages returns n messages of one type over names distinct names.
func benchMessages(typ string, names, n int, tags ...string) []*metlog.Message {
	msgs := make([]*metlog.Message, n)
	for i := range msgs {
		msgs[i] = metric(typ, fmt.Sprintf("app.service.endpoint_%d", i%names), strconv.Itoa(i%250), 1, tags...)
	}
	return msgs
}

func benchAdd(b *testing.B, msgs []*metlog.Message) {
	a := newAcc(b, nil)
	for _, m := range msgs {
		a.Add(m)
	}
	a.Flush(flushTime, func(*metlog.Message) {})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a.Add(msgs[i%len(msgs)])
		if i%100_000 == 99_999 { // bound the timers' samples, as flushes do
			b.StopTimer()
			a.Flush(flushTime, func(*metlog.Message) {})
			b.StartTimer()
		}
	}
}

func BenchmarkAddCounter(b *testing.B) { benchAdd(b, benchMessages("counter", 1000, 4096)) }
func BenchmarkAddTimer(b *testing.B)   { benchAdd(b, benchMessages("timer", 1000, 4096)) }
func BenchmarkAddTaggedCounter(b *testing.B) {
	benchAdd(b, benchMessages("counter", 1000, 4096, "env", "prod", "az", "eu-west-1a"))
}

// BenchmarkFlush: 1,000 timers of 100 samples each, percentiles 90 and 99.
func BenchmarkFlush(b *testing.B) {
	a := newAcc(b, func(c *Config) { c.Percentiles = []float64{90, 99} })
	msgs := benchMessages("timer", 1000, 100_000)
	b.ReportAllocs()
	var emitted, metrics int
	for b.Loop() {
		b.StopTimer()
		for _, m := range msgs {
			a.Add(m)
		}
		b.StartTimer()
		a.Flush(flushTime, func(m *metlog.Message) { emitted++; metrics += len(m.Fields) })
	}
	b.ReportMetric(float64(emitted)/float64(b.N), "msgs/op")
	b.ReportMetric(float64(metrics)/float64(b.N), "metrics/op")
}
