package statsd

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/statsd"
)

// testInput is an Input without sockets, for driving a builder.
func testInput(cfg Config) *Input {
	return &Input{
		cfg:      cfg,
		log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		hostname: "host1",
	}
}

// testBuilder returns a builder with in's envelope and rejections.
func testBuilder(in *Input, internLimit int) *builder {
	return newBuilder(in.cfg.Logger, in.hostname, in.cfg.MaxLineSize, internLimit, in.reject)
}

const now = int64(1_700_000_000_123_456_789)

// msg is the message a line should give, with the envelope every statsd
// message has.
func msg(typ, payload string, fields ...metlog.Field) *metlog.Message {
	return &metlog.Message{
		Timestamp: now, Type: typ, Logger: "statsd", Severity: metlog.Info,
		EnvVersion: "0.8", Hostname: "host1", Payload: payload, Fields: fields,
	}
}

func withTime(m *metlog.Message, sec int64) *metlog.Message {
	m.Timestamp = sec * 1e9
	return m
}

var (
	name = func(s string) metlog.Field { return metlog.String("name", s) }
	rate = func(r float64) metlog.Field { return metlog.Float("rate", r) }
	tag  = metlog.String
)

// Every line form, and what it becomes: a message, or the label it is
// rejected with.
var lineForms = []struct {
	line   string
	want   *metlog.Message
	reject string
}{
	// The shapes of metlog-py's messages (04-incr-default, 06-incr-sampled,
	// 07-timer-context).
	{"page_views:1|c", msg("counter", "1", name("page_views"), rate(1)), ""},
	{"sampled_counter:1|c|@0.25", msg("counter", "1", name("sampled_counter"), rate(0.25)), ""},
	{"db_query:12|ms|#table:users", msg("timer", "12", name("db_query"), rate(1), tag("table", "users")), ""},

	{"bytes_in:42|c", msg("counter", "42", name("bytes_in"), rate(1)), ""},
	{"errors:-3|c|@0.5", msg("counter", "-3", name("errors"), rate(0.5)), ""},
	{"load:2.5|c", msg("counter", "2.5", name("load"), rate(1)), ""},
	{"t:12.75|ms|@0.1", msg("timer", "12.75", name("t"), rate(0.1)), ""},
	{"size:320|h", msg("timer", "320", name("size"), rate(1)), ""},
	{"lat:0.004|d|@0.5", msg("timer", "0.004", name("lat"), rate(0.5)), ""},
	{"depth:42|g", msg("gauge", "42", name("depth")), ""},
	{"depth:+4|g", msg("gauge", "+4", name("depth")), ""},
	{"depth:-4|g", msg("gauge", "-4", name("depth")), ""},
	{"depth:7|g|@0.5", msg("gauge", "7", name("depth")), ""},
	{"users:alice|s", msg("set", "alice", name("users")), ""},
	{"users:New York|s|#env:prod", msg("set", "New York", name("users"), tag("env", "prod")), ""},
	{"hits:1|c|#env:prod,canary,url:http://x/y", msg("counter", "1", name("hits"), rate(1),
		tag("env", "prod"), tag("canary", ""), tag("url", "http://x/y")), ""},
	{"hits:1|c|#env:a,env:b", msg("counter", "1", name("hits"), rate(1), tag("env", "a"), tag("env", "b")), ""},
	{"hits:1|c|#name:shadow,rate:x", msg("counter", "1", name("hits"), rate(1), tag("name", "shadow"), tag("rate", "x")), ""},
	{"hits:1|c|T1656581400|c:abc", withTime(msg("counter", "1", name("hits"), rate(1)), 1656581400), ""},
	{"Zoë.count:1|c", msg("counter", "1", name("Zoë.count"), rate(1)), ""},

	{"justaname", nil, "no_value"},
	{":1|c", nil, "empty_name"},
	{"my metric:1|c", nil, "bad_name"},
	{"x:abc|c", nil, "bad_value"},
	{"x:1", nil, "no_type"},
	{"x:1|kv", nil, "unknown_type"},
	{"x:1|c|@2", nil, "bad_rate"},
	{"x:1|c|#a,", nil, "bad_tags"},
	{"x:1|c|zz", nil, "bad_section"},
	{"x:" + strings.Repeat("9", 100) + "|c", nil, "too_large"},
}

func TestLineForms(t *testing.T) {
	cfg := Defaults()
	cfg.MaxLineSize = 64
	for _, internLimit := range []int{65536, 0} {
		in := testInput(cfg)
		b := testBuilder(in, internLimit)
		for _, tt := range lineForms {
			b.add([]byte(tt.line), now)
			got := b.batch()
			switch {
			case tt.want == nil && len(got) != 0:
				t.Errorf("intern %d: %q: accepted as %+v", internLimit, tt.line, got[0])
			case tt.want == nil:
			case len(got) != 1:
				t.Errorf("intern %d: %q: rejected", internLimit, tt.line)
			case !got[0].Equal(tt.want):
				t.Errorf("intern %d: %q:\ngot  %+v\nwant %+v", internLimit, tt.line, got[0], tt.want)
			}
			b.reset()
		}
		s := in.counters.Snapshot()
		errs := in.MalformedKinds()
		for _, tt := range lineForms {
			if tt.reject != "" && tt.reject != "too_large" && errs[tt.reject] != 1 {
				t.Errorf("intern %d: %s counted %d times, want 1", internLimit, tt.reject, errs[tt.reject])
			}
		}
		if s.Rejected["malformed"] != 9 || s.Rejected["too_large"] != 1 {
			t.Errorf("intern %d: rejected %v", internLimit, s.Rejected)
		}
	}
}

// A batch of many lines keeps every message apart, across batches and
// with the intern table full, and what a sink copied of one batch is not
// changed by the next.
func TestBatchesAreIndependent(t *testing.T) {
	cfg := Defaults()
	cfg.Batch = 10
	const internLimit = 8 // most names and tags overflow into the batch's string
	in := testInput(cfg)
	b := testBuilder(in, internLimit)
	var kept []*metlog.Message
	for round := range 5 {
		for i := range 10 {
			b.add(fmt.Appendf(nil, "m%d_%d:%d|ms|#k%d:v%d", round, i, round*100+i, i%3, i), now)
		}
		for _, m := range b.batch() {
			kept = append(kept, m.Clone())
		}
		b.reset()
	}
	for j, m := range kept {
		round, i := j/10, j%10
		want := msg("timer", fmt.Sprint(round*100+i), name(fmt.Sprintf("m%d_%d", round, i)), rate(1),
			tag(fmt.Sprintf("k%d", i%3), fmt.Sprintf("v%d", i)))
		if !m.Equal(want) {
			t.Errorf("message %d:\ngot  %+v\nwant %+v", j, m, want)
		}
	}
}

// Once warm, building messages allocates nothing per line: at most the
// batch's one string.
func TestNoAllocationPerLine(t *testing.T) {
	cfg := Defaults()
	in := testInput(cfg)
	b := testBuilder(in, 65536)
	var datagram []byte
	for i := range 100 {
		datagram = fmt.Appendf(datagram, "app.endpoint_%d:%d|ms|@0.5|#env:prod\napp.hits_%d:1|c\n", i, i*37%500, i)
	}
	run := func() {
		for line := range statsd.Lines(datagram) {
			b.add(line, now)
		}
		if len(b.batch()) != 200 {
			t.Fatal("lines lost")
		}
		b.reset()
	}
	run()
	if a := testing.AllocsPerRun(50, run); a > 1 {
		t.Errorf("%v allocations per batch of 200 lines, want at most 1", a)
	}
}

func TestNamesBounded(t *testing.T) {
	n := newNames(4)
	for i := range 4 {
		if _, ok := n.get(fmt.Append(nil, i)); !ok {
			t.Fatal("not interned while there is room")
		}
	}
	if s, ok := n.get([]byte("0")); !ok || s != "0" {
		t.Fatal("lost an interned string")
	}
	for i := range 15 {
		if _, ok := n.get(fmt.Append(nil, "new", i)); ok {
			t.Fatal("interned beyond the limit")
		}
	}
	// After 4×limit misses the table starts over.
	if _, ok := n.get([]byte("new")); ok {
		t.Fatal("interned beyond the limit")
	}
	if _, ok := n.get([]byte("newer")); !ok || len(n.m) != 1 {
		t.Fatalf("did not start over: %d strings", len(n.m))
	}
	c := cache{shared: newNames(100), m: map[string]string{}, limit: 2}
	for i := range 5 {
		c.get(fmt.Append(nil, i))
	}
	if len(c.m) > 2 {
		t.Errorf("cache holds %d, limit 2", len(c.m))
	}
	if _, ok := c.get(make([]byte, maxInternLen+1)); ok {
		t.Error("interned a long string")
	}
}
