package statsd

import (
	"bytes"
	"testing"
)

// FuzzParse checks that Parse never panics, that it returns only Errors,
// and that what it accepts survives Append → Parse unchanged, with stable
// bytes.
func FuzzParse(f *testing.F) {
	for _, c := range loadTable(f) {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var m Metric
		err := Parse(line, &m)
		if err != nil {
			if _, ok := err.(Error); !ok {
				t.Fatalf("error %v (%T) is not an Error", err, err)
			}
			return
		}
		if len(m.Name) == 0 || m.Type == 0 || !(m.Rate > 0 && m.Rate <= 1) {
			t.Fatalf("accepted a bad metric: %+v", m)
		}
		out := Append(nil, &m)
		if bytes.IndexByte(out, '\n') >= 0 {
			t.Fatalf("Append wrote a newline: %q", out)
		}
		var back Metric
		if err := Parse(out, &back); err != nil {
			t.Fatalf("%q appends as %q, which does not parse: %v", line, out, err)
		}
		if !metricEqual(&m, &back) {
			t.Fatalf("parse → append → parse changed the metric\nline  %q\nfirst  %+v\nsecond %+v", line, m, back)
		}
		if again := Append(nil, &back); !bytes.Equal(again, out) {
			t.Fatalf("Append is not stable: %q then %q", out, again)
		}
	})
}
