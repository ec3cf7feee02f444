package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
	"github.com/metlog/metlog/store"
)

// captures decodes every metlog-py capture in testdata/metlog-py.
func captures(t *testing.T) []*metlog.Message {
	t.Helper()
	files, _ := filepath.Glob("testdata/metlog-py/*.json")
	if len(files) == 0 {
		t.Fatal("no captures in testdata/metlog-py")
	}
	slices.Sort(files)
	var out []*metlog.Message
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := metlogjson.Unmarshal(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		m.UUID = metlog.NewUUIDAt(m.Time())
		m.Timestamp += int64(i)
		out = append(out, m)
	}
	return out
}

// loaded is a test server over a store holding every capture and a
// minute of timers.
func loaded(t *testing.T) (*httptest.Server, []*metlog.Message) {
	t.Helper()
	cfg := store.Defaults()
	cfg.Path, cfg.MaxAge, cfg.MaxBytes = t.TempDir(), 0, 0
	out, err := New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	msgs := captures(t)
	start := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	for i := range 60 {
		ts := start.Add(time.Duration(i) * time.Second)
		msgs = append(msgs, &metlog.Message{UUID: metlog.NewUUIDAt(ts), Timestamp: ts.UnixNano(), Type: "timer",
			Payload: fmt.Sprint(i + 1), Fields: []metlog.Field{metlog.String("name", "render")}})
	}
	if err := out.Write(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for p, h := range out.Routes() {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, msgs
}

func get(t *testing.T, srv *httptest.Server, path string, params url.Values, v any) int {
	t.Helper()
	resp, err := http.Get(srv.URL + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: content type %q", path, ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode
}

func TestMessagesAPI(t *testing.T) {
	srv, msgs := loaded(t)
	tests := []struct {
		name   string
		params url.Values
		want   int
	}{
		{"all", url.Values{"limit": {"1000"}}, len(msgs)},
		{"type", url.Values{"match": {"Type == 'oldstyle'"}}, count(msgs, func(m *metlog.Message) bool { return m.Type == "oldstyle" })},
		{"regexp and severity", url.Values{"match": {"Logger =~ /app$/ && Severity <= 3"}}, count(msgs, func(m *metlog.Message) bool {
			return strings.HasSuffix(m.Logger, "app") && m.Severity <= 3
		})},
		{"words", url.Values{"q": {"café"}}, 2},
		{"range", url.Values{"from": {"2026-11-22T01:00:30Z"}, "to": {"2026-11-22T01:00:40Z"}}, 10},
		{"paged", url.Values{"match": {"Type == 'timer'"}, "limit": {"7"}}, count(msgs, func(m *metlog.Message) bool { return m.Type == "timer" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []*Message
			params := tt.params
			for {
				var body messagesBody
				if code := get(t, srv, "/api/messages", params, &body); code != http.StatusOK {
					t.Fatalf("status %d", code)
				}
				got = append(got, body.Messages...)
				if body.Next == "" {
					break
				}
				params.Set("cursor", body.Next)
			}
			if len(got) != tt.want {
				t.Fatalf("%d messages, want %d", len(got), tt.want)
			}
			for i := 1; i < len(got); i++ {
				a, _ := time.Parse(time.RFC3339Nano, got[i-1].Timestamp)
				b, _ := time.Parse(time.RFC3339Nano, got[i].Timestamp)
				if b.After(a) {
					t.Fatal("not newest first")
				}
			}
		})
	}
}

func count(msgs []*metlog.Message, keep func(*metlog.Message) bool) int {
	n := 0
	for _, m := range msgs {
		if keep(m) {
			n++
		}
	}
	return n
}

// A message comes back with every field, typed and in order.
func TestMessageFields(t *testing.T) {
	srv, msgs := loaded(t)
	var want *metlog.Message
	for _, m := range msgs {
		if m.Type == "bytes" {
			want = m
		}
	}
	var body messagesBody
	get(t, srv, "/api/messages", url.Values{"match": {"Uuid == '" + want.UUID.String() + "'"}}, &body)
	if len(body.Messages) != 1 {
		t.Fatalf("%d messages", len(body.Messages))
	}
	got := body.Messages[0]
	if got.Payload != want.Payload || got.Timestamp != want.Time().Format(time.RFC3339Nano) || len(got.Fields) != len(want.Fields) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i, f := range got.Fields {
		if f.Name != want.Fields[i].Name || f.Type != want.Fields[i].Type.String() || len(f.Values) != want.Fields[i].Len() {
			t.Errorf("field %d: %+v, want %+v", i, f, want.Fields[i])
		}
	}
}

func TestSeriesAndExceptionsAPI(t *testing.T) {
	srv, _ := loaded(t)
	var names struct{ Names []store.MetricName }
	get(t, srv, "/api/series/names", url.Values{"from": {"2026-11-22T00:00:00Z"}, "to": {"2026-11-23T00:00:00Z"}}, &names)
	if !slices.ContainsFunc(names.Names, func(n store.MetricName) bool { return n.Name == "render" && n.Kind == "timer" }) ||
		!slices.ContainsFunc(names.Names, func(n store.MetricName) bool { return n.Name == "bytes_in" && n.Kind == "counter" }) {
		t.Errorf("names %+v", names.Names)
	}
	var series struct{ Series []store.Series }
	code := get(t, srv, "/api/series", url.Values{"kind": {"timer"}, "name": {"render"},
		"from": {"2026-11-22T01:00:00Z"}, "to": {"2026-11-22T01:02:00Z"}, "step": {"1m"}}, &series)
	if code != 200 || len(series.Series) != 1 || len(series.Series[0].Points) != 2 {
		t.Fatalf("status %d, series %+v", code, series)
	}
	p := series.Series[0].Points[0]
	if p.Count != 60 || *p.P99 < 58.4 || *p.P99 > 60.6 || *p.P50 < 29.7 || *p.P50 > 31.3 {
		t.Errorf("point %+v p50 %v p99 %v", p, *p.P50, *p.P99)
	}
	var exc struct {
		Groups []struct {
			Source, Title string
			Count         int64
			Sparkline     []int64
			Sample        *Message
		}
	}
	get(t, srv, "/api/exceptions", url.Values{"from": {"2026-11-22T00:00:00Z"}, "to": {"2026-11-23T00:00:00Z"}}, &exc)
	if len(exc.Groups) != 4 { // two tracebacks, the raven event, the explicit payload
		t.Fatalf("%d groups: %+v", len(exc.Groups), exc.Groups)
	}
	for _, g := range exc.Groups {
		if g.Sample == nil || g.Count == 0 || len(g.Sparkline) != 30 {
			t.Errorf("group %+v", g)
		}
	}
}

func TestErrors(t *testing.T) {
	srv, _ := loaded(t)
	tests := []struct {
		path   string
		params url.Values
		status int
		param  string
		text   string
	}{
		{"/api/messages", url.Values{"match": {"Type == 'x' &&& Severity < 3"}}, 400, "match", "column 15"},
		{"/api/messages", url.Values{"from": {"yesterday"}}, 400, "from", "RFC 3339"},
		{"/api/messages", url.Values{"limit": {"-3"}}, 400, "limit", "whole number"},
		{"/api/messages", url.Values{"cursor": {"x"}}, 400, "cursor", "next"},
		{"/api/messages", url.Values{"matcher": {"TRUE"}}, 400, "matcher", "takes match, from"},
		{"/api/series", url.Values{"kind": {"histogram"}, "name": {"x"}}, 400, "kind", "counter, gauge or timer"},
		{"/api/series", url.Values{"kind": {"timer"}}, 400, "name", "/api/series/names"},
		{"/api/series", url.Values{"kind": {"timer"}, "name": {"x"}, "step": {"10s"}}, 400, "step", "minutes"},
		{"/api/exceptions", url.Values{"buckets": {"5000"}}, 400, "buckets", "maximum"},
		{"/api/nothing", nil, 404, "", "/api/messages"},
	}
	for _, tt := range tests {
		var body errorBody
		code := get(t, srv, tt.path, tt.params, &body)
		if code != tt.status || body.Param != tt.param || !strings.Contains(body.Error, tt.text) {
			t.Errorf("%s %v: %d %+v, want %d about %s mentioning %q", tt.path, tt.params, code, body, tt.status, tt.param, tt.text)
		}
	}
}
