package router

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metlog/metlog"
	statsdin "github.com/metlog/metlog/input/statsd"
	"github.com/metlog/metlog/journal"
	"github.com/metlog/metlog/match"
	"github.com/metlog/metlog/output"
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
	appendRecords(t, j, recs)
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

// With a format, a feed encodes its batches in journal order, whichever way
// each record goes: straight from the record when every message matches,
// through a decoded message for one the format does not write directly
// (a dotted field name), as the lines of a statsd record, or not at all
// when it does not decode. The bytes are those of Write's own encoding.
func TestFeedEncodes(t *testing.T) {
	j, err := journal.OpenMemory(journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	plain := &metlog.Message{UUID: metlog.NewUUID(), Type: "log", Payload: "hello", Fields: []metlog.Field{metlog.Int("n", 1)}}
	dotted := &metlog.Message{UUID: metlog.NewUUID(), Type: "log", Payload: "nested", Fields: []metlog.Field{metlog.String("a.b", "c")}}
	stats := &metlog.Message{Type: statsdin.RecordType, Logger: "statsd", Payload: "x:1|c\ny:2|ms", UUID: metlog.NewUUID()}
	recs := [][]byte{plain.AppendProtobuf(nil), dotted.AppendProtobuf(nil), stats.AppendProtobuf(nil), {0xff}, plain.AppendProtobuf(nil)}
	appendRecords(t, j, recs)
	format := jsonFormat(t)
	exp := statsdin.NewExpander()
	lines, _ := exp.Expand(nil, stats, 0, 0)
	for _, expr := range []string{"TRUE", "Type == 'log' || Logger == 'statsd'", "Type == 'log'"} {
		t.Run(expr, func(t *testing.T) {
			m := match.MustCompile(expr)
			var want []byte
			for _, msg := range append([]*metlog.Message{plain, dotted}, append(lines, plain)...) {
				if m.Match(msg) {
					want, _ = format.Append(want, msg)
				}
			}
			r, err := j.Reader("out-" + expr)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var read, matched, corrupt atomic.Uint64
			counted := &countingFormat{RecordFormat: format.(output.RecordFormat)}
			f := feed{reader: r, matcher: m, batchSize: 100, format: counted, log: slog.New(slog.DiscardHandler),
				read: &read, matched: &matched, corrupt: &corrupt}
			free := make(chan *prepared, 1)
			free <- &prepared{pool: make([]metlog.Message, f.batchSize)}
			ready := make(chan *prepared)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go f.run(ctx, free, ready)
			p := <-ready
			if string(p.data) != string(want) {
				t.Errorf("encoded\n%s\nwant\n%s", p.data, want)
			}
			if n := strings.Count(string(want), "\n"); p.encoded != n || int(matched.Load()) != n || len(p.batch) != 0 {
				t.Errorf("encoded %d, matched %d, batch %d; want %d, %[4]d, 0", p.encoded, matched.Load(), len(p.batch), n)
			}
			if corrupt.Load() != 1 {
				t.Errorf("corrupt %d, want 1", corrupt.Load())
			}
			if direct := expr == "TRUE"; (counted.direct == 2) != direct {
				t.Errorf("%d records encoded directly; want 2 only for TRUE", counted.direct)
			}
		})
	}
}

// countingFormat counts the records a RecordFormat encodes directly.
type countingFormat struct {
	output.RecordFormat
	direct int
}

func (f *countingFormat) AppendRecord(dst, record []byte) ([]byte, bool) {
	dst, ok := f.RecordFormat.AppendRecord(dst, record)
	if ok {
		f.direct++
	}
	return dst, ok
}

func TestMayBeStatsdRecord(t *testing.T) {
	stats := &metlog.Message{Type: statsdin.RecordType, Payload: "x:1|c"}
	lookalike := &metlog.Message{Type: "log", Payload: string(statsdTypeField)}
	for _, c := range []struct {
		m    *metlog.Message
		want bool
	}{{stats, true}, {lookalike, false}, {&metlog.Message{Type: "log"}, false}} {
		if got := mayBeStatsdRecord(c.m.AppendProtobuf(nil)); got != c.want {
			t.Errorf("mayBeStatsdRecord(type %q, payload %q) = %v", c.m.Type, c.m.Payload, got)
		}
	}
	// Records that do not start as the router's encoder writes them: the
	// type after other fields, or no UUID first.
	late := append((&metlog.Message{Logger: "x"}).AppendProtobuf(nil), statsdTypeField...)
	noUUID := append(append([]byte(nil), statsdTypeField...), (&metlog.Message{Logger: "x"}).AppendProtobuf(nil)...)
	for _, rec := range [][]byte{late, noUUID} {
		if !mayBeStatsdRecord(rec) {
			t.Errorf("mayBeStatsdRecord(% x) = false", rec)
		}
	}
}

// With parallel set, a helper prepares the batches after the first of each
// read while the journal holds more than a batch of records, and they are
// handed over before the feed waits for more records. The batches come in
// journal order, each at most the batch size, ending where their last
// record does, and encode exactly what a single goroutine would. A statsd
// record among the records, whose lines the batch size counts, and records
// the format cannot write directly take the single-goroutine way.
func TestFeedParallel(t *testing.T) {
	j, err := journal.OpenMemory(journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var msgs []*metlog.Message
	var recs [][]byte
	for i := range 2000 {
		m := &metlog.Message{UUID: metlog.NewUUID(), Type: "log", Payload: fmt.Sprintf("line %d", i),
			Fields: []metlog.Field{metlog.Int("n", int64(i))}}
		switch {
		case i%7 == 3:
			m.Type = "other"
		case i%11 == 5:
			m.Fields = append(m.Fields, metlog.String("a.b", "nested")) // decoded, not direct
		}
		if i == 1000 {
			m = &metlog.Message{Type: statsdin.RecordType, Logger: "statsd", Payload: "x:1|c\ny:2|ms", UUID: metlog.NewUUID()}
		}
		msgs = append(msgs, m)
		recs = append(recs, m.AppendProtobuf(nil))
	}
	recs[1500] = []byte{0xff} // does not decode
	appendRecords(t, j, recs)
	format := jsonFormat(t)
	exp := statsdin.NewExpander()
	for _, expr := range []string{"TRUE", "Type == 'log' || Logger == 'statsd'"} {
		t.Run(expr, func(t *testing.T) {
			m := match.MustCompile(expr)
			var want []byte
			wantMatched := 0
			for i, msg := range msgs {
				batch := []*metlog.Message{msg}
				if msg.Type == statsdin.RecordType {
					batch, _ = exp.Expand(nil, msg, 0, 0)
				}
				for _, msg := range batch {
					if i != 1500 && m.Match(msg) {
						want, _ = format.Append(want, msg)
						wantMatched++
					}
				}
			}
			r, err := j.Reader("out-" + expr)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var read, matched, corrupt atomic.Uint64
			f := &feed{reader: r, matcher: m, batchSize: 64, format: format, log: slog.New(slog.DiscardHandler),
				read: &read, matched: &matched, corrupt: &corrupt, parallel: true}
			free := make(chan *prepared, feedBuffers)
			for range cap(free) {
				free <- &prepared{pool: make([]metlog.Message, f.batchSize)}
			}
			ready := make(chan *prepared)
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				f.run(ctx, free, ready)
			}()
			var got []byte
			var last journal.Pos
			for last.Seq < uint64(len(recs)) {
				var p *prepared
				select {
				case p = <-ready:
				case <-time.After(10 * time.Second):
					t.Fatalf("no batch after %v of %d records: one is held back", last, len(recs))
				}
				if p.end.Seq <= last.Seq || p.end.Seq-last.Seq > uint64(f.batchSize) {
					t.Fatalf("a batch ends at %v after %v: want a step of 1 to %d records", p.end, last, f.batchSize)
				}
				last = p.end
				got = append(got, p.data...)
				free <- p
			}
			cancel()
			for range ready {
			}
			<-stopped
			if string(got) != string(want) {
				t.Errorf("encoded %d bytes, want %d: not what one goroutine encodes", len(got), len(want))
			}
			if read.Load() != uint64(len(recs)) || matched.Load() != uint64(wantMatched) || corrupt.Load() != 1 {
				t.Errorf("read %d, matched %d, corrupt %d; want %d, %d, 1", read.Load(), matched.Load(), corrupt.Load(), len(recs), wantMatched)
			}
			if f.helped == 0 {
				t.Error("the helper prepared no batch")
			}
		})
	}
}

// appendRecords appends recs to j.
func appendRecords(t testing.TB, j *journal.Journal, recs [][]byte) {
	t.Helper()
	if _, err := j.Append(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
}

// jsonFormat returns the metlog JSON format.
func jsonFormat(t testing.TB) output.Format {
	t.Helper()
	format, err := output.NewFormat("metlog-json", "")
	if err != nil {
		t.Fatal(err)
	}
	return format
}
