package metlog

import (
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

func BenchmarkUUIDGenerator(b *testing.B) {
	g := NewUUIDGenerator()
	for b.Loop() {
		g.New(1)
	}
}
