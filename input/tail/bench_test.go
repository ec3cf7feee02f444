package tail

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
)

// countSink counts messages and signals when it has seen want.
type countSink struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (s *countSink) Deliver(_ context.Context, msgs []*metlog.Message, _ input.DeliverOptions) error {
	if s.n.Add(int64(len(msgs))) == s.want {
		close(s.done)
	}
	return nil
}

// BenchmarkRead reads a file of 100,000 application log lines from the
// start: one op is the whole file.
func BenchmarkRead(b *testing.B) {
	const lines = 100_000
	dir := b.TempDir()
	path := filepath.Join(dir, "app.log")
	line := "2026-11-22T05:00:00.123Z INFO  [http-nio-8080-exec-7] c.e.app.Controller - GET /v1/account 200 17ms\n"
	if err := os.WriteFile(path, []byte(strings.Repeat(line, lines)), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(line) * lines))
	b.ReportAllocs()
	for b.Loop() {
		cfg := Defaults()
		cfg.Paths = []string{path}
		cfg.StateDir = b.TempDir()
		cfg.PollInterval = config.Duration(time.Millisecond)
		in, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			b.Fatal(err)
		}
		sink := &countSink{want: lines, done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- in.Run(ctx, sink) }()
		<-sink.done
		cancel()
		if err := <-ran; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
}
