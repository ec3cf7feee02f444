package carbon

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output"
	"github.com/metlog/metlog/output/outputtest"
)

// seedMessages returns the messages of every testdata case.
func seedMessages(f *testing.F) []*metlog.Message {
	ins, _ := filepath.Glob("testdata/cases/*/in.jsonl")
	var out []*metlog.Message
	for _, in := range ins {
		out = append(out, outputtest.ReadMessages(f, in)...)
	}
	if len(out) == 0 {
		f.Fatal("no seed messages")
	}
	return out
}

// FuzzStatmetric checks that whatever a statmetric payload holds, only
// well-formed lines go out, and that sending them again changes nothing.
func FuzzStatmetric(f *testing.F) {
	for _, m := range seedMessages(f) {
		f.Add(m.Payload)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		out, r := appendStatmetric(nil, payload)
		if n := bytes.Count(out, []byte("\n")); n != r.lines {
			t.Fatalf("%d lines out, counted %d", n, r.lines)
		}
		for line := range strings.Lines(string(out)) {
			name, value, ts, ok := splitLine(line)
			if !ok || line != name+" "+value+" "+ts+"\n" {
				t.Fatalf("bad line out: %q", line)
			}
		}
		again, r2 := appendStatmetric(nil, string(out))
		if !bytes.Equal(again, out) || r2.invalid != 0 {
			t.Fatalf("not stable: %q then %q", out, again)
		}
	})
}

// FuzzDirect checks that a counter, timer or gauge message gives either
// nothing or one line whose path is made of safe characters.
func FuzzDirect(f *testing.F) {
	types := []string{metlog.TypeCounter, metlog.TypeTimer, metlog.TypeGauge}
	for _, m := range seedMessages(f) {
		if i := slices.Index(types, m.Type); i >= 0 {
			f.Add(uint8(i), m.Logger, output.MetricName(m), m.Payload)
		}
	}
	o, err := New(Config{Address: "127.0.0.1:2003", Protocol: "tcp", Timeout: 1, MaxDatagram: 1432,
		Direct: true, LoggerNamespace: true, Prefix: "p"}, discard)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind uint8, logger, name, payload string) {
		m := &metlog.Message{Timestamp: 1795312180e9, Type: types[int(kind)%len(types)], Logger: logger, Payload: payload,
			Fields: []metlog.Field{metlog.String("name", name), metlog.Float("rate", 0.1)}}
		out, r := o.appendMessage(nil, m)
		if len(out) == 0 {
			return
		}
		if r.lines != 1 || bytes.Count(out, []byte("\n")) != 1 {
			t.Fatalf("%+v: %q", r, out)
		}
		path, value, ts, ok := splitLine(string(out))
		if !ok || string(out) != path+" "+value+" "+ts+"\n" {
			t.Fatalf("bad line %q", out)
		}
		if string(appendName(nil, path)) != path {
			t.Fatalf("unsafe path %q", path)
		}
	})
}
