package store

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/match"
)

// all pages through q and returns every message.
func all(t *testing.T, s *Store, q Query) []*metlog.Message {
	t.Helper()
	var out []*metlog.Message
	for range 10000 {
		p, err := s.Messages(context.Background(), q)
		if err != nil {
			t.Fatalf("%q: %v", q.Match, err)
		}
		out = append(out, p.Messages...)
		if p.Next == "" {
			return out
		}
		q.Cursor = p.Next
	}
	t.Fatal("too many pages")
	return nil
}

func newestFirst(msgs []*metlog.Message) []*metlog.Message {
	out := slices.Clone(msgs)
	slices.SortStableFunc(out, func(a, b *metlog.Message) int { return cmpInt64(b.Timestamp, a.Timestamp) })
	return out
}

func uuids(msgs []*metlog.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.UUID.String())
	}
	return out
}

// TestMatchesLikeRouter checks that every expression selects from the
// store exactly what the router's matcher selects from the corpus, in
// order, across pages and partitions.
func TestMatchesLikeRouter(t *testing.T) {
	msgs := corpus(t)
	s := openTest(t, nil)
	write(t, s, msgs)
	exprs := append(expressions(t),
		"Type == 'counter' && Fields[name] == 'db.query.1'",
		"Fields[name] >= 'db.query.1' || Fields[name] == 'dup'",
		"Fields[name] == NIL",
		"Fields[name] != NIL && Type != 'counter'",
		"Fields[name] < 100",
		"Severity <= 3 && Logger == 'web'",
		"Severity < 3.5 || Severity > 6.5 || Severity == 2.5 || Severity != 0.5",
		"Pid >= 3 && Hostname != 'db-1'",
		"Hostname < 'web'",
		"Timestamp >= '2026-11-22T01:00:00Z' && Timestamp < 1763776800000000000",
		"Timestamp > 1.7637768e18",
		"Uuid == '"+msgs[40].UUID.String()+"' || Uuid == '"+strings.ToUpper(msgs[41].UUID.String())+"'",
		"Uuid != '"+msgs[40].UUID.String()+"' && Type == 'custom'",
		"Fields[status] >= 500 && Fields[headers.path] =~ /^\\/api\\//",
		"Fields[cached] == TRUE && Severity == 4",
		"Fields[tags][0][1] == 'b'",
		"Payload =~ /worker-2$/ && Type == 'custom'",
		"Type =~ /^(timer|gauge)$/",
		"Logger !~ /\\./ && Type == 'exception'",
		"Fields[rate] < 1 && Fields[rate] > 0",
		"FALSE",
	)
	for _, expr := range exprs {
		t.Run(expr, func(t *testing.T) {
			m := match.MustCompile(expr)
			var want []*metlog.Message
			for _, msg := range newestFirst(msgs) {
				if m.Match(msg) {
					want = append(want, msg)
				}
			}
			got := all(t, s, Query{Match: expr, Limit: 37})
			if g, w := uuids(got), uuids(want); !slices.Equal(g, w) {
				t.Fatalf("got %d messages, want %d", len(g), len(w))
			}
			for i := range got {
				if !got[i].Equal(want[i]) {
					t.Fatalf("message %d differs:\n got %+v\nwant %+v", i, got[i], want[i])
				}
			}
		})
	}
}

func TestMessagesRangeAndWords(t *testing.T) {
	msgs := generated(1000)
	s := openTest(t, nil)
	write(t, s, msgs)
	from, to := base.Add(30*time.Minute).UnixNano(), base.Add(90*time.Minute).UnixNano()
	tests := []struct {
		name  string
		q     Query
		keep  func(*metlog.Message) bool
		limit int
	}{
		{"range", Query{From: from, To: to}, func(m *metlog.Message) bool { return true }, 0},
		{"type and range", Query{Match: "Type == 'custom'", From: from, To: to, Limit: 5},
			func(m *metlog.Message) bool { return m.Type == "custom" }, 0},
		{"word", Query{Words: []string{"WORKER-2"}, From: from, To: to},
			func(m *metlog.Message) bool { return hasTokens(m.Payload, "worker", "2") }, 0},
		{"prefix", Query{Words: []string{"serv*", "ms"}},
			func(m *metlog.Message) bool { return strings.Contains(m.Payload, "served") }, 0},
		{"field value", Query{Words: []string{"orders"}, Match: "Severity < 4"},
			func(m *metlog.Message) bool {
				f := m.Field("headers.path")
				return m.Severity < 4 && f != nil && f.Strings[0] == "/api/orders"
			}, 0},
		{"limit", Query{Match: "Type == 'timer'", Limit: 3}, func(m *metlog.Message) bool { return m.Type == "timer" }, 3},
	}
	for _, walk := range []bool{false, true} {
		if walk {
			// Every word is common: each chunk of rows is checked against
			// the index instead.
			defer func(n int) { ftsFew = n }(ftsFew)
			ftsFew = 1
		}
		for _, tt := range tests {
			testRangeAndWords(t, s, msgs, tt.name, tt.q, tt.keep, tt.limit)
		}
	}
}

func testRangeAndWords(t *testing.T, s *Store, msgs []*metlog.Message, name string, q Query, keep func(*metlog.Message) bool, limit int) {
	tt := struct {
		q     Query
		keep  func(*metlog.Message) bool
		limit int
	}{q, keep, limit}
	{
		t.Run(name, func(t *testing.T) {
			var want []*metlog.Message
			for _, m := range newestFirst(msgs) {
				inRange := (tt.q.From == 0 || m.Timestamp >= tt.q.From) && (tt.q.To == 0 || m.Timestamp < tt.q.To)
				if inRange && tt.keep(m) {
					want = append(want, m)
				}
			}
			var got []*metlog.Message
			if tt.limit > 0 {
				p, err := s.Messages(context.Background(), tt.q)
				if err != nil {
					t.Fatal(err)
				}
				got, want = p.Messages, want[:tt.limit]
				if p.Next == "" {
					t.Error("no next cursor on a full page")
				}
			} else {
				got = all(t, s, tt.q)
			}
			if len(want) == 0 {
				t.Fatal("the test selects nothing")
			}
			if g, w := uuids(got), uuids(want); !slices.Equal(g, w) {
				t.Fatalf("got %d messages, want %d", len(g), len(w))
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	s := openTest(t, func(c *Config) { c.FullText = false })
	tests := []struct {
		q     Query
		param string
		text  string
	}{
		{Query{Match: "Type == 'x' &&"}, "match", "column"},
		{Query{Match: "Severity =~ /x/"}, "match", "column"},
		{Query{Cursor: "nope"}, "cursor", "next"},
		{Query{Limit: MaxLimit + 1}, "limit", "maximum"},
		{Query{From: 5, To: 5}, "from", "before"},
		{Query{Words: []string{"x"}}, "q", "full_text"},
	}
	for _, tt := range tests {
		_, err := s.Messages(context.Background(), tt.q)
		var qe *QueryError
		if !errors.As(err, &qe) || qe.Param != tt.param || !strings.Contains(err.Error(), tt.text) {
			t.Errorf("%+v: got %v, want a %s error mentioning %q", tt.q, err, tt.param, tt.text)
		}
	}
}

func TestDedupe(t *testing.T) {
	msgs := generated(300)
	s := openTest(t, nil)
	write(t, s, msgs)
	write(t, s, msgs[100:200]) // a replay after a crash
	write(t, s, msgs[250:])
	if st := s.Stats(); st.Stored != 300 || st.Duplicates != 150 {
		t.Errorf("stats %+v, want 300 stored and 150 duplicates", st)
	}
	if got := all(t, s, Query{}); len(got) != 300 {
		t.Errorf("%d messages, want 300", len(got))
	}
	ser, err := s.Series(context.Background(), SeriesQuery{Kind: "timer", Names: []string{"db.latency"},
		From: base.UnixNano(), To: base.Add(time.Hour).UnixNano(), Step: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := ser[0].Points[0].Count; got != 50 {
		t.Errorf("timer count %d, want 50 (duplicates must not reach the rollups)", got)
	}
}

func TestPartitionsAndReopen(t *testing.T) {
	msgs := generated(1200) // 1200 × 7 s = 2h20m: three one-hour partitions
	s := openTest(t, nil)
	write(t, s, msgs)
	if n := s.Stats().Partitions; n != 3 {
		t.Fatalf("%d partitions, want 3", n)
	}
	cfg := s.cfg
	s.Close()
	cfg.Partition.UnmarshalText([]byte("30m")) // existing files keep their span
	s2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := all(t, s2, Query{}); len(got) != len(msgs) {
		t.Fatalf("%d messages after reopening, want %d", len(got), len(msgs))
	}
	// A gauge delta after reopening adds to the value stored before.
	last := s2.ing.gauges["queue.depth"]
	later := base.Add(3 * time.Hour)
	write(t, s2, []*metlog.Message{{UUID: metlog.NewUUIDAt(later), Timestamp: later.UnixNano(), Type: "gauge", Payload: "+5",
		Fields: []metlog.Field{metlog.String("name", "queue.depth")}}})
	ser, err := s2.Series(context.Background(), SeriesQuery{Kind: "gauge", Names: []string{"queue.depth"},
		From: later.UnixNano(), To: later.Add(time.Minute).UnixNano()})
	if err != nil {
		t.Fatal(err)
	}
	if v := ser[0].Points[0].Value; v == nil || *v != last+5 {
		t.Errorf("gauge after reopening = %v, want %v", v, last+5)
	}
	if n := s2.Stats().Partitions; n != 4 {
		t.Errorf("%d partitions, want 4 (the new one 30 minutes long)", n)
	}
}

func TestRetention(t *testing.T) {
	msgs := generated(2000) // about 3h53m
	t.Run("age", func(t *testing.T) {
		s := openTest(t, func(c *Config) { c.MaxAge.UnmarshalText([]byte("2h")) })
		s.now = func() time.Time { return base.Add(4 * time.Hour) }
		write(t, s, msgs)
		st := s.Stats()
		if st.Partitions != 2 || st.Expired == 0 {
			t.Errorf("stats %+v, want 2 partitions and some expired", st)
		}
		got := all(t, s, Query{})
		if oldest := got[len(got)-1].Time(); oldest.Before(base.Add(2 * time.Hour)) {
			t.Errorf("oldest message %v is past the age limit", oldest)
		}
		s.now = func() time.Time { return base.Add(7 * time.Hour) }
		s.lastGC = time.Time{}
		if err := s.Write(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Partitions != 0 {
			t.Errorf("%d partitions left, want none", st.Partitions)
		}
	})
	t.Run("size", func(t *testing.T) {
		s := openTest(t, nil)
		write(t, s, msgs)
		size := s.Stats().Bytes
		s.cfg.MaxBytes = size * 2 / 3
		s.lastGC = time.Time{}
		if err := s.Write(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		st := s.Stats()
		if st.Bytes > s.cfg.MaxBytes || st.Partitions == 0 {
			t.Errorf("stats %+v, want at most %d bytes", st, s.cfg.MaxBytes)
		}
		got := all(t, s, Query{})
		if !got[0].Equal(newestFirst(msgs)[0]) {
			t.Error("the newest message was dropped")
		}
	})
}

func TestSeries(t *testing.T) {
	s := openTest(t, nil)
	var msgs []*metlog.Message
	at := func(i int) int64 { return base.Add(time.Duration(i) * time.Second).UnixNano() }
	for i := range 600 { // ten minutes, one of each a second
		msgs = append(msgs,
			&metlog.Message{UUID: metlog.NewUUID(), Timestamp: at(i), Type: "counter", Payload: "2",
				Fields: []metlog.Field{metlog.String("name", "hits"), metlog.Float("rate", 0.5)}},
			&metlog.Message{UUID: metlog.NewUUID(), Timestamp: at(i), Type: "timer", Payload: strconvI(i%100 + 1),
				Fields: []metlog.Field{metlog.String("name", "latency")}},
			&metlog.Message{UUID: metlog.NewUUID(), Timestamp: at(i), Type: "gauge", Payload: "+1",
				Fields: []metlog.Field{metlog.String("name", "depth")}},
		)
	}
	write(t, s, msgs)
	q := func(kind, name string) []Point {
		ser, err := s.Series(context.Background(), SeriesQuery{Kind: kind, Names: []string{name},
			From: base.UnixNano(), To: base.Add(10 * time.Minute).UnixNano(), Step: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if len(ser[0].Points) != 2 {
			t.Fatalf("%d points, want 2", len(ser[0].Points))
		}
		return ser[0].Points
	}
	for _, p := range q("counter", "hits") {
		if p.Count != 300 || math.Abs(*p.Rate-4) > 1e-9 {
			t.Errorf("counter point %+v, want 300 messages at 4/s", p)
		}
	}
	for _, p := range q("timer", "latency") {
		near := func(got *float64, want float64) bool { return got != nil && math.Abs(*got-want) <= want*0.011 }
		if p.Count != 300 || !near(p.P50, 50) || !near(p.P90, 90) || !near(p.P99, 99) || *p.Max != 100 {
			t.Errorf("timer point count %d p50 %v p90 %v p99 %v max %v", p.Count, *p.P50, *p.P90, *p.P99, *p.Max)
		}
	}
	if p := q("gauge", "depth"); *p[0].Value != 300 || *p[1].Value != 600 {
		t.Errorf("gauge values %v %v, want 300 600", *p[0].Value, *p[1].Value)
	}
	names, err := s.MetricNames(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []MetricName{{"hits", "counter", 600}, {"depth", "gauge", 600}, {"latency", "timer", 600}}
	if !slices.Equal(names, want) {
		t.Errorf("names %+v, want %+v", names, want)
	}
	for _, bad := range []SeriesQuery{
		{Kind: "histogram", Names: []string{"x"}, From: 1, To: 2},
		{Kind: "timer", From: 1, To: 2},
		{Kind: "timer", Names: []string{"x"}, From: 1, To: 2, Step: time.Second},
		{Kind: "timer", Names: []string{"x"}, From: 1, To: int64(365 * 24 * time.Hour), Step: time.Minute},
	} {
		var qe *QueryError
		if _, err := s.Series(context.Background(), bad); !errors.As(err, &qe) {
			t.Errorf("%+v: got %v, want a QueryError", bad, err)
		}
	}
}

// hasTokens reports whether s holds every token as a whole word, as the
// full-text index splits it.
func hasTokens(s string, toks ...string) bool {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
	for _, tok := range toks {
		if !slices.Contains(words, tok) {
			return false
		}
	}
	return true
}

func strconvI(i int) string {
	return string(rune('0'+i/100)) + string(rune('0'+i/10%10)) + string(rune('0'+i%10))
}

func TestExceptions(t *testing.T) {
	s := openTest(t, nil)
	caps := captures(t)
	write(t, s, caps)
	write(t, s, generated(600))
	groups, err := s.Exceptions(context.Background(), ExceptionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	bySource := map[string][]*ExceptionGroup{}
	for _, g := range groups {
		bySource[g.Source] = append(bySource[g.Source], g)
		if g.Sample == nil || g.Count == 0 || g.FirstSeen > g.LastSeen {
			t.Errorf("group %+v incomplete", g)
		}
	}
	if g := bySource["exception"]; len(g) != 2 || g[0].Count+g[1].Count != 100 || g[0].ErrorType != "*fs.PathError" {
		t.Errorf("Go client exceptions: %+v", g)
	}
	// 27 and its -b copy share the raven checksum; 28's event differs.
	if g := bySource["sentry"]; len(g) != 2 || g[0].Count+g[1].Count != 4 || g[1].ErrorType != "ZeroDivisionError" || g[0].Title != "explicit payload" {
		for _, x := range g {
			t.Errorf("sentry group %+v", *x)
		}
	}
	for _, g := range bySource["traceback"] {
		if !strings.HasPrefix(g.Title, "ZeroDivisionError") && !strings.HasPrefix(g.Title, "KeyError") {
			t.Errorf("traceback group %+v", g)
		}
	}
	if len(bySource["traceback"]) != 2 {
		t.Errorf("%d traceback groups, want 2 (14 and 15)", len(bySource["traceback"]))
	}
	ex, err := s.Exceptions(context.Background(), ExceptionQuery{Logger: "web.api",
		From: base.UnixNano(), To: base.Add(time.Hour).UnixNano(), Buckets: 6})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range ex {
		var sum int64
		for _, n := range g.Sparkline {
			sum += n
		}
		if g.Logger != "web.api" || len(g.Sparkline) != 6 || sum != g.Count {
			t.Errorf("group %+v: sparkline sums to %d", g, sum)
		}
	}
}

func TestSampleConfig(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), Sample()) {
		t.Error("README.md does not show sample.toml as it is")
	}
	if err := (&Config{}).Validate(); err == nil {
		t.Error("an empty config is valid")
	}
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
}

// TestIndexesFromVersion2 opens files of schema version 2, with their
// unique index of UUIDs and their index of times: both are replaced by the
// index of (ts, uuid), the messages are all there, and one written again is
// still a duplicate.
func TestIndexesFromVersion2(t *testing.T) {
	msgs, cfg := writtenClosed(t, 1200)
	files, _ := filepath.Glob(filepath.Join(cfg.Path, "messages-*.db"))
	if len(files) == 0 {
		t.Fatal("no partition file")
	}
	indexesOf := func(f string) []string {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+f)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for rows.Next() {
			var name string
			rows.Scan(&name)
			names = append(names, name)
		}
		return names
	}
	for _, f := range files {
		db, err := sql.Open("sqlite", "file:"+f)
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Exec(`DROP INDEX messages_ts_uuid;
			CREATE UNIQUE INDEX messages_uuid ON messages (uuid);
			CREATE INDEX messages_ts ON messages (ts);
			UPDATE meta SET value = 2 WHERE key = 'version'`)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := indexesOf(f); !slices.Equal(got, []string{"messages_ts", "messages_type_ts", "messages_uuid"}) {
			t.Fatalf("version 2 file made with indexes %v", got)
		}
	}
	s2, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for _, f := range files {
		if got := indexesOf(f); !slices.Equal(got, []string{"messages_ts_uuid", "messages_type_ts"}) {
			t.Errorf("%s: indexes %v after opening", filepath.Base(f), got)
		}
	}
	res, err := s2.Messages(context.Background(), Query{Limit: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != len(msgs) {
		t.Errorf("%d messages after the upgrade, want %d", len(res.Messages), len(msgs))
	}
	write(t, s2, msgs[:10])
	if st := s2.Stats(); st.Stored != 0 || st.Duplicates != 10 {
		t.Errorf("writing 10 stored messages again: %d stored, %d duplicates; want 0 and 10", st.Stored, st.Duplicates)
	}
}
