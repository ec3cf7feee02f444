package syslog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/metlog/metlog"
)

// FuzzParse checks that Parse never panics, keeps every line it cannot
// read, and that what parses survives encode → parse → encode unchanged.
// Seeds are the golden cases in testdata/parse.
func FuzzParse(f *testing.F) {
	ins, _ := filepath.Glob("testdata/parse/*.in")
	for _, in := range ins {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	p := testParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		var m metlog.Message
		if err := p.Parse(line, &m); err != nil {
			if m.Field(FieldParseError) == nil || len(m.Payload) > len(line) {
				t.Fatalf("%q: malformed line not kept: %+v", line, m)
			}
			return
		}
		if m.Severity < 0 || m.Severity > 7 {
			t.Fatalf("%q: severity %d", line, m.Severity)
		}
		checkRoundTrip(t, p, line)
	})
}
