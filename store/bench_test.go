package store

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/metlog/metlog"
)

// The query benchmarks run over a store of -store.n messages spread over
// a day, built once (and kept in -store.dir when given, to be reused by
// later runs):
//
//	go test ./store -run XXX -bench . -benchtime 200x -store.n 10000000 -store.dir /tmp/metlog-bench
var (
	benchN   = flag.Int("store.n", 200_000, "messages in the store the query benchmarks read")
	benchDir = flag.String("store.dir", "", "directory to keep the benchmark store in (default: a temporary one)")
)

var benchWords = []string{"connection", "timeout", "user", "login", "cache", "miss", "request", "served",
	"database", "error", "retry", "upstream", "session", "expired", "payment", "declined", "queue", "full"}

// benchMessages makes n log-like messages, evenly spread over span from
// start: 60% log lines, 20% timers, 15% counters, 5% others.
func benchMessages(rng *rand.Rand, start time.Time, span time.Duration, from, n, total int) []*metlog.Message {
	out := make([]*metlog.Message, n)
	for i := range out {
		k := from + i
		ts := start.Add(time.Duration(int64(span) / int64(total) * int64(k)))
		m := &metlog.Message{UUID: metlog.NewUUIDAt(ts), Timestamp: ts.UnixNano(), Logger: fmt.Sprintf("app%d", k%7),
			Severity: metlog.Severity(3 + rng.IntN(5)), Hostname: fmt.Sprintf("web-%d", k%20), Pid: int32(1000 + k%50), EnvVersion: "0.8"}
		switch r := rng.IntN(100); {
		case r < 60:
			m.Type = "oldstyle"
			m.Payload = fmt.Sprintf("%s %s %s for id %d", benchWords[rng.IntN(len(benchWords))],
				benchWords[rng.IntN(len(benchWords))], benchWords[rng.IntN(len(benchWords))], rng.IntN(100000))
			m.Fields = []metlog.Field{metlog.String("path", "/api/v1/items"), metlog.Int("status", int64(200+rng.IntN(4)*100))}
		case r < 80:
			m.Type = "timer"
			m.Payload = fmt.Sprint(rng.IntN(500))
			m.Fields = []metlog.Field{metlog.String("name", fmt.Sprintf("db.query%d", k%10)), metlog.Float("rate", 1)}
		case r < 95:
			m.Type = "counter"
			m.Payload = "1"
			m.Fields = []metlog.Field{metlog.String("name", fmt.Sprintf("hits%d", k%10)), metlog.Float("rate", 1)}
		default:
			m.Type = "custom"
			m.Payload = "something else happened"
		}
		out[i] = m
	}
	return out
}

// BenchmarkIngest measures the store's write rate in batches of 1000.
func BenchmarkIngest(b *testing.B) {
	for _, fullText := range []bool{true, false} {
		b.Run(fmt.Sprintf("full_text=%v", fullText), func(b *testing.B) {
			s := openTest(b, func(c *Config) { c.FullText = fullText })
			rng := rand.New(rand.NewPCG(1, 1))
			start := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
			batches := make([][]*metlog.Message, 50)
			for i := range batches {
				// As dense in time as messages arriving at 150,000/s.
				batches[i] = benchMessages(rng, start, time.Second/3, i*1000, 1000, len(batches)*1000)
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := range b.N {
				batch := batches[i%len(batches)]
				if i >= len(batches) { // new UUIDs, or every message is a duplicate
					for _, m := range batch {
						m.UUID = metlog.NewUUID()
					}
				}
				if err := s.Write(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			waitIndexed(b, s)
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "msgs/s")
			// Per CPU-second of the whole process (every goroutine): what
			// one core does, steadier than msgs/s on a shared machine.
			b.ReportMetric(float64(b.N*1000)/(cpuTime()-cpu0).Seconds(), "msgs/cpu-s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

var (
	benchOnce  sync.Once
	benchStore *Store
	benchStart = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
)

// loadedStore returns the store of -store.n messages, building it when the
// directory holds none.
func loadedStore(b *testing.B) *Store {
	benchOnce.Do(func() {
		dir := *benchDir
		if dir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "metlog-store-bench"); err != nil {
				b.Fatal(err)
			}
		}
		cfg := Defaults()
		cfg.Path, cfg.MaxAge, cfg.MaxBytes = dir, 0, 0
		s, err := New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		if st := s.Stats(); st.Partitions == 0 {
			rng := rand.New(rand.NewPCG(2, 2))
			t0 := time.Now()
			for i := 0; i < *benchN; i += 1000 {
				batch := benchMessages(rng, benchStart, 24*time.Hour, i, min(1000, *benchN-i), *benchN)
				if err := s.Write(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			waitIndexed(b, s)
			d := time.Since(t0)
			b.Logf("loaded %d messages in %v: %.0f msgs/s (generation and the full-text index included)", *benchN, d, float64(*benchN)/d.Seconds())
		}
		benchStore = s
	})
	if benchStore == nil {
		b.Skip("benchmark store failed to load")
	}
	return benchStore
}

// BenchmarkQueries measures the queries of the web UI over the loaded
// store; the store's size on disk is reported as a metric.
func BenchmarkQueries(b *testing.B) {
	s := loadedStore(b)
	ctx := context.Background()
	hour := func(h int) int64 { return benchStart.Add(time.Duration(h) * time.Hour).UnixNano() }
	b.Run("type+range", func(b *testing.B) {
		for range b.N {
			p, err := s.Messages(ctx, Query{Match: "Type == 'custom'", From: hour(10), To: hour(12), Limit: 100})
			if err != nil || len(p.Messages) != 100 {
				b.Fatal(err, len(p.Messages))
			}
		}
	})
	b.Run("severity<=3", func(b *testing.B) {
		for range b.N {
			if _, err := s.Messages(ctx, Query{Match: "Severity <= 3", Limit: 100}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("word", func(b *testing.B) {
		for range b.N {
			p, err := s.Messages(ctx, Query{Words: []string{"declined"}, Limit: 100})
			if err != nil || len(p.Messages) == 0 {
				b.Fatal(err)
			}
		}
	})
	b.Run("words+range", func(b *testing.B) {
		for range b.N {
			if _, err := s.Messages(ctx, Query{Words: []string{"payment", "timeout"}, From: hour(3), To: hour(4), Limit: 100}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for range b.N {
			if _, err := s.Messages(ctx, Query{Match: "Type == 'oldstyle' && Payload =~ /^payment/", Limit: 100}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("timer_p99_24h", func(b *testing.B) {
		for range b.N {
			ser, err := s.Series(ctx, SeriesQuery{Kind: "timer", Names: []string{"db.query3"}, From: hour(0), To: hour(24), Step: 5 * time.Minute})
			if err != nil || ser[0].Points[10].P99 == nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("counter_rate_24h", func(b *testing.B) {
		for range b.N {
			if _, err := s.Series(ctx, SeriesQuery{Kind: "counter", Names: []string{"hits1"}, From: hour(0), To: hour(24), Step: time.Minute}); err != nil {
				b.Fatal(err)
			}
		}
	})
	st := s.Stats()
	b.ReportMetric(float64(st.Bytes)/(1<<20), "MiB")
	b.ReportMetric(float64(st.Bytes)/float64(*benchN), "B/msg")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitIndexed waits until the full-text index holds every stored message.
func waitIndexed(tb testing.TB, s *Store) {
	tb.Helper()
	s.syncIndex(context.Background(), time.Minute)
	if lag := s.Stats().IndexLag; lag > 0 {
		tb.Fatalf("the full-text index is %d messages behind after a minute", lag)
	}
}
