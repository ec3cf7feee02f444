package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/internal/testenv"
	"github.com/metlog/metlog/router"
)

// chromiumFlags are the flags the browser runs with: headless, offline and
// with nothing of a user profile.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run"}

// browserDeps finds Debian's chromium and the testdeps playwright-core, or
// skips loudly: make test installs both.
func browserDeps(t *testing.T) (chromium, playwright string) {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("SKIPPING the browser tests: no chromium on PATH (apt-get install chromium, or run make test)")
	}
	testenv.Node(t)
	return chromium, filepath.Dir(testenv.NodeModule(t, "playwright-core/package.json"))
}

// browserToken is the read token of the router TestBrowser runs.
const browserToken = "browser-test-read-token"

// TestBrowser loads every page in headless Chromium against a router fed
// by the Go client: a search shows the expected rows, a chart has data
// points, the live tail follows new messages, the exception shows its
// stack. Screenshots of each page are kept as test artifacts. The router
// requires tokens, so the browser signs in first, and the pages run under
// the router's Content-Security-Policy (a violation is a page error).
func TestBrowser(t *testing.T) {
	chromium, playwright := browserDeps(t)
	dir := t.TempDir()
	t.Setenv("TEST_METLOG_BROWSER_READ", browserToken)
	t.Setenv("TEST_METLOG_BROWSER_ADMIN", "browser-test-admin-token")
	cfg, err := config.Parse("test.toml", []byte(`
[router]
data_dir = "`+dir+`"
http = "127.0.0.1:0"
[router.auth]
read_token_env = "TEST_METLOG_BROWSER_READ"
admin_token_env = "TEST_METLOG_BROWSER_ADMIN"
[input.udp]
address = "127.0.0.1:0"
[output.store]
path = "`+filepath.Join(dir, "store")+`"
max_age = "0s"
`), router.Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(cfg, router.Options{Logger: slog.New(slog.DiscardHandler), Memory: true, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	base := "http://" + r.HTTPAddr().String()

	c, err := metlog.Dial("udp://"+r.InputAddr("udp").String(), metlog.WithLogger("checkout"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 20 {
		c.Info(fmt.Sprintf("order %d placed", i), metlog.Int("order", int64(i)), metlog.String("customer", "ada"))
		c.Incr("orders")
		c.Timing("db.query", time.Duration(i+1)*time.Millisecond)
	}
	c.Warning("payment gateway slow", metlog.Float("seconds", 2.5))
	c.Exception(&os.PathError{Op: "open", Path: "/etc/checkout.conf", Err: errors.New("no such file or directory")})
	flush(t, c)
	waitAPI(t, base+"/api/messages?limit=1000", func(body map[string]any) bool {
		ms, _ := body["messages"].([]any)
		return len(ms) >= 62
	})
	waitAPI(t, base+"/api/exceptions?from=1h", func(body map[string]any) bool {
		gs, _ := body["groups"].([]any)
		return len(gs) >= 1
	})

	out := t.ArtifactDir()
	script, err := filepath.Abs("testdata/browser/pages.cjs")
	if err != nil {
		t.Fatal(err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer tcancel()
	cmd := exec.CommandContext(tctx, "node", script)
	cmd.Env = append(os.Environ(), "BASE="+base, "OUT="+out, "PLAYWRIGHT="+playwright, "TOKEN="+browserToken,
		"CHROMIUM="+chromium, "CHROMIUM_FLAGS="+strings.Join(chromiumFlags, " "))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.WaitDelay = 10 * time.Second // in case the browser outlives the script with its pipes
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	// The script asks for live messages once the tail is on; send them
	// until it is done.
	stopLive := make(chan struct{})
	var live sync.WaitGroup
	var result string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "live":
			live.Go(func() {
				tick := time.NewTicker(100 * time.Millisecond)
				defer tick.Stop()
				for n := 0; ; n++ {
					c.Info(fmt.Sprintf("live order %d", n), metlog.Int("order", int64(1000+n)))
					c.Flush(ctx)
					select {
					case <-stopLive:
						return
					case <-tick.C:
					}
				}
			})
		case strings.HasPrefix(line, "{"):
			result = line
		default:
			t.Log("browser:", line)
		}
	}
	close(stopLive)
	live.Wait()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("browser script: %v\n%s", err, stderr.String())
	}
	var res struct {
		OK       bool
		Failures []string
		Checks   map[string]any
	}
	if err := json.Unmarshal([]byte(result), &res); err != nil {
		t.Fatalf("browser script result %q: %v\n%s", result, err, stderr.String())
	}
	t.Logf("checks: %v; screenshots in %s", res.Checks, out)
	for _, f := range res.Failures {
		t.Error(f)
	}
	if !res.OK && len(res.Failures) == 0 {
		t.Error("browser script failed without saying why")
	}
}

func flush(t *testing.T, c *metlog.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// waitAPI polls an API URL until ok holds for its JSON body; the router
// gives no signal for "the store has written n messages".
func waitAPI(t *testing.T, u string, ok func(map[string]any) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequest("GET", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+browserToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err == nil && ok(body) {
			return
		}
		if time.Now().After(deadline) {
			pu, _ := url.Parse(u)
			t.Fatalf("timed out waiting on %s: last body %v (err %v)", pu.Path, body, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
