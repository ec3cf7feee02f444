package syslog

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// FuzzFramer checks that framing never panics, never returns more than
// max bytes, and gives the same messages however the stream is cut into
// reads.
func FuzzFramer(f *testing.F) {
	for _, s := range []string{
		"<13>a\n<13>b\r\n\n<13>c",
		"5 <13>a6 <13>bc\n7 <13>\nde",
		"44 <13>" + strings.Repeat("x", 40) + "5 <13>b",
		"5 <13>a12x <13>b\n<13>c\n",
		"999999999 x",
	} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, stream string, chunk uint8) {
		read := func(n int) string {
			fr := newFramer(&chunkReader{s: stream, n: n}, 32, nil)
			var out strings.Builder
			for {
				msg, tr, err := fr.next()
				if err != nil {
					if !errors.Is(err, io.EOF) {
						t.Fatal(err)
					}
					return out.String()
				}
				if len(msg) > 32 {
					t.Fatalf("%q: message of %d bytes", stream, len(msg))
				}
				fmt.Fprintf(&out, "%q %v\n", msg, tr)
			}
		}
		whole := read(1 << 20)
		if cut := read(int(chunk%16) + 1); cut != whole {
			t.Fatalf("%q read whole:\n%s\nread in chunks of %d:\n%s", stream, whole, chunk%16+1, cut)
		}
	})
}
