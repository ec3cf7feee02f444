package main

import (
	"bytes"
	"context"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/codec/metlogjson"
	statsdin "github.com/metlog/metlog/input/statsd"
)

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	if code, _, errs := runCmd(); code != 2 || !strings.Contains(errs, "usage: metlog") {
		t.Errorf("no args: %d %q", code, errs)
	}
	if code, _, errs := runCmd("frobnicate"); code != 2 || !strings.Contains(errs, `unknown command "frobnicate"`) {
		t.Errorf("unknown: %d %q", code, errs)
	}
	if code, out, _ := runCmd("version"); code != 0 || !strings.HasPrefix(out, "metlog ") {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	os.WriteFile(good, []byte("[input.udp]\naddress = \"127.0.0.1:5565\"\n"), 0o600)
	if code, out, errs := runCmd("validate", "--config", good); code != 0 || !strings.Contains(out, "OK (1 inputs, 0 outputs)") {
		t.Errorf("good: %d %q %q", code, out, errs)
	}
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[input.udp]\nadress = \"x\"\n[output.o]\ntype = \"file\"\nmatch = \"Type ==\"\n"), 0o600)
	code, _, errs := runCmd("validate", "--config", bad)
	if code != 1 {
		t.Errorf("bad: exit %d", code)
	}
	for _, want := range []string{"bad.toml:2:1: unknown key input.udp.adress", "bad.toml:3: [output.o]: path must be set", "bad.toml:5: [output.o]: match: column 8"} {
		if !strings.Contains(errs, want) {
			t.Errorf("missing %q in:\n%s", want, errs)
		}
	}
	if code, _, _ := runCmd("validate"); code != 2 {
		t.Errorf("no --config: exit %d", code)
	}
}

func TestPlugins(t *testing.T) {
	code, out, _ := runCmd("plugins")
	for _, want := range []string{`# input "udp"`, `# input "tcp"`, `# input "http"`, `# output "file"`, `# output "tcp"`, "[input.udp]"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("plugins lacks %q", want)
		}
	}
	// Every sample parses as a valid config on its own.
	code, out, _ = runCmd("router", "-print-default")
	if code != 0 || !strings.Contains(out, "[input.udp]") {
		t.Errorf("print-default: %d %q", code, out)
	}
}

func TestSend(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	code, _, errs := runCmd("send", "-target", "udp://"+pc.LocalAddr().String(), "-type", "deploy",
		"-severity", "warning", "-field", "n=3", "-field", "v:=12", "hello", "world")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	buf := make([]byte, 65536)
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	var m metlog.Message
	if err := metlogjson.Decode(buf[:n], &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "deploy" || m.Payload != "hello world" || m.Severity != metlog.Warning ||
		m.Field("n").Integers[0] != 3 || m.Field("v").Strings[0] != "12" || m.Logger != "metlog-send" {
		t.Errorf("got %+v", m)
	}
	if code, _, errs := runCmd("send", "-field", "novalue", "x"); code != 2 || !strings.Contains(errs, "want name=value") {
		t.Errorf("bad field: %d %q", code, errs)
	}
}

func TestCat(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "m.json")
	os.WriteFile(f, []byte(`{"type": "a", "payload": "one"}`+"\n"+`{"type": "b", "payload": "two"}`+"\n"), 0o600)
	code, out, errs := runCmd("cat", "-match", "Type == 'b'", "-template", "{type}:{payload}", f)
	if code != 0 || out != "b:two\n" {
		t.Errorf("cat: %d %q %q", code, out, errs)
	}
	// A statsd record in a heka stream is printed as its lines' messages.
	rec := &metlog.Message{Type: statsdin.RecordType, Logger: "statsd", Payload: "hits:1|c\nlatency:12|ms\nhits:3|c|@0.5"}
	hf := filepath.Join(dir, "journal.heka")
	stream, err := heka.AppendRecord(nil, rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(hf, stream, 0o600)
	code, out, errs = runCmd("cat", "-match", "Type == 'counter'", "-template", "{type}:{payload}", hf)
	if code != 0 || out != "counter:1\ncounter:3\n" {
		t.Errorf("cat of a statsd record: %d %q %q", code, out, errs)
	}
	code, _, errs = runCmd("cat", "-match", "Type ==", f)
	if code != 1 || !strings.Contains(errs, "column") {
		t.Errorf("bad matcher: %d %q", code, errs)
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

// docs/plugins.md is generated from the samples the binary embeds.
func TestPluginsDocInStep(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "plugins.md")
	if *update {
		os.WriteFile(path, []byte(pluginsMarkdown()), 0o644)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != pluginsMarkdown() {
		t.Error("docs/plugins.md is stale: go test ./cmd/metlog -run PluginsDoc -update")
	}
}
