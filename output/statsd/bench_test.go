package statsd

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/metlog/metlog"
)

// BenchmarkWriteUDP writes batches of 1000 counters and timers to a UDP
// socket nobody reads (the kernel drops what overflows).
func BenchmarkWriteUDP(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	cfg := Defaults()
	cfg.Address = pc.LocalAddr().String()
	cfg.LoggerNamespace = true
	o, err := New(cfg, discard)
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	batch := make([]*metlog.Message, 1000)
	for i := range batch {
		typ, payload := "counter", "1"
		if i%2 == 1 {
			typ, payload = "timer", "12.5"
		}
		batch[i] = &metlog.Message{Type: typ, Logger: "web", Payload: payload,
			Fields: []metlog.Field{metlog.String("name", fmt.Sprintf("requests.%d", i%50)), metlog.Float("rate", 0.5)}}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := o.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/msg")
}
