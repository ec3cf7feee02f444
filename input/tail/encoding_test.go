package tail

import (
	"testing"
	"unicode/utf8"
)

// FuzzEncodings checks that, for every encoding, splitting and converting
// any bytes never panics, lines end where a newline is, cuts keep within
// the limit, and the text is valid UTF-8.
func FuzzEncodings(f *testing.F) {
	f.Add([]byte("caf\xc3\xa9\nbad \xff\r\n"), 3)
	f.Add([]byte("\xff\xfec\x00a\x00\n\x00=\xd8\x00\xde"), 5)
	f.Add([]byte("\x00\n\xd8=\xde\x00\x00"), 1)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		for name, enc := range encodings {
			i := enc.newline(data)
			if i >= 0 && (i%enc.unit != 0 || i+enc.unit > len(data)) {
				t.Fatalf("%s: newline at %d of %d", name, i, len(data))
			}
			if s := enc.text(data); !utf8.ValidString(s) {
				t.Fatalf("%s: text %q is not UTF-8", name, s)
			}
			if max > 0 && max <= len(data) {
				if n := enc.cut(data, max); n < 0 || n > max {
					t.Fatalf("%s: cut %d bytes of %d at most", name, n, max)
				}
			}
		}
	})
}
