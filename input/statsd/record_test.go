package statsd

import (
	"fmt"
	"strings"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/codec/statsd"
)

// journaled is what a reader of the journal gets for m: its protobuf
// record, decoded.
func journaled(t *testing.T, m *metlog.Message) *metlog.Message {
	t.Helper()
	var out metlog.Message
	if err := heka.Unmarshal(m.AppendProtobuf(nil), &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// Good lines go into records, bounded in lines and bytes and split where
// the read time changes; bad lines are counted and left out; expanding the
// records gives the messages the lines stand for, in order.
func TestRecordsRoundTrip(t *testing.T) {
	cfg := Defaults()
	cfg.MaxLineSize = 300
	in := testInput(cfg)
	r := in.newRecorder()
	var want []*metlog.Message
	ref := testBuilder(in, 0)
	addLine := func(line string, at int64) {
		r.add([]byte(line), at)
		ref.add([]byte(line), at)
	}
	for i := range 2*MaxRecordLines + 10 {
		addLine(fmt.Sprintf("hits_%d:%d|c|#shard:%d", i%7, i, i%3), now)
	}
	addLine("bad line", now)
	addLine("later:1|ms", now+1)
	addLine("long:"+strings.Repeat("7", 250)+"|g", now+1) // 200 of these overflow maxRecordBytes
	for range 200 {
		addLine("long:"+strings.Repeat("7", 250)+"|g", now+1)
	}
	want = ref.batch()
	recs := r.batch()
	if r.lines != len(want) || len(want) != 2*MaxRecordLines+10+1+201 {
		t.Fatalf("%d lines in records, the builder made %d messages", r.lines, len(want))
	}
	if s := in.counters.Snapshot(); s.Rejected["malformed"] != 2 { // once each by r and ref
		t.Errorf("rejected %v", s.Rejected)
	}
	var got []*metlog.Message
	exp := NewExpander()
	for i, rec := range recs {
		if rec.Type != RecordType || rec.Logger != "statsd" || rec.Hostname != "host1" {
			t.Errorf("record %d: %+v", i, rec)
		}
		n := strings.Count(rec.Payload, "\n") + 1
		if n > MaxRecordLines || len(rec.AppendProtobuf(nil)) > heka.MaxMessageSize || len(rec.Payload) >= maxRecordBytes {
			t.Errorf("record %d: %d lines, %d bytes", i, n, len(rec.Payload))
		}
		got, _ = exp.Expand(got, journaled(t, rec), 0, 0)
	}
	if len(recs) < 5 {
		t.Errorf("%d records: the bounds did not split them", len(recs))
	}
	if len(got) != len(want) {
		t.Fatalf("%d messages expanded, want %d", len(got), len(want))
	}
	for i := range got {
		if !got[i].Equal(want[i]) {
			t.Fatalf("message %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
		}
	}
	r.reset()
	if len(r.batch()) != 0 || r.lines != 0 {
		t.Error("reset left lines behind")
	}
}

// The messages of a record's lines have UUIDs derived from the record's,
// the same at every reading, all different; Expand can resume at a line.
func TestExpandUUIDsAndResume(t *testing.T) {
	in := testInput(Defaults())
	r := in.newRecorder()
	for i := range 300 {
		r.add(fmt.Appendf(nil, "n%d:1|c", i), now)
	}
	recs := r.batch()
	if len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	rec := journaled(t, recs[0])
	rec.UUID = metlog.NewUUID()
	e1, e2 := NewExpander(), NewExpander()
	all, next := e1.Expand(nil, rec, 0, 0)
	if len(all) != 300 || next != -1 {
		t.Fatalf("%d messages, next %d", len(all), next)
	}
	seen := map[metlog.UUID]bool{}
	for i, m := range all {
		if seen[m.UUID] || m.UUID.IsZero() {
			t.Fatalf("message %d: UUID %v repeats", i, m.UUID)
		}
		seen[m.UUID] = true
	}
	var parts []*metlog.Message
	from := 0
	for from >= 0 {
		parts, from = e2.Expand(parts, rec, from, 64)
	}
	if len(parts) != 300 {
		t.Fatalf("resumed expansion gave %d messages", len(parts))
	}
	for i := range parts {
		if !parts[i].Equal(all[i]) || parts[i].UUID != all[i].UUID {
			t.Fatalf("message %d differs between readings:\n%+v\n%+v", i, parts[i], all[i])
		}
	}
	// A line that no longer parses is skipped and keeps its index.
	rec.Payload = "a:1|c\nnot a line\nb:2|c"
	got, _ := NewExpander().Expand(nil, rec, 0, 0)
	if len(got) != 2 || got[1].Payload != "2" || got[1].UUID[15] != rec.UUID[15]^2 {
		t.Errorf("expanded %+v", got)
	}
}

// BenchmarkRecord is the input's cost of a line: checked and added to a
// record.
func BenchmarkRecord(b *testing.B) {
	in := testInput(Defaults())
	r := in.newRecorder()
	ds := benchDatagrams(100)
	b.ReportAllocs()
	lines := 0
	for i := 0; b.Loop(); i++ {
		for line := range statsd.Lines(ds[i%len(ds)]) {
			r.add(line, now)
		}
		lines += r.lines
		r.batch()
		r.reset()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
}

// BenchmarkExpand is a reader's cost of a line: a message made from a
// record.
func BenchmarkExpand(b *testing.B) {
	in := testInput(Defaults())
	r := in.newRecorder()
	for _, d := range benchDatagrams(100) {
		for line := range statsd.Lines(d) {
			r.add(line, now)
		}
	}
	var recs []*metlog.Message
	for _, m := range r.batch() {
		recs = append(recs, m.Clone())
	}
	e := NewExpander()
	var dst []*metlog.Message
	b.ReportAllocs()
	lines := 0
	for i := 0; b.Loop(); i++ {
		dst, _ = e.Expand(dst[:0], recs[i%len(recs)], 0, 0)
		lines += len(dst)
		e.Reset()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
}
