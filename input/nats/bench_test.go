package nats_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input"
	natsin "github.com/metlog/metlog/input/nats"
	"github.com/metlog/metlog/output/nats/natstest"
)

// countingSink counts deliveries and signals when it has seen want.
type countingSink struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (s *countingSink) Deliver(_ context.Context, msgs []*metlog.Message, _ input.DeliverOptions) error {
	if s.n.Add(int64(len(msgs))) >= s.want && s.want > 0 {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}
	return nil
}

// BenchmarkConsume fetches, decodes and acknowledges messages a local
// JetStream server holds (the sink does nothing).
func BenchmarkConsume(b *testing.B) {
	srv := natstest.Start(b)
	const per = 1000
	total := 0
	for total < b.N {
		publishB(b, srv.URL, per)
		total += per
	}
	sink := &countingSink{want: int64(total), done: make(chan struct{})}
	cfg := natsin.Defaults()
	cfg.URLs = []string{srv.URL}
	cfg.MaxWait.UnmarshalText([]byte("100ms"))
	in, err := natsin.New(cfg, quiet)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	go func() { done <- in.Run(ctx, sink) }()
	select {
	case <-sink.done:
	case <-time.After(2 * time.Minute):
		b.Fatal("not consumed")
	}
	b.StopTimer()
	cancel()
	<-done
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
}
