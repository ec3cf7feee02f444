//go:build linux

package prometheus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output/outputtest"
)

// startPrometheus runs a Prometheus server that scrapes target every
// second, with its storage in a temporary directory, and returns the base
// URL of its HTTP API.
func startPrometheus(t *testing.T, target *url.URL) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("SKIPPED: prometheus is not installed (Debian package prometheus; `make deps` installs it)")
	}
	dir := t.TempDir()
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: metlog
    metrics_path: %s
    static_configs:
      - targets: [%q]
`, target.Path, target.Host)
	confFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + outputtest.FreePort(t, "tcp")
	cmd := exec.Command(bin, "--config.file="+confFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	base := "http://" + addr
	p := outputtest.StartProcess(t, "prometheus", cmd)
	p.WaitReady(t, 60*time.Second, func() bool {
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return base
}

// query runs an instant query and returns the value of its single sample,
// or ok false while there is none.
func query(t *testing.T, base, q string) (value string, ok bool) {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Status != "success" {
		t.Fatalf("query %s: %s", q, r.Error)
	}
	if len(r.Data.Result) != 1 {
		return "", false
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return s, true
}

// TestPrometheus has a real Prometheus scrape the output and checks what
// its query API answers.
func TestPrometheus(t *testing.T) {
	o := newOutput(t, Defaults())
	mux := http.NewServeMux()
	mux.Handle(o.Pattern(), o.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	target, _ := url.Parse(srv.URL + o.Pattern())
	base := startPrometheus(t, target)

	metric := func(typ, name, payload string, fields ...metlog.Field) *metlog.Message {
		return outputtest.Metric(typ, "interop-app", name, payload, fields...)
	}
	batch := []*metlog.Message{
		metric("counter", "page.views", "1", metlog.Float("rate", 1)),
		metric("counter", "page.views", "1", metlog.Float("rate", 1)),
		metric("counter", "page.views", "1", metlog.Float("rate", 0.25)),
		metric("timer", "db_query", "12", metlog.String("table", "users")),
		metric("timer", "db_query", "250", metlog.String("table", "users")),
		metric("gauge", "queue", "10"),
		metric("gauge", "queue", "-3"),
	}
	if err := o.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		`page_views_total{logger="interop-app",job="metlog"}`:        "6",
		`db_query_seconds_count{logger="interop-app",table="users"}`: "2",
		`db_query_seconds_sum{logger="interop-app",table="users"}`:   "0.262",
		`db_query_seconds_bucket{table="users",le="0.025"}`:          "1",
		`queue{logger="interop-app"}`:                                "7",
	}
	deadline := time.Now().Add(60 * time.Second)
	for q, w := range want {
		for {
			got, ok := query(t, base, q)
			if ok && got == w {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("query %s: got %q (%v), want %q", q, got, ok, w)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
