package clickhouse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/match"
	chout "github.com/metlog/metlog/output/clickhouse"
	"github.com/metlog/metlog/store"
)

func TestTranslate(t *testing.T) {
	for _, tc := range []struct {
		expr  string
		where string
		exact bool
	}{
		{"TRUE", "1", true},
		{"Type == 'timer' && Severity <= 4", "(type = 'timer' AND severity <= 4)", true},
		{"Logger != 'a' || Hostname > 'b'", "(logger != 'a' OR hostname > 'b')", true},
		{"Type == \"it's\"", "type = unhex('69742773')", true},
		{"Pid == 7 && Timestamp >= 1464048000000000000", "(pid = 7 AND timestamp >= 1464048000000000000)", true},
		{"Timestamp < '2030-01-01T00:00:00Z'", "timestamp < 1893456000000000000", true},
		{"Severity < 7.5", "severity <= 7", true},
		{"Severity == 2.5", "0", true},
		{"Fields[name] == 'db.latency'", "ifNull(name = 'db.latency', 0)", true},
		{"Fields[name][1] == 'x'", "1", false},
		{"Fields[status] >= 500", "1", false},
		{"Type == 'a' && Payload =~ /x/", "(type = 'a' AND 1)", false},
		{"Uuid == '01234567-89ab-cdef-0123-456789abcdef'", "uuid = unhex('0123456789ABCDEF0123456789ABCDEF')", true},
		{"Uuid == 'not-a-uuid'", "0", true},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			m, err := match.Compile(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			where, exact := translate(match.Simplify(m.Expr()))
			if where != tc.where || exact != tc.exact {
				t.Errorf("translate = %q, %v; want %q, %v", where, exact, tc.where, tc.exact)
			}
		})
	}
}

func TestCursor(t *testing.T) {
	c := cursor{-12345, metlog.NewUUID()}
	got, err := parseCursor(c.String())
	if err != nil || got != c {
		t.Errorf("parseCursor(%q) = %v, %v; want %v", c.String(), got, err, c)
	}
	for _, bad := range []string{"", "1", "1.zz", "1.00", "!.0123456789abcdef0123456789abcdef"} {
		if _, err := parseCursor(bad); err == nil {
			t.Errorf("parseCursor(%q) succeeded", bad)
		}
	}
}

func TestRanges(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{timeRange(0, 0), "1"},
		{timeRange(5, 0), "(timestamp >= 5)"},
		{partitionRange(1_500_000_000_000_000_000, 1_500_000_001_000_000_000),
			"(time >= toDateTime(1500000000)) AND (time <= toDateTime(1500000000))"},
		{partitionRange(-5, -1), "1"},
		{minuteRange(61e9, 0), "(timestamp >= 60000000000) AND ((time >= toDateTime(60)))"},
		{minuteRange(-1, 1), "(timestamp >= -60000000000) AND (timestamp < 60000000000)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestHasTokens(t *testing.T) {
	m := &metlog.Message{Payload: "Connection reset by peer", Fields: []metlog.Field{
		metlog.String("host", "db-1.example.com"), metlog.String(metlog.PayloadTypeField, "json"), metlog.Int("n", 42)}}
	for _, tc := range []struct {
		words []string
		want  bool
	}{
		{[]string{"connection"}, true},
		{[]string{"CONNECTION", "peer"}, true},
		{[]string{"conn*"}, true},
		{[]string{"conn"}, false},
		{[]string{"example.com"}, true},
		{[]string{"json"}, false}, // the payload_type marker is not indexed
		{[]string{"42"}, false},   // nor are integer fields
	} {
		if got := hasTokens(m, searchTokens(tc.words)); got != tc.want {
			t.Errorf("hasTokens(%q) = %v, want %v", tc.words, got, tc.want)
		}
	}
}

// TestServerError checks that an error answered by ClickHouse reaches the
// caller.
func TestServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Code: 60, e.displayText() = DB::Exception: Table default.metlog doesn't exist.", 500)
	}))
	defer srv.Close()
	cfg := chout.Defaults()
	cfg.URL = srv.URL
	s, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Messages(context.Background(), store.Query{})
	var ce *chout.Error
	if !errors.As(err, &ce) || ce.Code != 60 {
		t.Errorf("Messages = %v, want the server's error", err)
	}
	var qe *store.QueryError
	if _, err := s.Messages(context.Background(), store.Query{Match: "Type =="}); !errors.As(err, &qe) || qe.Param != "match" {
		t.Errorf("bad matcher: %v, want a QueryError of match", err)
	}
}

// FuzzRowReader checks that no answer from the server makes the row
// reader panic or loop.
func FuzzRowReader(f *testing.F) {
	var row []byte
	row = append(row, make([]byte, 16)...)
	row = append(row, 1, 0, 0, 0, 0, 0, 0, 0)
	row = append(row, 1, 't', 0, 6, 0, 0, 0, 1, 'p', 0, 0, 0, 0, 0, 0)
	proto := (&metlog.Message{Fields: []metlog.Field{metlog.String("a", "b")}}).AppendProtobuf(nil)
	row = append(append(row, byte(len(proto))), proto...)
	f.Add(row)
	f.Add(append(row, row...))
	f.Add(row[:20])
	f.Fuzz(func(t *testing.T, data []byte) {
		r := rowReader{r: bufio.NewReader(bytes.NewReader(data))}
		for range len(data) + 1 {
			if _, err := r.message(); err != nil {
				return
			}
		}
		t.Fatal("more rows than bytes")
	})
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{"abc": "'abc'", "it's": "unhex('69742773')", "a\\b": "unhex('615C62')", "é": "unhex('C3A9')"} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
	if !strings.HasPrefix(quote("\x00"), "unhex") {
		t.Error("NUL not hex-quoted")
	}
}
