package statsd

import (
	"strconv"
	"testing"
)

// benchDatagram is 100 lines as a busy application sends them: counters
// and timers over many names, some sampled, some tagged.
func benchDatagram() []byte {
	var b []byte
	for i := range 100 {
		b = append(b, "app.service.endpoint_"...)
		b = strconv.AppendInt(b, int64(i*7%1000), 10)
		switch i % 4 {
		case 0:
			b = append(b, ":1|c\n"...)
		case 1:
			b = append(b, ":1|c|@0.1\n"...)
		case 2:
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(i*37%500), 10)
			b = append(b, "|ms\n"...)
		case 3:
			b = append(b, ":12.5|ms|@0.5|#env:prod,region:eu-west-1\n"...)
		}
	}
	return b
}

// BenchmarkParse reports the cost of one line of a typical datagram,
// iteration included.
func BenchmarkParse(b *testing.B) {
	d := benchDatagram()
	var m Metric
	b.SetBytes(int64(len(d)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for line := range Lines(d) {
			if err := Parse(line, &m); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/line")
}

func BenchmarkAppend(b *testing.B) {
	var m Metric
	if err := Parse([]byte("app.service.endpoint_42:12.5|ms|@0.5|#env:prod,region:eu-west-1"), &m); err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		dst = Append(dst[:0], &m)
	}
}
