package config

import (
	"reflect"
	"strings"
	"testing"
)

type signer struct {
	Name    string `toml:"name"`
	Version int    `toml:"version"`
	Key     string `toml:"key"`
}

type secretConfig struct {
	DSN      string            `toml:"dsn"`
	URL      string            `toml:"url"`
	KeyFile  string            `toml:"key_file"`
	Signers  []signer          `toml:"signers"`
	Headers  map[string]string `toml:"headers"`
	Tokens   []string          `toml:"tokens"`
	Interval Duration          `toml:"interval"`
}

func TestEffective(t *testing.T) {
	cat := Catalog{
		KindInput:  testCatalog[KindInput],
		KindOutput: {"file": testCatalog[KindOutput]["file"], "secretive": func() any { return &secretConfig{Interval: Duration(5e9)} }},
	}
	doc := `
[router]
data_dir = "/var/lib/metlog"

[input.udp]
address = "127.0.0.1:${PORT}"
limit = 7

[output.sentry]
type = "secretive"
match = "Type == 'exception'"
dsn = "https://abc123@sentry.example/4"
url = "http://user:hunter2@clickhouse:8123/?database=logs"
key_file = "/etc/metlog/key.pem"
tokens = ["tok-1", "tok-2"]
headers = { Authorization = "Bearer sekrit", X-Scope = "logs" }

[[output.sentry.signers]]
name = "app"
version = 2
key = "${SIGNING_KEY}"

[output.applog]
type = "file"
path = "/var/log/app.log"
`
	env := map[string]string{"PORT": "6000", "SIGNING_KEY": "s3cr3t"}
	cfg, err := Parse("m.toml", []byte(doc), cat, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Effective()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, secret := range []string{"abc123", "hunter2", "tok-1", "sekrit", "s3cr3t"} {
		if strings.Contains(text, secret) {
			t.Errorf("secret %q in the effective config:\n%s", secret, text)
		}
	}
	for _, want := range []string{"127.0.0.1:6000", "/etc/metlog/key.pem", "sentry.example/4", "X-Scope", "batch_size", "rotate_every"} {
		if !strings.Contains(text, want) {
			t.Errorf("%q missing from the effective config:\n%s", want, text)
		}
	}
	// Parsing it again gives the same config but for the secrets.
	again, err := Parse("effective.toml", out, cat, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if !reflect.DeepEqual(again.Router, cfg.Router) {
		t.Errorf("router: %+v, want %+v", again.Router, cfg.Router)
	}
	if len(again.Plugins) != len(cfg.Plugins) {
		t.Fatalf("%d plugins, want %d", len(again.Plugins), len(cfg.Plugins))
	}
	for i, p := range again.Plugins {
		q := cfg.Plugins[i]
		if p.Kind != q.Kind || p.Name != q.Name || p.Type != q.Type || !reflect.DeepEqual(p.Common, q.Common) {
			t.Errorf("plugin %d: %+v, want %+v", i, p, q)
		}
		if p.Type != "secretive" && !reflect.DeepEqual(p.Config, q.Config) {
			t.Errorf("plugin %s: %+v, want %+v", p.Name, p.Config, q.Config)
		}
	}
	s := again.Of(KindOutput)[0].Config.(*secretConfig)
	if s.DSN != "https://REDACTED@sentry.example/4" || s.Signers[0].Key != Redacted || s.Signers[0].Name != "app" ||
		s.Headers["Authorization"] != Redacted || s.Headers["X-Scope"] != "logs" || s.Tokens[1] != Redacted ||
		s.Interval.D() != 5e9 {
		t.Errorf("redacted config = %+v", s)
	}
	// The original is untouched.
	if orig := cfg.Of(KindOutput)[0].Config.(*secretConfig); orig.Signers[0].Key != "s3cr3t" || orig.Tokens[0] != "tok-1" ||
		orig.Headers["Authorization"] != "Bearer sekrit" {
		t.Errorf("Effective changed the config: %+v", orig)
	}
}

func TestIsSecret(t *testing.T) {
	for key, want := range map[string]bool{
		"key": true, "signing_key": true, "dsn": true, "password": true, "admin_tokens": true, "api_key": true,
		"key_file": false, "token_env": false, "key_id": false, "address": false, "keyspace": false, "path": false,
	} {
		if got := IsSecret(key); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", key, got, want)
		}
	}
}
