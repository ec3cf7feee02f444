package parquet_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/output/parquet"
	"github.com/metlog/metlog/router"
)

// TestInRouter runs the output in a real in-process router: messages
// posted to its HTTP input, matched, journaled and delivered, are in the
// Parquet files once the router has shut down.
func TestInRouter(t *testing.T) {
	if !slices.ContainsFunc(router.Plugins(), func(p router.PluginInfo) bool {
		return p.Kind == config.KindOutput && p.Type == "parquet"
	}) {
		t.Skip("SKIPPED: the router does not list the parquet output (router/components.go)")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "parquet")
	cfg, err := config.Parse("test.toml", []byte(`
[router]
data_dir = "`+dir+`"
http = "127.0.0.1:0"
[input.http]
[output.warehouse]
type = "parquet"
match = "Type != 'skip'"
dir = "`+out+`"
sync = false
batch_size = 64
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
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	defer stop()

	types := []string{"timer", "oldstyle", "skip"}
	const n = 600
	var body bytes.Buffer
	ts := time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)
	for i := range n {
		m := metlog.Message{
			UUID: metlog.NewUUID(), Timestamp: ts.Add(time.Duration(i) * time.Second).UnixNano(),
			Type: types[i%len(types)], Logger: "router-test", Severity: metlog.Info,
			Payload: fmt.Sprint(i), EnvVersion: metlog.EnvVersion, Hostname: "h",
			Fields: []metlog.Field{metlog.Int("i", int64(i))},
		}
		body.Write(m.AppendJSON(nil))
		body.WriteByte('\n')
	}
	resp, err := http.Post("http://"+r.HTTPAddr().String()+"/v1/messages", "application/x-ndjson", &body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("ingest status %d", resp.StatusCode)
	}
	// The router gives no signal for "the output has taken n messages";
	// poll its status.
	want := uint64(n - n/len(types))
	deadline := time.Now().Add(30 * time.Second)
	for r.Status().Outputs["warehouse"].Delivered < want {
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d of %d", r.Status().Outputs["warehouse"].Delivered, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop() // closes the open files

	res := parquet.QueryDuckDB(t,
		"SELECT type, count(*)::INTEGER AS n, count(DISTINCT uuid)::INTEGER AS u, min(fields['i']::INTEGER)::INTEGER AS first FROM "+
			parquet.Scan(out)+" GROUP BY ALL ORDER BY ALL")
	got := fmt.Sprint(res[0])
	wantRes := fmt.Sprint([]map[string]any{
		{"type": "oldstyle", "n": float64(n / 3), "u": float64(n / 3), "first": float64(1)},
		{"type": "timer", "n": float64(n / 3), "u": float64(n / 3), "first": float64(0)},
	})
	if got != wantRes {
		t.Errorf("DuckDB:\n got %s\nwant %s", got, wantRes)
	}
}
