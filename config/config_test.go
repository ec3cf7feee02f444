package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type fileConfig struct {
	Path   string   `toml:"path"`
	Format string   `toml:"format"`
	Mode   int      `toml:"mode"`
	Rotate Duration `toml:"rotate_every"`
}

func (c *fileConfig) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path must not be empty"))
	}
	if c.Format != "text" && c.Format != "metlog-json" {
		errs = append(errs, errors.New("format must be \"text\" or \"metlog-json\""))
	}
	return errors.Join(errs...)
}

type shared struct {
	Limit int `toml:"limit"`
}

type udpConfig struct {
	Address string `toml:"address"`
	shared
}

var testCatalog = Catalog{
	KindInput: {
		"udp": func() any { return &udpConfig{Address: "127.0.0.1:5565"} },
	},
	KindOutput: {
		"file": func() any { return &fileConfig{Format: "text", Mode: 0o640} },
	},
}

func TestParseValid(t *testing.T) {
	doc := `
[router]
data_dir = "/var/lib/metlog"
sync_interval = "20ms"

[input.udp]
address = "127.0.0.1:${PORT}"
limit = 7

[output.applog]
type = "file"
match = "Type == 'oldstyle'"
path = "${LOGDIR:-/var/log}/app.log"
rotate_every = "1h"

[output.all]
type = "file"
path = "/tmp/all$$.log"
format = "metlog-json"
`
	env := map[string]string{"PORT": "6000"}
	cfg, err := Parse("m.toml", []byte(doc), testCatalog, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Router.DataDir != "/var/lib/metlog" || cfg.Router.SyncInterval.D() != 20*time.Millisecond || cfg.Router.Sync != "batch" {
		t.Errorf("router = %+v", cfg.Router)
	}
	in := cfg.Of(KindInput)
	if len(in) != 1 || in[0].Config.(*udpConfig).Address != "127.0.0.1:6000" || in[0].Common.(*InputCommon).Type != "udp" ||
		in[0].Config.(*udpConfig).Limit != 7 {
		t.Errorf("inputs = %+v", in)
	}
	out := cfg.Of(KindOutput)
	if len(out) != 2 || out[0].Name != "applog" || out[1].Name != "all" {
		t.Fatalf("outputs not in file order: %+v", out)
	}
	a := out[0].Config.(*fileConfig)
	if a.Path != "/var/log/app.log" || a.Format != "text" || a.Mode != 0o640 || a.Rotate.D() != time.Hour {
		t.Errorf("applog = %+v", a)
	}
	if oc := out[0].Common.(*OutputCommon); oc.Match != "Type == 'oldstyle'" || oc.Type != "file" || oc.BatchSize != 1024 {
		t.Errorf("applog common = %+v", oc)
	}
	if out[1].Common.(*OutputCommon).Match != "TRUE" {
		t.Errorf("default match = %q", out[1].Common.(*OutputCommon).Match)
	}
	if out[1].Config.(*fileConfig).Path != "/tmp/all$.log" || out[1].Line != 16 {
		t.Errorf("all = %+v line %d", out[1].Config, out[1].Line)
	}
}

func TestParseErrorsAllAtOnce(t *testing.T) {
	doc := `[router]
sync = "sometimes"
colour = "blue"
gc_percent = 1

[input.udp]
adress = "x"

[output.applog]
type = "file"
format = "xml"
mode = "rw"

[output.bogus]
type = "kafka"
`
	_, err := Parse("bad.toml", []byte(doc), testCatalog, nil)
	if err == nil {
		t.Fatal("no error")
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %T, want Errors", err)
	}
	msg := err.Error()
	// The unknown type stops decoding before key checks, so check it alone.
	if !strings.Contains(msg, `bad.toml:14: [output.bogus]: unknown output type "kafka" (known: file)`) {
		t.Errorf("missing unknown type error in:\n%s", msg)
	}

	doc = strings.Replace(doc, "[output.bogus]\ntype = \"kafka\"\n", "", 1)
	_, err = Parse("bad.toml", []byte(doc), testCatalog, nil)
	msg = err.Error()
	for _, want := range []string{
		"bad.toml:3:1: unknown key router.colour",
		"gc_percent = 1: want 25..10000",
		"bad.toml:7:1: unknown key input.udp.adress",
		"bad.toml:12:",
		"bad.toml:2: [router]: sync = \"sometimes\"",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestValidationLines(t *testing.T) {
	doc := "[output.applog]\ntype = \"file\"\nformat = \"xml\"\n"
	_, err := Parse("v.toml", []byte(doc), testCatalog, nil)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{
		"v.toml:1: [output.applog]: path must not be empty",
		"v.toml:3: [output.applog]: format must be",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestEnvErrors(t *testing.T) {
	_, err := Parse("e.toml", []byte("[router]\n\ndata_dir = \"${NOPE}\"\n"), testCatalog, nil)
	if err == nil || !strings.Contains(err.Error(), "e.toml:3: environment variable NOPE is not set") {
		t.Errorf("err = %v", err)
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse("s.toml", []byte("[router]\ndata_dir = \n"), testCatalog, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "s.toml:2:") {
		t.Errorf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("[router]\ndata_dir = \"x\"\n[input.udp]\naddress = \"a\"\n"))
	f.Add([]byte("[output.o]\ntype = \"file\"\npath = \"${X:-y}\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.toml", data, testCatalog, nil)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}

func TestRouterSampleIsTheDefault(t *testing.T) {
	cfg, err := Parse("router.toml", []byte(RouterSample()), Catalog{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Router != DefaultRouter() {
		t.Errorf("sample %+v\ndefault %+v", cfg.Router, DefaultRouter())
	}
}
