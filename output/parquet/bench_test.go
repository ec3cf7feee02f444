package parquet

import (
	"context"

	"testing"
)

// BenchmarkWrite measures rows per second into Parquet: batches of 1000
// messages (as the router hands them over) of one type or of eight, with
// files closing at the default size.
func BenchmarkWrite(b *testing.B) {
	for _, tc := range []struct {
		name  string
		types []string
		sync  bool
	}{
		{"types=1", []string{"timer"}, false},
		{"types=8", []string{"a", "b", "c", "d", "e", "f", "g", "h"}, false},
		{"types=1/sync", []string{"timer"}, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := testConfig(b.TempDir())
			cfg.Sync = tc.sync
			o := newOutput(b, cfg)
			batch := gen(1000, t0, tc.types...)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := o.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			if err := o.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
