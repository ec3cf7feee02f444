package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/router"
)

// The store output in a running router: every metlog-py capture posted to
// the HTTP input can be searched on the router's own address.
func TestInRouter(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse("test.toml", []byte(`
[router]
data_dir = "`+dir+`"
http = "127.0.0.1:0"
[input.http]
[output.store]
path = "`+filepath.Join(dir, "store")+`"
max_age = "0s"
`), router.Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(cfg, router.Options{Logger: slog.New(slog.DiscardHandler), Memory: true})
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

	files, _ := filepath.Glob("testdata/metlog-py/*.json")
	var body bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		body.Write(b)
		body.WriteByte('\n')
	}
	resp, err := http.Post(base+"/v1/messages", "application/x-ndjson", &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("ingest status %d", resp.StatusCode)
	}

	// The router gives no signal for "the store has written n messages";
	// poll the API.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page struct {
			Messages []json.RawMessage
		}
		resp, err := http.Get(base + "/api/messages?" + url.Values{"limit": {"1000"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) == len(files) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages stored", len(page.Messages), len(files))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The store's totals, in the status and the metrics.
	var st router.Status
	if err := getJSON(base+"/api/status", &st); err != nil {
		t.Fatal(err)
	}
	if s := st.Outputs["store"].Store; s == nil || s.Stored != uint64(len(files)) || s.Partitions == 0 || s.Bytes == 0 {
		t.Errorf("status of the store: %+v", s)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf(`metlog_store_stored_total{output="store"} %d`, len(files)); !bytes.Contains(metrics, []byte(want)) {
		t.Errorf("/metrics has no %s", want)
	}

	resp, err = http.Get(base + "/api/messages?match=" + url.QueryEscape("Type =="))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad matcher: status %d", resp.StatusCode)
	}
}

func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
