package metlog

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
	"time"
)

// UUID is a 16-byte RFC 9562 UUID. The zero value means "not assigned".
type UUID [16]byte

// NewUUID returns a version 7 UUID: 48 bits of Unix milliseconds followed by
// random bits, so UUIDs sort roughly by creation time.
func NewUUID() UUID { return NewUUIDAt(time.Now()) }

// NewUUIDAt returns a version 7 UUID for the time t.
func NewUUIDAt(t time.Time) UUID {
	var u UUID
	rand.Read(u[6:]) // never returns an error (crypto/rand, Go 1.24+)
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(t.UnixMilli()))
	copy(u[:6], ms[2:])
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u
}

// IsZero reports whether u is unassigned.
func (u UUID) IsZero() bool { return u == UUID{} }

// String returns the canonical 36-character form.
func (u UUID) String() string {
	return string(u.AppendText(make([]byte, 0, 36)))
}

// AppendText appends the canonical 36-character form to b.
func (u UUID) AppendText(b []byte) []byte {
	// Every UUID the router journals is written out as text once per
	// output: eight digits at a time, without a table.
	var t [36]byte
	be := binary.BigEndian
	be.PutUint64(t[0:], hex8(be.Uint32(u[0:])))
	t[8] = '-'
	h := hex8(be.Uint32(u[4:]))
	be.PutUint32(t[9:], uint32(h>>32))
	t[13] = '-'
	be.PutUint32(t[14:], uint32(h))
	t[18] = '-'
	h = hex8(be.Uint32(u[8:]))
	be.PutUint32(t[19:], uint32(h>>32))
	t[23] = '-'
	be.PutUint32(t[24:], uint32(h))
	be.PutUint64(t[28:], hex8(be.Uint32(u[12:])))
	return append(b, t[:]...)
}

// hex8 returns the eight lower-case hex digits of x, the first in the most
// significant byte.
func hex8(x uint32) uint64 {
	// Spread the nibbles one to a byte, then map 0-9 to '0'-'9' and 10-15
	// to 'a'-'f': (n+6)>>4 is 1 exactly for the letters.
	v := uint64(x)
	v = (v | v<<16) & 0x0000ffff0000ffff
	v = (v | v<<8) & 0x00ff00ff00ff00ff
	v = (v | v<<4) & 0x0f0f0f0f0f0f0f0f
	letters := (v + 0x0606060606060606) >> 4 & 0x0101010101010101
	return v + 0x3030303030303030 + letters*('a'-'0'-10)
}

// MarshalText implements encoding.TextMarshaler.
func (u UUID) MarshalText() ([]byte, error) { return u.AppendText(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler; see ParseUUID.
func (u *UUID) UnmarshalText(b []byte) error {
	v, err := ParseUUID(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

var errUUIDSyntax = errors.New("uuid: want 32 hex digits, optionally in 8-4-4-4-12 form")

// ParseUUID accepts the canonical form and the 32-hex-digit form without
// hyphens, in either case.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	switch len(s) {
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return u, errUUIDSyntax
		}
		s = s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	case 32:
	default:
		return u, errUUIDSyntax
	}
	if _, err := hex.Decode(u[:], []byte(s)); err != nil {
		return UUID{}, errUUIDSyntax
	}
	return u, nil
}

// UUIDGenerator makes version 7 UUIDs with random bits from a ChaCha8
// stream seeded from crypto/rand: as unpredictable, without a system call
// per UUID. It is not safe for concurrent use; give each goroutine its own
// (or keep them in a sync.Pool).
type UUIDGenerator struct {
	r *mrand.ChaCha8
}

// NewUUIDGenerator returns a generator with a fresh random seed.
func NewUUIDGenerator() *UUIDGenerator {
	var seed [32]byte
	rand.Read(seed[:])
	return &UUIDGenerator{r: mrand.NewChaCha8(seed)}
}

// New returns a version 7 UUID for the time unixNano (nanoseconds since
// the epoch).
func (g *UUIDGenerator) New(unixNano int64) UUID {
	var u UUID
	binary.BigEndian.PutUint64(u[8:], g.r.Uint64())
	binary.BigEndian.PutUint64(u[:8], uint64(unixNano/int64(time.Millisecond))<<16|g.r.Uint64()&0xffff)
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u
}
