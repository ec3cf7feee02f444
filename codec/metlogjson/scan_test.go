package metlogjson

import (
	"math/rand/v2"
	"testing"
)

// TestSkipPlain compares skipPlain with a byte-at-a-time scan, for each
// special byte at each position of a word and after runs of plain bytes.
func TestSkipPlain(t *testing.T) {
	naive := func(b []byte, i int) int {
		for i < len(b) && !strSpecial[b[i]] {
			i++
		}
		return i
	}
	check := func(b []byte, i int) {
		t.Helper()
		if got, want := skipPlain(b, i), naive(b, i); got != want {
			t.Fatalf("skipPlain(%q, %d) = %d, want %d", b, i, got, want)
		}
	}
	for c := range 256 {
		for n := range 24 {
			b := make([]byte, 24)
			for k := range b {
				b[k] = 'a' + byte(k%26)
			}
			b[n] = byte(c)
			for start := range 9 {
				check(b, start)
				check(b[:n+1], start)
			}
		}
	}
	// Special bytes after a special byte, where a word's arithmetic
	// borrows.
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, 0x1f, ' ', '!', '"', '#', '\\', ']', 0x7f, 0x80, 0x9f, 0xa0, 0xff, 'x', 'x', 'x', 'x', 'x', 'x', 'x'}
	for range 100000 {
		b := make([]byte, rng.IntN(40))
		for k := range b {
			b[k] = alphabet[rng.IntN(len(alphabet))]
		}
		check(b, 0)
		if len(b) > 0 {
			check(b, rng.IntN(len(b)))
		}
	}
}
