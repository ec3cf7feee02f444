package journal

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

const benchRecord = 250

func benchOpen(b *testing.B, mem bool, opts Options) *Journal {
	b.Helper()
	opts.Logger = quietLogger
	var j *Journal
	var err error
	if mem {
		j, err = OpenMemory(opts)
	} else {
		j, err = Open(b.TempDir(), opts)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { j.Close() })
	return j
}

func benchBatch(n int) [][]byte {
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = recN(i, benchRecord)
	}
	return recs
}

func reportRecords(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAppend appends 250-byte records in batches, with no reader (so
// segments are deleted as they fill). One op is one record.
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []string{"disk", "memory"} {
		for _, p := range []SyncPolicy{SyncBatch, SyncAlways, SyncNever} {
			if mode == "memory" && p != SyncBatch {
				continue
			}
			for _, batch := range []int{1, 64, 1024} {
				b.Run(fmt.Sprintf("%s/%s/batch=%d", mode, p, batch), func(b *testing.B) {
					j := benchOpen(b, mode == "memory", Options{Sync: p})
					recs := benchBatch(batch)
					ctx := context.Background()
					b.SetBytes(benchRecord)
					b.ReportAllocs()
					b.ResetTimer()
					var pos Pos
					for n := 0; n < b.N; n += batch {
						var err error
						if pos, err = j.Append(ctx, recs[:min(batch, b.N-n)]...); err != nil {
							b.Fatal(err)
						}
					}
					if err := j.WaitDurable(ctx, pos); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					reportRecords(b, b.N)
				})
			}
		}
	}
}

// BenchmarkAppendParallel appends single records from many goroutines: the
// writer turns them into batches.
func BenchmarkAppendParallel(b *testing.B) {
	j := benchOpen(b, false, Options{})
	b.SetBytes(benchRecord)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := recN(0, benchRecord)
		for pb.Next() {
			if _, err := j.Append(context.Background(), r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRecords(b, b.N)
}

// BenchmarkRead reads records already in the journal, 1024 at a time,
// committing each batch. One op is one record. Records are appended, untimed,
// in chunks of up to 256Ki records, so the journal never fills up.
func BenchmarkRead(b *testing.B) {
	for _, mode := range []string{"disk", "memory"} {
		b.Run(mode, func(b *testing.B) {
			j := benchOpen(b, mode == "memory", Options{MaxBytes: 256 << 20})
			r, err := j.Reader("bench")
			if err != nil {
				b.Fatal(err)
			}
			recs := benchBatch(1024)
			ctx := context.Background()
			b.SetBytes(benchRecord)
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; {
				b.StopTimer()
				chunk := min(b.N-done, 256<<10)
				var pos Pos
				for n := 0; n < chunk; n += len(recs) {
					if pos, err = j.Append(ctx, recs[:min(len(recs), chunk-n)]...); err != nil {
						b.Fatal(err)
					}
				}
				if err := j.WaitDurable(ctx, pos); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for n := 0; n < chunk; {
					batch, err := r.Next(ctx, 1024)
					if err != nil {
						b.Fatal(err)
					}
					n += len(batch.Records)
					if err := r.Commit(batch.End); err != nil {
						b.Fatal(err)
					}
				}
				done += chunk
			}
			b.StopTimer()
			reportRecords(b, b.N)
		})
	}
}

// BenchmarkEndToEnd appends batches of 64 records while three readers read
// and commit them concurrently; an op is one record delivered to all three.
func BenchmarkEndToEnd(b *testing.B) {
	for _, mode := range []string{"disk", "memory"} {
		b.Run(mode, func(b *testing.B) {
			j := benchOpen(b, mode == "memory", Options{})
			ctx := context.Background()
			var wg sync.WaitGroup
			for k := range 3 {
				r, err := j.Reader(fmt.Sprint("reader", k))
				if err != nil {
					b.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for n := 0; n < b.N; {
						batch, err := r.Next(ctx, 1024)
						if err != nil {
							b.Error(err)
							return
						}
						n += len(batch.Records)
						if err := r.Commit(batch.End); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			recs := benchBatch(64)
			b.SetBytes(benchRecord)
			b.ReportAllocs()
			b.ResetTimer()
			for n := 0; n < b.N; n += len(recs) {
				if _, err := j.Append(ctx, recs[:min(len(recs), b.N-n)]...); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			b.StopTimer()
			reportRecords(b, b.N)
		})
	}
}
