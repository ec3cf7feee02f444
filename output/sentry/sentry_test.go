package sentry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
	"github.com/metlog/metlog/output"
	"github.com/metlog/metlog/output/sentry/sentrytest"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func newOutput(t *testing.T, cfg Config) *Output {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = Defaults().Timeout
	}
	o, err := New(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// clientMessages runs fn with a metlog client and returns what it sent,
// stamped with UUIDs as the router would.
func clientMessages(t *testing.T, fn func(c *metlog.Client)) []*metlog.Message {
	t.Helper()
	mem := metlog.NewMemorySender()
	c := metlog.New(mem, metlog.WithLogger("shop"), metlog.WithHostname("web-1"))
	fn(c)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	return mem.Messages()
}

type notFound struct{ id int }

func (e notFound) Error() string { return fmt.Sprintf("item %d not found", e.id) }

func TestExceptionEvents(t *testing.T) {
	srv := sentrytest.NewServer(t)
	o := newOutput(t, Config{DSN: srv.DSN("42"), Environment: "test", Release: "shop@1.2.3"})
	msgs := clientMessages(t, func(c *metlog.Client) {
		c.Exception(fmt.Errorf("checkout: %w", errors.Join(notFound{7}, fmt.Errorf("stock: %w", fs.ErrNotExist))),
			metlog.String("user", "bob"), metlog.Int("attempt", 2), metlog.Strings("cart", "a", "b"))
		h := c.Middleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic(notFound{9})
		}))
		req := httptest.NewRequest("GET", "http://shop.example/items/9?token=secret&page=2", nil)
		req.Header.Set("User-Agent", "probe/1")
		req.Header.Set("Cookie", "sid=1")
		h.ServeHTTP(httptest.NewRecorder(), req)
		c.Exception(errors.New("custom"), metlog.Strings(metlog.FieldFingerprint, "db", "timeout"))
	})
	var batch []*metlog.Message
	for _, m := range msgs {
		if m.Type == metlog.TypeException {
			batch = append(batch, m)
		}
	}
	if len(batch) != 3 {
		t.Fatalf("%d exceptions", len(batch))
	}
	if err := o.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	evs := srv.WaitEvents(3, 10*time.Second)
	if st := o.Stats(); st.Sent != 3 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}

	ev := evs[0].Fields
	if evs[0].Project != "42" || ev["event_id"] != batch[0].UUID.String() || ev["level"] != "error" ||
		ev["logger"] != "shop" || ev["server_name"] != "web-1" || ev["platform"] != "go" ||
		ev["environment"] != "test" || ev["release"] != "shop@1.2.3" {
		t.Errorf("event envelope %s", evs[0].JSON)
	}
	values := ev["exception"].(map[string]any)["values"].([]any)
	// The chain, innermost first as Sentry lists it: fs.ErrNotExist,
	// the "stock" wrap, notFound{7}, the join, the "checkout" wrap.
	var types []string
	for _, v := range values {
		types = append(types, v.(map[string]any)["type"].(string))
	}
	want := []string{"*errors.errorString", "*fmt.wrapError", "sentry.notFound", "*errors.joinError", "*fmt.wrapError"}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("exception types %q, want %q", types, want)
	}
	outer := values[len(values)-1].(map[string]any)
	if mech := outer["mechanism"].(map[string]any); mech["type"] != "generic" || mech["handled"] != true {
		t.Errorf("mechanism %v", mech)
	}
	join := values[len(values)-2].(map[string]any)["mechanism"].(map[string]any)
	if join["is_exception_group"] != true || join["parent_id"] != float64(0) {
		t.Errorf("join mechanism %v", join)
	}
	frames := outer["stacktrace"].(map[string]any)["frames"].([]any)
	last := frames[len(frames)-1].(map[string]any)
	if !strings.Contains(last["function"].(string), "TestExceptionEvents") || last["module"] != "github.com/metlog/metlog/output/sentry" ||
		last["filename"] != "sentry_test.go" || last["lineno"].(float64) == 0 || last["in_app"] != true {
		t.Errorf("innermost frame %v", last)
	}
	if tags := ev["tags"].(map[string]any); tags["user"] != "bob" || tags["attempt"] != "2" {
		t.Errorf("tags %v", tags)
	}
	if extra := ev["extra"].(map[string]any); fmt.Sprint(extra["cart"]) != "[a b]" {
		t.Errorf("extra %v", extra)
	}
	if rt := ev["contexts"].(map[string]any)["runtime"].(map[string]any); rt["name"] != "go" || !strings.HasPrefix(rt["version"].(string), "go") {
		t.Errorf("runtime context %v", rt)
	}

	ev = evs[1].Fields
	if ev["level"] != "fatal" {
		t.Errorf("panic level %v", ev["level"])
	}
	req := ev["request"].(map[string]any)
	if req["method"] != "GET" || req["url"] != "http://shop.example/items/9" || req["query_string"] != "page=2&token=%5BFiltered%5D" ||
		req["headers"].(map[string]any)["User-Agent"] != "probe/1" {
		t.Errorf("request %v", req)
	}
	if strings.Contains(string(evs[1].JSON), "sid=1") || strings.Contains(string(evs[1].JSON), "secret") {
		t.Errorf("credentials in the event: %s", evs[1].JSON)
	}
	threads := ev["threads"].(map[string]any)["values"].([]any)
	th := threads[0].(map[string]any)
	values = ev["exception"].(map[string]any)["values"].([]any)
	outer = values[len(values)-1].(map[string]any)
	if th["crashed"] != true || th["id"] != outer["thread_id"] || outer["mechanism"].(map[string]any)["handled"] != false {
		t.Errorf("thread %v, exception %v", th, outer)
	}

	if fp := fmt.Sprint(evs[2].Fields["fingerprint"]); fp != "[db timeout]" {
		t.Errorf("fingerprint %s", fp)
	}
}

// A message from another client, with no structured fields, still makes
// a valid event.
func TestBareException(t *testing.T) {
	srv := sentrytest.NewServer(t)
	o := newOutput(t, Config{DSN: srv.DSN("1")})
	m := &metlog.Message{UUID: metlog.NewUUID(), Timestamp: 1_700_000_000_000_000_000, Type: "exception",
		Severity: metlog.Warning, Payload: "something broke",
		Fields: []metlog.Field{metlog.Bytes("blob", []byte{1, 2}), metlog.Float("nan", nanValue()),
			metlog.String("x", strings.Repeat("y", 300)), metlog.String("bad key!", "v")}}
	if err := o.Write(context.Background(), []*metlog.Message{m}); err != nil {
		t.Fatal(err)
	}
	ev := srv.WaitEvents(1, 10*time.Second)[0].Fields
	if ev["level"] != "warning" || ev["timestamp"] != float64(1_700_000_000) {
		t.Errorf("event %v", ev)
	}
	extra := ev["extra"].(map[string]any)
	if extra["blob"] != "AQI=" || len(extra["x"].(string)) != 300 || extra["bad key!"] != "v" {
		t.Errorf("extra %v", extra)
	}
	if tags := ev["tags"].(map[string]any); tags["nan"] != "NaN" {
		t.Errorf("tags %v", tags)
	}
}

func nanValue() float64 { var z float64; return z / z }

func readCapture(t *testing.T, name string) *metlog.Message {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := metlogjson.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	m.UUID = metlog.NewUUID()
	return m
}

// metlog-raven's captures are forwarded: the event of 27 rewritten to the
// current schema, the explicit payload of 28 as a message event.
func TestRavenCaptures(t *testing.T) {
	srv := sentrytest.NewServer(t)
	// The captures' DSN is udp://…, which cannot take an envelope: the
	// configured DSN is used even though message DSNs are allowed.
	o := newOutput(t, Config{DSN: srv.DSN("7"), UseMessageDSN: true})
	batch := []*metlog.Message{readCapture(t, "27-raven-plugin.json"), readCapture(t, "28-raven-explicit-payload.json")}
	if err := o.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	evs := srv.WaitEvents(2, 10*time.Second)
	ev := evs[0].Fields
	if evs[0].Project != "7" || ev["event_id"] != "bd9c56bd-8d22-4cd7-9fee-b14fa8ed99fd" || ev["level"] != "error" ||
		ev["server_name"] != "vm" || ev["logger"] != "ini-app" || ev["platform"] != "python" ||
		ev["culprit"] != "__main__ in exception_call2" {
		t.Errorf("event %s", evs[0].JSON)
	}
	values := ev["exception"].(map[string]any)["values"].([]any)
	ex := values[0].(map[string]any)
	frames := ex["stacktrace"].(map[string]any)["frames"].([]any)
	if ex["type"] != "ZeroDivisionError" || ex["module"] != "exceptions" || len(frames) != 2 ||
		frames[1].(map[string]any)["function"] != "exception_call2" || frames[1].(map[string]any)["lineno"] != float64(164) {
		t.Errorf("exception %v", ex)
	}
	if le := ev["logentry"].(map[string]any); le["formatted"] != "ZeroDivisionError: integer division or modulo by zero" {
		t.Errorf("logentry %v", le)
	}
	extra := ev["extra"].(map[string]any)
	if extra["checksum"] != "06c24a0d49813b450de61adc85648919" || extra["msg"] != "some message" {
		t.Errorf("extra %v", extra)
	}
	for _, e := range evs {
		if strings.Contains(string(e.JSON), "secret") {
			t.Errorf("the message's DSN leaked into the event: %s", e.JSON)
		}
	}
	ev = evs[1].Fields
	if ev["logentry"].(map[string]any)["formatted"] != "explicit payload" || ev["level"] != "error" ||
		ev["extra"].(map[string]any)["extra_field"] != "x" {
		t.Errorf("explicit payload event %s", evs[1].JSON)
	}
}

// With use_message_dsn, a raven message with an http DSN goes to that
// DSN's project; without it, to the configured one.
func TestMessageDSN(t *testing.T) {
	srv := sentrytest.NewServer(t)
	m := readCapture(t, "28-raven-explicit-payload.json")
	m.SetField(metlog.String("dsn", srv.DSN("99")))
	for _, tt := range []struct {
		use     bool
		dsn     string
		project string
	}{
		{true, srv.DSN("5"), "99"},
		{false, srv.DSN("5"), "5"},
		{true, "", "99"},
	} {
		before := len(srv.Events())
		o := newOutput(t, Config{DSN: tt.dsn, UseMessageDSN: tt.use})
		if err := o.Write(context.Background(), []*metlog.Message{m}); err != nil {
			t.Fatal(err)
		}
		if got := srv.WaitEvents(before+1, 10*time.Second)[before].Project; got != tt.project {
			t.Errorf("use_message_dsn=%v dsn=%q: project %s, want %s", tt.use, tt.dsn, got, tt.project)
		}
	}
	// Only message DSNs, and an exception without one: rejected.
	o := newOutput(t, Config{UseMessageDSN: true})
	err := o.Write(context.Background(), clientMessages(t, func(c *metlog.Client) { c.Exception(errors.New("x")) }))
	if !output.IsPermanent(err) || o.Stats().Rejected != 1 {
		t.Errorf("err %v, stats %+v", err, o.Stats())
	}
}

// fakeClock is a settable time source.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func exceptions(t *testing.T, n int) []*metlog.Message {
	return clientMessages(t, func(c *metlog.Client) {
		for i := range n {
			c.Exception(fmt.Errorf("failure %d", i))
		}
	})
}

func TestRateLimits(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		status int
		wait   time.Duration // how long sending stays blocked
	}{
		{"429 with X-Sentry-Rate-Limits", http.Header{"X-Sentry-Rate-Limits": {"30:error;transaction:project:quota"}}, 429, 30 * time.Second},
		{"429 with Retry-After seconds", http.Header{"Retry-After": {"12"}}, 429, 12 * time.Second},
		{"429 without a header", nil, 429, defaultRetryAfter},
		{"all categories", http.Header{"X-Sentry-Rate-Limits": {"5::organization"}}, 429, 5 * time.Second},
		{"200 announcing a limit", http.Header{"X-Sentry-Rate-Limits": {"20:error:key"}}, 200, 20 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := sentrytest.NewServer(t)
			srv.SetReply(func(n int) sentrytest.Reply {
				if n == 0 {
					return sentrytest.Reply{Status: tt.status, Header: tt.header}
				}
				return sentrytest.Reply{}
			})
			o := newOutput(t, Config{DSN: srv.DSN("3")})
			clock := &fakeClock{t: time.Now()}
			o.now = clock.now
			batch := exceptions(t, 3)
			if tt.status == 200 {
				// The first event is accepted, the limit stops the rest.
				err := o.Write(context.Background(), batch)
				if !errors.Is(err, ErrRateLimited) || output.IsPermanent(err) || srv.Requests() != 1 {
					t.Fatalf("err %v after %d requests", err, srv.Requests())
				}
			} else {
				if err := o.Write(context.Background(), batch); !errors.Is(err, ErrRateLimited) || output.IsPermanent(err) {
					t.Fatalf("err %v, want a retryable rate-limit error", err)
				}
			}
			// While limited, Write fails at once, without a request.
			clock.add(tt.wait - time.Second)
			if err := o.Write(context.Background(), batch); !errors.Is(err, ErrRateLimited) {
				t.Fatalf("err %v while limited", err)
			}
			if srv.Requests() != 1 {
				t.Fatalf("%d requests while limited", srv.Requests())
			}
			clock.add(2 * time.Second)
			if err := o.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			// Every event arrived once.
			if evs := srv.Events(); len(evs) != 3 {
				t.Errorf("%d events, want 3", len(evs))
			}
		})
	}
}

func TestRetryAndReject(t *testing.T) {
	srv := sentrytest.NewServer(t)
	srv.SetReply(func(n int) sentrytest.Reply {
		switch n {
		case 1:
			return sentrytest.Reply{Status: http.StatusServiceUnavailable}
		case 3:
			return sentrytest.Reply{Status: http.StatusRequestEntityTooLarge}
		}
		return sentrytest.Reply{}
	})
	o := newOutput(t, Config{DSN: srv.DSN("3")})
	batch := exceptions(t, 3)
	// Request 0 accepted, 1 fails with 503: retryable.
	err := o.Write(context.Background(), batch)
	if err == nil || output.IsPermanent(err) || errors.Is(err, ErrRateLimited) {
		t.Fatalf("err %v, want a retryable error", err)
	}
	// The retry does not resend event 0; request 2 (event 1) is
	// accepted, 3 (event 2) rejected for good.
	err = o.Write(context.Background(), batch)
	if !output.IsPermanent(err) || !strings.Contains(err.Error(), "413") {
		t.Fatalf("err %v, want a permanent 413", err)
	}
	evs := srv.Events()
	if len(evs) != 2 || evs[0].ID != batch[0].UUID.String() || evs[1].ID != batch[1].UUID.String() {
		t.Errorf("events %v", evs)
	}
	if st := o.Stats(); st.Sent != 2 || st.Rejected != 1 {
		t.Errorf("stats %+v", st)
	}
	// The next batch starts afresh.
	if err := o.Write(context.Background(), batch[:1]); err != nil {
		t.Fatal(err)
	}
	if len(srv.Events()) != 3 {
		t.Error("a new batch was not sent")
	}
}

func TestNetworkErrorIsRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	dsn := strings.Replace(srv.URL, "http://", "http://k@", 1) + "/1"
	srv.Close()
	o := newOutput(t, Config{DSN: dsn})
	err := o.Write(context.Background(), exceptions(t, 1))
	if err == nil || output.IsPermanent(err) {
		t.Fatalf("err %v, want retryable", err)
	}
	if strings.Contains(err.Error(), "k@") {
		t.Errorf("error shows the key: %v", err)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		cfg  Config
		errs []string
	}{
		{Config{DSN: "https://k@sentry.io/1", Timeout: 1}, nil},
		{Config{UseMessageDSN: true, Timeout: 1}, nil},
		{Config{Timeout: 1}, []string{"dsn must be set"}},
		{Config{DSN: "udp://k@h/1"}, []string{"scheme", "timeout"}},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != (len(tt.errs) == 0) {
			t.Errorf("%+v: err %v", tt.cfg, err)
			continue
		}
		for _, s := range tt.errs {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%+v: err %v, want %q", tt.cfg, err, s)
			}
		}
	}
}
