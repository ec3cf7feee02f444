package nats_test

import (
	"context"
	"testing"

	natsout "github.com/metlog/metlog/output/nats"
	"github.com/metlog/metlog/output/nats/natstest"
)

// BenchmarkWrite publishes batches of 1024 messages to a local JetStream
// server (file storage, one replica) and waits for every acknowledgement.
func BenchmarkWrite(b *testing.B) {
	srv := natstest.Start(b)
	cfg := natsout.Defaults()
	cfg.URLs = []string{srv.URL}
	cfg.Subject = "metlog.{type}.{shard}"
	cfg.Shards = 4
	o, err := natsout.New(cfg, quiet)
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	batch := messages(1024)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, m := range batch {
			m.UUID[15]++ // a new ID, not a duplicate
			if m.UUID[15] == 0 {
				m.UUID[14]++
			}
		}
		if err := o.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "msgs/s")
}
