package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/aggregate/exceptions"
	"github.com/metlog/metlog/codec/metlogjson"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output/sentry/sentrytest"
	"github.com/metlog/metlog/router"
)

// startRouter runs a router from this example's router.toml, on free
// loopback ports, delivering to the stand-in Sentry at dsn.
func startRouter(t *testing.T, dir, dsn string) *router.Router {
	t.Helper()
	text, err := os.ReadFile("router.toml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"METLOG_DATA": dir, "METLOG_HTTP": "127.0.0.1:0", "METLOG_UDP": "127.0.0.1:0", "METLOG_TCP": "127.0.0.1:0",
		"GROUP_FLUSH": "100ms", "SENTRY_DSN": dsn, "SENTRY_ENVIRONMENT": "test",
	}
	cfg, err := config.Parse("router.toml", text, router.Catalog(), func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(cfg, router.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router: %v", err)
		}
	})
	return r
}

// waitFor polls the router's status; it offers no signal for "the output
// has delivered n messages".
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readGroups(t *testing.T, path string) []*metlog.Message {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []*metlog.Message
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m, err := metlogjson.Unmarshal(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// The "done when": the shop's panics and wrapped errors, through
// a real router, reach Sentry as events that match Sentry's schema, and
// are grouped; metlog-raven's captures are forwarded too.
func TestExceptionsReachSentry(t *testing.T) {
	sentry := sentrytest.NewServer(t)
	// Sentry is unwell at first: a 503, then a rate limit of a second.
	// The router retries; nothing is lost or sent twice.
	sentry.SetReply(func(n int) sentrytest.Reply {
		switch n {
		case 0:
			return sentrytest.Reply{Status: http.StatusServiceUnavailable}
		case 1:
			return sentrytest.Reply{Status: http.StatusTooManyRequests,
				Header: http.Header{"X-Sentry-Rate-Limits": {"1:error:project"}}}
		}
		return sentrytest.Reply{}
	})
	dir := t.TempDir()
	r := startRouter(t, dir, sentry.DSN("42"))

	c, err := metlog.Dial("tcp+ack://"+r.InputAddr("tcp").String(), metlog.WithLogger("panicky"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	app := httptest.NewServer(newShop(c).Handler())
	defer app.Close()

	requests := []struct {
		path   string
		status int
	}{
		{"/items/7", 200},
		{"/items/99", 404},              // group A: not found
		{"/items/98", 404},              // group A again
		{"/items/abc", 400},             // group B: not a number (other error types)
		{"/divide/1/0", 500},            // group C: a panic
		{"/divide/5/0", 500},            // group C again
		{"/checkout", 409},              // group D: joined errors
		{"/divide/4/2", 200},            // the server survived
		{"/items/97?token=s3cr3t", 404}, // group A, a credential in the URL
	}
	for _, rq := range requests {
		req, _ := http.NewRequest("GET", app.URL+rq.path, nil)
		req.Header.Set("Authorization", "Bearer s3cr3t")
		req.Header.Set("User-Agent", "panicky-test")
		resp, err := app.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != rq.status {
			t.Errorf("%s: status %d, want %d", rq.path, resp.StatusCode, rq.status)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// metlog-raven's captures, as metlog-py sends them: UDP datagrams.
	conn, err := net.Dial("udp", r.InputAddr("udp").String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, name := range []string{"27-raven-plugin.json", "28-raven-explicit-payload.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "output", "sentry", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		conn.Write(b)
	}

	const exceptionsSent = 7 // every non-2xx request above
	events := sentry.WaitEvents(exceptionsSent+2, 30*time.Second)
	// The server checked the framing, the auth header and the schema of
	// every event; look at what they say.
	var goEvents, pyEvents []sentrytest.Event
	ids := map[string]bool{}
	for _, e := range events {
		if ids[e.ID] {
			t.Errorf("event %s sent twice", e.ID)
		}
		ids[e.ID] = true
		if e.Project != "42" {
			t.Errorf("event for project %s", e.Project)
		}
		if strings.Contains(string(e.JSON), "s3cr3t") {
			t.Errorf("a credential reached Sentry: %s", e.JSON)
		}
		switch e.Fields["platform"] {
		case "go":
			goEvents = append(goEvents, e)
		case "python":
			pyEvents = append(pyEvents, e)
		}
	}
	if st := r.Status().Outputs["sentry"]; st.Retries < 2 {
		t.Errorf("sentry output status %+v: the 503 and the 429 were not retried", st)
	}
	if len(goEvents) != exceptionsSent || len(pyEvents) != 2 {
		t.Fatalf("%d Go events and %d Python ones", len(goEvents), len(pyEvents))
	}
	var panics int
	for _, e := range goEvents {
		values := e.Fields["exception"].(map[string]any)["values"].([]any)
		outer := values[len(values)-1].(map[string]any)
		if outer["mechanism"].(map[string]any)["type"] != "panic" {
			continue
		}
		panics++
		if e.Fields["level"] != "fatal" {
			t.Errorf("panic level %v", e.Fields["level"])
		}
		req := e.Fields["request"].(map[string]any)
		if req["method"] != "GET" || !strings.Contains(req["url"].(string), "/divide/") {
			t.Errorf("panic request %v", req)
		}
		frames := outer["stacktrace"].(map[string]any)["frames"].([]any)
		top := frames[len(frames)-1].(map[string]any)
		if top["function"] != "quotient" || top["in_app"] != true {
			t.Errorf("panicking frame %v", top)
		}
	}
	if panics != 2 {
		t.Errorf("%d panic events, want 2", panics)
	}

	// The groups: A ×3, B, C ×2, D, in one or more periods.
	counts := map[string]int64{} // fingerprint -> total
	culprits := map[string]string{}
	waitFor(t, "the groups", func() bool {
		clear(counts)
		var total int64
		for _, g := range readGroups(t, filepath.Join(dir, "exception-groups.json")) {
			fp := g.Field(exceptions.FieldFingerprint).Strings[0]
			n := g.Field(exceptions.FieldCount).Integers[0]
			counts[fp] += n
			total += n
			if f := g.Field(exceptions.FieldCulprit); f != nil {
				culprits[fp] = f.Strings[0]
			}
		}
		return total == exceptionsSent
	})
	var sizes []int64
	for _, n := range counts {
		sizes = append(sizes, n)
	}
	if len(counts) != 4 {
		t.Errorf("%d groups %v (culprits %v), want 4", len(counts), counts, culprits)
	}
	want := map[int64]int{3: 1, 1: 2, 2: 1} // sizes: one group of 3, two of 1, one of 2
	got := map[int64]int{}
	for _, n := range sizes {
		got[n]++
	}
	for n, k := range want {
		if got[n] != k {
			t.Errorf("group sizes %v, want one of 3, one of 2, two of 1", sizes)
			break
		}
	}
	for _, cu := range culprits {
		if !strings.HasPrefix(cu, "main.") && !strings.Contains(cu, "examples/panicky.") {
			t.Errorf("culprit %q is not the shop's code", cu)
		}
	}
}
