package carbon

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/metlog/metlog"
)

// discardServer accepts connections and throws away what they send.
func discardServer(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	b.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func benchWrite(b *testing.B, cfg Config, batch []*metlog.Message) {
	o, err := New(cfg, discard)
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := o.Write(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/msg")
}

// BenchmarkWriteStatmetric writes batches of 100 statmetric messages of 10
// lines each over TCP.
func BenchmarkWriteStatmetric(b *testing.B) {
	cfg := Defaults()
	cfg.Address = discardServer(b)
	var payload strings.Builder
	for i := range 10 {
		fmt.Fprintf(&payload, "stats.timers.app.request_%d.mean_90 %d.25 1795312180\n", i, i*10)
	}
	batch := make([]*metlog.Message, 100)
	for i := range batch {
		batch[i] = &metlog.Message{Type: "statmetric", Payload: payload.String()}
	}
	benchWrite(b, cfg, batch)
}

// BenchmarkWriteDirect writes batches of 1000 counter messages, formatted
// here, over TCP.
func BenchmarkWriteDirect(b *testing.B) {
	cfg := Defaults()
	cfg.Address = discardServer(b)
	cfg.Direct, cfg.LoggerNamespace = true, true
	batch := make([]*metlog.Message, 1000)
	for i := range batch {
		batch[i] = &metlog.Message{Timestamp: 1795312180e9, Type: "counter", Logger: "web", Payload: "3",
			Fields: []metlog.Field{metlog.String("name", fmt.Sprintf("requests.%d", i%50)), metlog.Float("rate", 0.5)}}
	}
	benchWrite(b, cfg, batch)
}
