package router

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/journal"
	"github.com/metlog/metlog/match"
	"github.com/metlog/metlog/output"
)

// BenchmarkFeedDrain measures how fast a file output's feed works through a
// backlog: 65,536 records like those of the routing benchmark wait in the
// journal, and the feed reads, matches and encodes them as metlog JSON, by
// itself or with its helper. One op is one record.
func BenchmarkFeedDrain(b *testing.B) {
	const backlog = 1 << 16
	j, err := journal.OpenMemory(journal.Options{MaxBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	var recs [][]byte
	for i := range backlog {
		m := &metlog.Message{UUID: metlog.NewUUID(), Timestamp: 1767323045000000000 + int64(i)*1000,
			Type: "oldstyle", Logger: "bench", Severity: metlog.Info, EnvVersion: metlog.EnvVersion,
			Pid: 4242, Hostname: "web1", Fields: []metlog.Field{metlog.Int("status", 200)},
			Payload: fmt.Sprintf("#s=%010d @t=1767323045123456789 xxx", i)}
		recs = append(recs, m.AppendProtobuf(nil))
	}
	// A reader that never commits keeps every segment in the journal.
	keep, err := j.Reader("keep")
	if err != nil {
		b.Fatal(err)
	}
	defer keep.Close()
	appendRecords(b, j, recs)
	format := jsonFormat(b)
	rounds := 0
	for _, parallel := range []bool{false, true} {
		b.Run(fmt.Sprintf("parallel=%v", parallel), func(b *testing.B) {
			b.SetBytes(int64(len(recs[0])))
			b.ReportAllocs()
			for done := 0; done < b.N; {
				n := min(backlog, b.N-done)
				rounds++
				drain(b, j, fmt.Sprint("drain", rounds), format, parallel, uint64(n))
				done += n
			}
		})
	}
}

// drain reads the journal's first n records (rounded up to a batch) with
// a new reader's feed.
func drain(b *testing.B, j *journal.Journal, name string, format output.Format, parallel bool, n uint64) {
	r, err := j.Reader(name)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var read, matched, corrupt atomic.Uint64
	f := &feed{reader: r, matcher: match.MustCompile("TRUE"), batchSize: 1024, format: format,
		log: slog.New(slog.DiscardHandler), read: &read, matched: &matched, corrupt: &corrupt,
		parallel: parallel}
	free := make(chan *prepared, feedBuffers)
	for range cap(free) {
		free <- &prepared{pool: make([]metlog.Message, f.batchSize)}
	}
	ready := make(chan *prepared)
	ctx, cancel := context.WithCancel(context.Background())
	go f.run(ctx, free, ready)
	for p := range ready {
		end := p.end.Seq
		free <- p
		if end >= n {
			break
		}
	}
	cancel()
	for range ready {
	}
}
