package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	ddstatsd "github.com/DataDog/datadog-go/v5/statsd"
	cactus "github.com/cactus/go-statsd-client/v5/statsd"
	"github.com/rs/zerolog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/metlog/metlog"
)

// Workload 1, client cost: what one call costs the application.
//
// Every benchmark is named Benchmark<Event>/<system>/<sink>. The event is a
// counter, a timer or a log line with three fields; the sink is "discard"
// (nothing leaves the process: metlog's client on a discarding Sender, a
// logger on io.Discard) or "udp" (a loopback UDP socket that is bound but
// never read, so the kernel drops what overflows it and no reader spends
// CPU in this process).
//
// Besides ns/op, B/op and allocs/op, each benchmark reports cpu-ns/op: the
// process's CPU time (user and system, every thread) over the loop and the
// flush after it, per call. That is what an asynchronous client costs the
// machine, including its background goroutine, where ns/op is only what
// the calling goroutine waits. metlog's client also reports drops/op: calls
// it dropped because its bounded queue was full.

// emitter is one system under test, set up on one sink.
type emitter struct {
	counter func()
	timer   func()
	log     func()
	// flush waits until everything emitted so far left the client.
	flush func()
	// drops reports what the client dropped so far (0 when it never drops).
	drops func() uint64
	close func()
}

// system builds an emitter on a sink: "discard" or "udp"; the address is
// the UDP sink's.
type system struct {
	name  string
	sinks []string
	new   func(b *testing.B, sink, addr string) emitter
}

var systems = []system{
	{"metlog", []string{"discard", "udp"}, newMetlog},
	{"zap", []string{"discard", "udp"}, newZap},
	{"zerolog", []string{"discard", "udp"}, newZerolog},
	{"slog", []string{"discard", "udp"}, newSlog},
	{"datadog", []string{"udp"}, newDatadog},
	{"cactus", []string{"udp"}, newCactus},
}

func BenchmarkCounter(b *testing.B) { run(b, func(e emitter) func() { return e.counter }) }
func BenchmarkTimer(b *testing.B)   { run(b, func(e emitter) func() { return e.timer }) }

// BenchmarkLog emits a log line with three fields; statsd clients have no
// log lines and are left out.
func BenchmarkLog(b *testing.B) { run(b, func(e emitter) func() { return e.log }) }

func run(b *testing.B, event func(emitter) func()) {
	for _, s := range systems {
		for _, sink := range s.sinks {
			b.Run(s.name+"/"+sink, func(b *testing.B) {
				addr := udpSink(b)
				e := s.new(b, sink, addr)
				defer e.close()
				emit := event(e)
				if emit == nil {
					b.Skip("no such event in this system")
				}
				b.ReportAllocs()
				drops0 := e.drops()
				cpu0 := cpuTime()
				n := 0
				for b.Loop() {
					emit()
					n++
				}
				e.flush()
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/op")
				if d := e.drops() - drops0; d > 0 || s.name == "metlog" {
					b.ReportMetric(float64(d)/float64(n), "drops/op")
				}
			})
		}
	}
}

// udpSink returns the address of a loopback UDP socket that nobody reads;
// it is closed when the benchmark ends.
func udpSink(b *testing.B) string {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c.LocalAddr().String()
}

// cpuTime is the process's user and system CPU time so far, in ns.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// writer returns the sink as an io.Writer for the loggers: io.Discard, or
// a connected UDP socket (one datagram per log line).
func writer(b *testing.B, sink, addr string) (io.Writer, func()) {
	if sink == "discard" {
		return io.Discard, func() {}
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		b.Fatal(err)
	}
	return conn, func() { conn.Close() }
}

// discardSender is a metlog Sender that forgets every batch.
type discardSender struct{}

func (discardSender) Send(context.Context, []*metlog.Message) error { return nil }
func (discardSender) Close() error                                  { return nil }

func newMetlog(b *testing.B, sink, addr string) emitter {
	var c *metlog.Client
	opts := []metlog.Option{metlog.WithLogger("bench"), metlog.WithHostname("bench-host")}
	if sink == "discard" {
		c = metlog.New(discardSender{}, opts...)
	} else {
		var err error
		if c, err = metlog.Dial("udp://"+addr, opts...); err != nil {
			b.Fatal(err)
		}
	}
	return emitter{
		counter: func() { c.Incr("page_views") },
		timer:   func() { c.Timer("db_query").Stop() },
		log: func() {
			c.Info("user logged in", metlog.String("user", "bob"), metlog.Int("status", 200), metlog.Float("took", 1.5))
		},
		flush: func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c.Flush(ctx)
		},
		drops: func() uint64 { return c.Stats().Dropped },
		close: func() { c.Close() },
	}
}

func newZap(b *testing.B, sink, addr string) emitter {
	w, closeW := writer(b, sink, addr)
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(w), zapcore.InfoLevel)
	l := zap.New(core)
	return emitter{
		counter: func() { l.Info("counter", zap.String("name", "page_views"), zap.Int64("n", 1)) },
		timer: func() {
			start := time.Now()
			l.Info("timer", zap.String("name", "db_query"), zap.Duration("took", time.Since(start)))
		},
		log: func() {
			l.Info("user logged in", zap.String("user", "bob"), zap.Int("status", 200), zap.Float64("took", 1.5))
		},
		flush: func() { l.Sync() },
		drops: func() uint64 { return 0 },
		close: closeW,
	}
}

func newZerolog(b *testing.B, sink, addr string) emitter {
	w, closeW := writer(b, sink, addr)
	l := zerolog.New(w).With().Timestamp().Logger()
	return emitter{
		counter: func() { l.Info().Str("name", "page_views").Int64("n", 1).Msg("counter") },
		timer: func() {
			start := time.Now()
			l.Info().Str("name", "db_query").Dur("took", time.Since(start)).Msg("timer")
		},
		log: func() {
			l.Info().Str("user", "bob").Int("status", 200).Float64("took", 1.5).Msg("user logged in")
		},
		flush: func() {},
		drops: func() uint64 { return 0 },
		close: closeW,
	}
}

func newSlog(b *testing.B, sink, addr string) emitter {
	w, closeW := writer(b, sink, addr)
	l := slog.New(slog.NewJSONHandler(w, nil))
	ctx := context.Background()
	return emitter{
		counter: func() {
			l.LogAttrs(ctx, slog.LevelInfo, "counter", slog.String("name", "page_views"), slog.Int64("n", 1))
		},
		timer: func() {
			start := time.Now()
			l.LogAttrs(ctx, slog.LevelInfo, "timer", slog.String("name", "db_query"), slog.Duration("took", time.Since(start)))
		},
		log: func() {
			l.LogAttrs(ctx, slog.LevelInfo, "user logged in", slog.String("user", "bob"), slog.Int("status", 200), slog.Float64("took", 1.5))
		},
		flush: func() {},
		drops: func() uint64 { return 0 },
		close: closeW,
	}
}

// newDatadog uses the DataDog client with its defaults (client-side
// aggregation of counters included), as an application gets it.
func newDatadog(b *testing.B, _, addr string) emitter {
	c, err := ddstatsd.New(addr)
	if err != nil {
		b.Fatal(err)
	}
	return emitter{
		counter: func() { c.Incr("page_views", nil, 1) },
		timer: func() {
			start := time.Now()
			c.Timing("db_query", time.Since(start), nil, 1)
		},
		flush: func() { c.Flush() },
		drops: func() uint64 { return 0 },
		close: func() { c.Close() },
	}
}

// newCactus uses the cactus client with its buffered sender (several
// lines per datagram), as its documentation recommends for throughput.
func newCactus(b *testing.B, _, addr string) emitter {
	c, err := cactus.NewClientWithConfig(&cactus.ClientConfig{Address: addr, UseBuffered: true})
	if err != nil {
		b.Fatal(err)
	}
	return emitter{
		counter: func() { c.Inc("page_views", 1, 1) },
		timer: func() {
			start := time.Now()
			c.TimingDuration("db_query", time.Since(start), 1)
		},
		flush: func() {},
		drops: func() uint64 { return 0 },
		close: func() { c.Close() },
	}
}
