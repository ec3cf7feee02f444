package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output/clickhouse/clickhousetest"
	"github.com/metlog/metlog/store"
)

// corpusStart is the time the generated part of the equivalence corpus
// starts at.
var corpusStart = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

// generated makes n varied messages, 7 s apart from corpusStart, spanning
// several hours: every type the API treats specially, and fields of every
// kind.
func generated(n int) []*metlog.Message {
	types := []string{"oldstyle", "counter", "timer", "gauge", "custom", "exception"}
	loggers := []string{"web", "db", "worker", "web.api"}
	hosts := []string{"web-1.example.com", "web-22.example.com", "db-1", ""}
	var out []*metlog.Message
	for i := range n {
		ts := corpusStart.Add(time.Duration(i) * 7 * time.Second)
		m := &metlog.Message{
			UUID: metlog.NewUUIDAt(ts), Timestamp: ts.UnixNano(), Type: types[i%len(types)],
			Logger: loggers[i%len(loggers)], Severity: metlog.Severity(i % 8), Hostname: hosts[i%len(hosts)],
			Pid: int32(i % 5), EnvVersion: "0.8",
		}
		switch m.Type {
		case "counter":
			m.Payload = fmt.Sprint(i%3 + 1)
			m.Fields = []metlog.Field{metlog.String("name", fmt.Sprintf("db.query.%d", i%3)), metlog.Float("rate", []float64{1, 0.5, 0.25}[i%3])}
		case "timer":
			m.Payload = fmt.Sprint(i % 250)
			m.Fields = []metlog.Field{metlog.String("name", "db.latency"), metlog.Float("rate", 1)}
		case "gauge":
			m.Payload = fmt.Sprint(i % 40)
			if i%4 == 1 {
				m.Payload = "+2"
			}
			m.Fields = []metlog.Field{metlog.String("name", "queue.depth")}
		case "exception":
			m.Payload = "open /tmp/x: no such file"
			m.Fields = []metlog.Field{
				metlog.Strings(metlog.FieldErrorType, "*fs.PathError"),
				metlog.Strings(metlog.FieldErrorMessage, "open /tmp/x: no such file"),
				metlog.Strings(metlog.FieldStackFunc, fmt.Sprintf("main.handler%d", i%2), "main.main"),
				metlog.String(metlog.FieldMechanism, "error"),
			}
		default:
			i := i / 6
			m.Payload = fmt.Sprintf("request %d served in %d ms by worker-%d", i, i%100, i%3)
			m.Fields = []metlog.Field{
				metlog.Int("status", int64([]int{200, 404, 500, 503}[i%4])),
				metlog.String("headers.path", []string{"/api/users", "/static/a.css", "/api/orders"}[i%3]),
				metlog.Bool("cached", i%2 == 0),
			}
			if i%5 == 0 {
				m.Fields = append(m.Fields, metlog.Ints("name", int64(i)))
			}
			if i%7 == 0 {
				m.Fields = append(m.Fields, metlog.String("name", "dup"), metlog.Strings("tags", "a", "b", "c"))
			}
		}
		out = append(out, m)
	}
	return out
}

// serve returns a test server of out's routes.
func serve(t *testing.T, out *Output) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for p, h := range out.Routes() {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func fetch(t *testing.T, srv *httptest.Server, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestClickHouseBackend loads one corpus into the embedded store and into
// ClickHouse (each message twice, as an at-least-once delivery may) and
// checks that the API answers the same queries with the same JSON. The
// "next" cursors differ in form between the backends: pages are followed
// with each backend's own, and only their presence is compared.
func TestClickHouseBackend(t *testing.T) {
	ch := clickhousetest.Start(t)
	quiet := slog.New(slog.DiscardHandler)

	ecfg := store.Defaults()
	ecfg.Path, ecfg.MaxAge, ecfg.MaxBytes = t.TempDir(), 0, 0
	ecfg.Partition.UnmarshalText([]byte("1h"))
	embedded, err := New(ecfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { embedded.Close() })

	ccfg := store.Defaults()
	ccfg.Backend = "clickhouse"
	ccfg.ClickHouse.URL = ch.URL
	ccfg.ClickHouse.Database = "metlog_web"
	ccfg.ClickHouse.MinInterval = 0
	warehouse, err := New(ccfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { warehouse.Close() })

	msgs := append(captures(t), generated(1500)...)
	ctx := context.Background()
	for b := range slices.Chunk(msgs, 100) {
		if err := embedded.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := warehouse.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	// Deliver some again, as a router restarted mid-batch would.
	if err := warehouse.Write(ctx, msgs[1000:1100]); err != nil {
		t.Fatal(err)
	}
	esrv, csrv := serve(t, embedded), serve(t, warehouse)

	var queries []string
	exprs, err := os.ReadFile("testdata/expressions.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(exprs), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			queries = append(queries, "/api/messages?limit=1000&match="+url.QueryEscape(l))
		}
	}
	day := "from=2026-11-22T00:00:00Z&to=2026-11-22T03:00:00Z"
	queries = append(queries,
		"/api/messages",
		"/api/messages?limit=7",
		"/api/messages?limit=333&match="+url.QueryEscape("Type == 'counter' || Fields[status] >= 500"),
		"/api/messages?limit=50&match="+url.QueryEscape("Payload =~ /worker-1/"),
		"/api/messages?limit=50&match="+url.QueryEscape("Fields[name] == 'db.latency' && Severity < 4"),
		"/api/messages?limit=50&match="+url.QueryEscape("Fields[name] != 'dup'"),
		"/api/messages?from=2026-11-22T01:00:00Z&to=2026-11-22T01:30:00Z&limit=1000",
		"/api/messages?from=2026-11-22T01:00:00Z&limit=20",
		"/api/messages?to=2026-11-22T01:00:00.5Z&limit=20",
		"/api/messages?q=served&limit=40",
		"/api/messages?q=worker+served&limit=1000",
		"/api/messages?q=wor*&limit=1000",
		"/api/messages?q=caf%C3%A9",
		"/api/messages?q=api&match="+url.QueryEscape("Type == 'custom'")+"&limit=1000",
		"/api/messages?q=ZeroDivisionError",
		"/api/messages?q=...",
		"/api/messages?match="+url.QueryEscape("Type =="),
		"/api/messages?cursor=xyz",
		"/api/messages?limit=20000",
		"/api/messages?from=2026-11-22T01:00:00Z&to=2026-11-22T00:00:00Z",
		"/api/series?kind=counter&name=db.query.0&name=db.query.2&"+day,
		"/api/series?kind=counter&name=db.query.1&step=5m&"+day,
		"/api/series?kind=timer&name=db.latency&step=10m&"+day,
		"/api/series?kind=timer&name=db.latency&from=2026-11-22T00:30:20Z&to=2026-11-22T01:10:50Z&step=1m",
		"/api/series?kind=gauge&name=queue.depth&step=2m&"+day,
		"/api/series?kind=gauge&name=queue.depth&from=2026-11-22T01:00:00Z&to=2026-11-22T02:00:00Z",
		"/api/series?kind=gauge&name=nothing&"+day,
		"/api/series?kind=meter&name=x&"+day,
		"/api/series?kind=timer&"+day,
		"/api/series?kind=timer&name=x&step=30s&"+day,
		"/api/series/names",
		"/api/series/names?"+day,
		"/api/series/names?from=2026-11-22T01:00:00Z&to=2026-11-22T01:20:00Z",
		"/api/exceptions?from=2000-01-01T00:00:00Z&to=2030-01-01T00:00:00Z",
		"/api/exceptions?"+day,
		"/api/exceptions?from=2026-11-22T01:00:00Z&to=2026-11-22T02:00:00Z&buckets=12&limit=1",
		"/api/exceptions?"+day+"&logger=web",
		"/api/exceptions?"+day+"&logger=nobody",
	)
	nonEmpty := 0
	same := func(q, eq, cq string) (enext, cnext string) {
		t.Helper()
		ecode, ebody := fetch(t, esrv, eq)
		ccode, cbody := fetch(t, csrv, cq)
		enext, eb := withoutNext(t, ebody)
		cnext, cb := withoutNext(t, cbody)
		if ecode != ccode || !bytes.Equal(eb, cb) || (enext == "") != (cnext == "") {
			t.Fatalf("%s:\nembedded %d %s\nclickhouse %d %s", q, ecode, ebody, ccode, cbody)
		}
		if ecode == http.StatusOK && len(eb) > 40 {
			nonEmpty++
		}
		return enext, cnext
	}
	for _, q := range queries {
		if enext, cnext := same(q, q, q); enext != "" {
			// The second page, each backend from its own cursor.
			same(q+" (second page)", withCursor(q, enext), withCursor(q, cnext))
		}
	}
	t.Logf("%d of %d queries returned data", nonEmpty, len(queries))
	if nonEmpty < len(queries)/2 {
		t.Errorf("only %d of %d queries returned anything: the corpus does not exercise them", nonEmpty, len(queries))
	}
}

// withoutNext returns the "next" cursor of an API answer and the answer
// without it.
func withoutNext(t *testing.T, body []byte) (string, []byte) {
	t.Helper()
	var v map[string]json.RawMessage
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var next string
	if raw, ok := v["next"]; ok {
		json.Unmarshal(raw, &next)
		delete(v, "next")
	}
	out, _ := json.Marshal(v)
	return next, out
}

func withCursor(q, cursor string) string {
	sep := "?"
	if strings.Contains(q, "?") {
		sep = "&"
	}
	return q + sep + "cursor=" + url.QueryEscape(cursor)
}
