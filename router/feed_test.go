package router

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/metlog/metlog"
	statsdin "github.com/metlog/metlog/input/statsd"
	"github.com/metlog/metlog/journal"
	"github.com/metlog/metlog/match"
)

// A batch holds up to the batch size in messages, a statsd record counting
// as its lines; a record is never split, and the records that do not fit
// go into the next batch, each batch ending where its last record does.
func TestFeedBatchesCountLines(t *testing.T) {
	j, err := journal.OpenMemory(journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	record := func(prefix string, n int) []byte {
		var lines []string
		for i := range n {
			lines = append(lines, fmt.Sprintf("%s%d:1|c", prefix, i))
		}
		m := &metlog.Message{Type: statsdin.RecordType, Logger: "statsd", Payload: strings.Join(lines, "\n"), UUID: metlog.NewUUID()}
		return m.AppendProtobuf(nil)
	}
	plain := (&metlog.Message{Type: "log", Payload: "hello"}).AppendProtobuf(nil)
	recs := [][]byte{record("a", 300), record("b", 300), plain, plain, plain, record("c", 50), plain}
	if _, err := j.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	r, err := j.Reader("out")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var read, matched, corrupt atomic.Uint64
	f := feed{reader: r, matcher: match.MustCompile("TRUE"), batchSize: 100, log: slog.New(slog.DiscardHandler),
		read: &read, matched: &matched, corrupt: &corrupt}
	free := make(chan *prepared, 2)
	for range cap(free) {
		free <- &prepared{pool: make([]metlog.Message, f.batchSize)}
	}
	ready := make(chan *prepared)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.run(ctx, free, ready)
	var sizes []int
	var last journal.Pos
	for total := 0; total < 300+300+3+50+1; {
		p := <-ready
		if p.end.Seq <= last.Seq {
			t.Fatalf("batch %d ends at %v, after %v", len(sizes), p.end, last)
		}
		last = p.end
		sizes = append(sizes, len(p.batch))
		total += len(p.batch)
		free <- p
	}
	if want := "[300 300 54]"; fmt.Sprint(sizes) != want {
		t.Errorf("batch sizes %v, want %s", sizes, want)
	}
	if last.Seq != uint64(len(recs)) || read.Load() != uint64(len(recs)) {
		t.Errorf("last batch ends at %v, read %d; want all %d records", last, read.Load(), len(recs))
	}
}
