package router

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metlog/metlog/config"
)

func getConfig(t *testing.T, r *Router) EffectiveConfig {
	t.Helper()
	resp, err := http.Get("http://" + r.HTTPAddr().String() + "/api/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/config: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	var ec EffectiveConfig
	if err := json.NewDecoder(resp.Body).Decode(&ec); err != nil {
		t.Fatal(err)
	}
	return ec
}

func TestAPIConfig(t *testing.T) {
	dir := t.TempDir()
	text := `
[router]
data_dir = "` + dir + `"
http = "127.0.0.1:0"
[input.udp]
address = "127.0.0.1:0"
[output.errors]
type = "sentry"
match = "Type == 'exception'"
dsn = "http://c0ffee@127.0.0.1:9/7"
`
	r := startRouter(t, text)
	ec := getConfig(t, r)
	if strings.Contains(ec.TOML, "c0ffee") {
		t.Errorf("the DSN's key is shown:\n%s", ec.TOML)
	}
	for _, want := range []string{"[output.errors]", "127.0.0.1:9/7", "[input.udp]", "batch_size", "journal_max_bytes"} {
		if !strings.Contains(ec.TOML, want) {
			t.Errorf("%q missing:\n%s", want, ec.TOML)
		}
	}
	// What it shows is a config the router accepts.
	if _, err := config.Parse("effective.toml", []byte(ec.TOML), Catalog(), nil); err != nil {
		t.Errorf("the effective config does not parse: %v\n%s", err, ec.TOML)
	}

	// A reload replaces it.
	cfg, err := config.Parse("test.toml", []byte(text+`
[output.applog]
type = "file"
path = "`+filepath.Join(dir, "app.log")+`"
`), Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if ec := getConfig(t, r); !strings.Contains(ec.TOML, "[output.applog]") || ec.Path != "test.toml" {
		t.Errorf("after the reload: %+v", ec)
	}
}
