package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input"
	inhttp "github.com/metlog/metlog/input/http"
	"github.com/metlog/metlog/store"
	"github.com/metlog/metlog/web"
)

// The HTTP handlers a router serves, fuzzed in process: the JSON API over
// the store and the HTTP input. Whatever the request, they answer with a
// client error or success — never a panic, never a 500 — and with JSON.

// apiRoutes is a store holding a few messages of each kind, and its API.
func apiRoutes(f *testing.F) http.Handler {
	cfg := store.Defaults()
	cfg.Path, cfg.MaxAge, cfg.MaxBytes = f.TempDir(), 0, 0
	out, err := web.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { out.Close() })
	start := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)
	var msgs []*metlog.Message
	for i := range 60 {
		ts := start.Add(time.Duration(i) * time.Second)
		typ := []string{"timer", "counter", "oldstyle", "exception"}[i%4]
		msgs = append(msgs, &metlog.Message{UUID: metlog.NewUUIDAt(ts), Timestamp: ts.UnixNano(), Type: typ,
			Logger: "app", Severity: metlog.Severity(i % 8), Payload: fmt.Sprint(i + 1),
			Fields: []metlog.Field{metlog.String("name", "render"), metlog.Int("n", int64(i))}})
	}
	if err := out.Write(context.Background(), msgs); err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	for p, h := range out.Routes() {
		if strings.HasPrefix(p, "GET /api/") || p == "/api/" {
			mux.Handle(p, h)
		}
	}
	return mux
}

// FuzzAPI sends the store's JSON API any path and query.
func FuzzAPI(f *testing.F) {
	h := apiRoutes(f)
	for _, s := range []struct{ path, query string }{
		{"/api/messages", "match=Type+%3D%3D+%27timer%27&limit=10"},
		{"/api/messages", "from=2026-11-22T01:00:00Z&to=2026-11-22T02:00:00Z&q=render"},
		{"/api/messages", "cursor=abc&limit=-1"},
		{"/api/messages", "match=Fields%5Bname%5D+%3D~+%2F%5Erend%2F"},
		{"/api/series", "kind=timer&name=render&step=1s"},
		{"/api/series", "kind=counter&name=render&from=0&to=99999999999999999999"},
		{"/api/series/names", "from=-1h"},
		{"/api/exceptions", "buckets=10&limit=5&logger=app"},
		{"/api/exceptions", "buckets=1000000000"},
		{"/api/nothing", ""},
	} {
		f.Add(s.path, s.query)
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u := &url.URL{Path: path, RawQuery: query}
		req, err := http.NewRequest("GET", "http://router"+u.RequestURI(), nil)
		if err != nil {
			return // not a request a client can make
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req.WithContext(ctx))
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("GET %s: %d %s", u.RequestURI(), rec.Code, rec.Body)
		}
		// ServeMux answers a path it cleans (/api/./x) with a redirect of
		// its own; everything else the API answers is JSON.
		if strings.HasPrefix(req.URL.Path, "/api/") && rec.Code/100 != 3 && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("GET %s: %d, not JSON: %q", u.RequestURI(), rec.Code, rec.Body)
		}
	})
}

// discardSink takes every message and keeps none.
type discardSink struct{}

func (discardSink) Deliver(context.Context, []*metlog.Message, input.DeliverOptions) error {
	return nil
}

// FuzzHTTPInput posts any body, with any content type and encoding, to the
// HTTP input.
func FuzzHTTPInput(f *testing.F) {
	cfg := inhttp.Defaults()
	cfg.MaxBodySize = 1 << 20
	in, err := inhttp.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	h := in.Handler(discardSink{})
	f.Add([]byte(`{"type": "t", "payload": "x"}`+"\n"), "application/x-ndjson", "")
	f.Add([]byte(`{"type": "t", "fields": {"a": [1, 2, {"b": null}]}}`), "application/json", "")
	f.Add([]byte("\x1e\x02\x08\x05\x1f\x0a\x03\x01\x02\x03"), "application/x-heka", "")
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00"), "application/x-ndjson", "gzip")
	f.Add([]byte(`{"type": 5}`), "", "deflate")
	f.Fuzz(func(t *testing.T, body []byte, contentType, encoding string) {
		req := httptest.NewRequest("POST", cfg.Path, bytes.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%d, not JSON: %q", rec.Code, rec.Body)
		}
	})
}
