package metlog

import (
	"encoding/hex"
	"testing"
	"time"
)

func TestUUIDs(t *testing.T) {
	at := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	g := NewUUIDGenerator()
	seen := map[UUID]bool{}
	for _, u := range []UUID{NewUUID(), NewUUIDAt(at), g.New(at.UnixNano()), g.New(at.UnixNano())} {
		if u[6]>>4 != 7 || u[8]>>6 != 2 {
			t.Errorf("%s: not a version 7 RFC 9562 UUID", u)
		}
		if seen[u] {
			t.Errorf("%s repeated", u)
		}
		seen[u] = true
		back, err := ParseUUID(u.String())
		if err != nil || back != u {
			t.Errorf("ParseUUID(%s) = %s, %v", u, back, err)
		}
	}
	// The first 48 bits are the Unix milliseconds, for both sources.
	a, b := NewUUIDAt(at), g.New(at.UnixNano())
	if a.String()[:13] != b.String()[:13] || a.String()[:13] != "01a200c6-42f8" {
		t.Errorf("timestamps differ: %s %s", a, b)
	}
	for _, bad := range []string{"", "xyz", "019aa90f-0000-7000-8000-00000000000g", "019aa90f00007000800000000000000"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) accepted", bad)
		}
	}
}

// FuzzUUIDText checks the canonical form against encoding/hex, digit by
// digit.
func FuzzUUIDText(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x09\x0a\x0f\x10\x90\xa0\xf0\xff\x19\x9a\xaf\xfa\x01\x23\x45"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var u UUID
		copy(u[:], b)
		h := hex.EncodeToString(u[:])
		want := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
		if got := string(u.AppendText([]byte("x"))); got != "x"+want {
			t.Fatalf("% x: got %s, want %s", u[:], got[1:], want)
		}
	})
}

func BenchmarkUUIDGenerator(b *testing.B) {
	g := NewUUIDGenerator()
	for b.Loop() {
		g.New(1)
	}
}
