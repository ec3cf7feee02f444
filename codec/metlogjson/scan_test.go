package metlogjson

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
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

// TestParseTimestampMinuteCache checks that timestamps read with the minute
// of the one before remembered give what they give read alone, valid or
// not, and what package time gives for valid ones.
func TestParseTimestampMinuteCache(t *testing.T) {
	minutes := []string{
		"2026-11-22T01:49", "2026-11-22T01:50", "2026-11-22t01:50", "2026-11-22 01:50",
		"2024-02-29T23:59", "2023-02-29T23:59", "2026-13-01T00:00", "2026-11-22T24:00",
		"2026-11-22T01:60", "1677-09-21T00:12", "2262-04-11T23:47", "1970-01-01T00:00",
		"2026-1x-22T01:49", "2026/11/22T01:49",
	}
	seconds := []string{"00", "29", "59", "60", "61", "5x"}
	rests := []string{"", "Z", "z", ".187659Z", ".1", ".123456789", ".1234567890", "+01:00", "-0530", "+24:00", ".5x", "Q"}
	rng := rand.New(rand.NewPCG(7, 8))
	var shared minuteCache
	for range 100000 {
		s := minutes[rng.IntN(len(minutes))] + ":" + seconds[rng.IntN(len(seconds))] + rests[rng.IntN(len(rests))]
		var fresh minuteCache
		got, gotOK := parseTimestamp([]byte(s), &shared)
		want, wantOK := parseTimestamp([]byte(s), &fresh)
		if got != want || gotOK != wantOK {
			t.Fatalf("parseTimestamp(%q) = %d, %v after other minutes; %d, %v alone", s, got, gotOK, want, wantOK)
		}
		if tm, err := time.Parse(time.RFC3339Nano, strings.Replace(strings.ToUpper(s), " ", "T", 1)); err == nil && wantOK {
			if tm.UnixNano() != want {
				t.Fatalf("parseTimestamp(%q) = %d, time.Parse gives %d", s, want, tm.UnixNano())
			}
		}
	}
}

// FuzzSmallInt checks the integer fast path against number: whatever
// smallInt accepts, number reads as the same integer ending at the same
// byte.
func FuzzSmallInt(f *testing.F) {
	for _, s := range []string{"0", "-0", "7,", "200}", "4242 ", "-17]", "01", "1.5", "1e3", "-",
		"123456789012345678", "1234567890123456789", "-9223372036854775808", "NaN", "-Infinity", "2147483648"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, end, ok := smallInt(data, 0)
		if !ok || len(data) == 0 {
			return
		}
		d := decoder{data: data}
		n, err := d.number()
		if err != nil {
			t.Fatalf("smallInt(%q) = %d, but number fails: %v", data, v, err)
		}
		if n.kind != numInt || n.i != v || d.i != end {
			t.Fatalf("smallInt(%q) = %d ending at %d, number = kind %d, %d ending at %d", data, v, end, n.kind, n.i, d.i)
		}
	})
}

// FuzzFraction checks fraction, which reads up to six digits as one word,
// against fractionDigits, which reads a digit at a time.
func FuzzFraction(f *testing.F) {
	for _, s := range []string{".123456Z", ".1Z", ".12345678", ".1234567Z", ".Z123456", ".123456", ".000001+01:00",
		".999999z", ".12345:ab", ".9/", ".1234567890", ".12\xff4567"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b := append([]byte{'.'}, data...)
		frac, n, ok := fraction(b)
		wfrac, wn, wok := fractionDigits(b)
		if frac != wfrac || n != wn || ok != wok {
			t.Fatalf("fraction(%q) = %d, %d, %v; fractionDigits: %d, %d, %v", b, frac, n, ok, wfrac, wn, wok)
		}
	})
}
