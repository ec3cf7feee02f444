package heka

import (
	"errors"
	"strings"
	"testing"

	"github.com/metlog/metlog"
)

// TestVectorsVerify checks the signed vectors against their keys, a wrong
// key, an unknown signer and an unknown key version.
func TestVectorsVerify(t *testing.T) {
	signed := 0
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			var r Record
			if _, err := ParseRecord(v.Bin, &r, 0); err != nil {
				t.Fatal(err)
			}
			sg := v.Desc.Signing
			if sg == nil {
				var keys KeySet
				keys.Add("router", 1, "k")
				if got := r.Verify(&keys); got != Unsigned {
					t.Errorf("unsigned vector: Verify = %v", got)
				}
				return
			}
			signed++
			tests := []struct {
				name string
				add  func(*KeySet)
				want Status
			}{
				{"right key", func(k *KeySet) { k.Add(sg.SignerName, sg.KeyVersion, sg.HmacKey) }, Valid},
				{"right key among rotated versions", func(k *KeySet) {
					k.Add(sg.SignerName, sg.KeyVersion+1, "next key")
					k.Add(sg.SignerName, sg.KeyVersion, sg.HmacKey)
				}, Valid},
				{"wrong key", func(k *KeySet) { k.Add(sg.SignerName, sg.KeyVersion, sg.HmacKey+"x") }, BadSignature},
				{"unknown signer", func(k *KeySet) { k.Add(sg.SignerName+"2", sg.KeyVersion, sg.HmacKey) }, UnknownKey},
				{"unknown version", func(k *KeySet) { k.Add(sg.SignerName, sg.KeyVersion+1, sg.HmacKey) }, UnknownKey},
				{"empty key set", func(*KeySet) {}, UnknownKey},
			}
			for _, tt := range tests {
				var keys KeySet
				tt.add(&keys)
				if got := r.Verify(&keys); got != tt.want {
					t.Errorf("%s: Verify = %v, want %v", tt.name, got, tt.want)
				}
			}
			// A flipped message bit invalidates the signature.
			msg := append([]byte(nil), r.Message...)
			msg[len(msg)-1] ^= 1
			var keys KeySet
			keys.Add(sg.SignerName, sg.KeyVersion, sg.HmacKey)
			if got := keys.Verify(&r.Header, msg); got != BadSignature {
				t.Errorf("tampered message: Verify = %v, want bad signature", got)
			}
		})
	}
	if signed != 3 {
		t.Errorf("verified %d signed vectors, want 3", signed)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	m := &metlog.Message{UUID: metlog.NewUUID(), Timestamp: 1, Type: "t", Severity: metlog.Info, Payload: "p"}
	for _, h := range []Hash{MD5, SHA1, SHA256} {
		t.Run(h.String(), func(t *testing.T) {
			s := &Signer{Name: "app", Version: 3, Hash: h, Key: "secret"}
			b, err := AppendRecord(nil, m, s)
			if err != nil {
				t.Fatal(err)
			}
			var r Record
			if err := SplitDatagram(b, &r); err != nil {
				t.Fatal(err)
			}
			if r.Header.Hash != h || len(r.Header.HMAC) != h.Size() || r.Header.Signer != "app" || r.Header.KeyVersion != 3 {
				t.Errorf("header = %+v", r.Header)
			}
			var keys KeySet
			keys.AddSigner(*s)
			if got := r.Verify(&keys); got != Valid {
				t.Errorf("Verify = %v, want valid", got)
			}
			// The header announces the hash; verifying under another one fails.
			r.Header.Hash = (h + 1) % 3
			if got := r.Verify(&keys); got != BadSignature {
				t.Errorf("Verify with another hash = %v, want bad signature", got)
			}
		})
	}
}

func TestVerifyStatus(t *testing.T) {
	var keys KeySet
	keys.Add("a", 0, "k")
	msg := []byte("message")
	tests := []struct {
		name string
		h    Header
		want Status
	}{
		{"no hmac", Header{}, Unsigned},
		{"signer without hmac", Header{Signer: "a"}, Unsigned},
		{"empty hmac", Header{Signer: "a", HMAC: []byte{}}, Unsigned},
		{"unsupported hash", Header{Signer: "a", Hash: 7, HMAC: []byte{1}}, UnsupportedHash},
		{"negative hash", Header{Signer: "a", Hash: -1, HMAC: []byte{1}}, UnsupportedHash},
		{"unknown signer", Header{Signer: "b", HMAC: []byte{1}}, UnknownKey},
		{"short hmac", Header{Signer: "a", HMAC: []byte{1}}, BadSignature},
		{"valid", Header{Signer: "a", HMAC: sum(nil, MD5, "k", msg)}, Valid},
		{"valid sha256", Header{Signer: "a", Hash: SHA256, HMAC: sum(nil, SHA256, "k", msg)}, Valid},
		{"truncated digest", Header{Signer: "a", Hash: SHA256, HMAC: sum(nil, SHA256, "k", msg)[:16]}, BadSignature},
	}
	for _, tt := range tests {
		if got := keys.Verify(&tt.h, msg); got != tt.want {
			t.Errorf("%s: Verify = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestParseHash(t *testing.T) {
	tests := []struct {
		in   string
		want Hash
		err  bool
	}{
		{"md5", MD5, false}, {"MD5", MD5, false}, {"sha1", SHA1, false}, {"SHA1", SHA1, false},
		{"sha-1", SHA1, false}, {" sha256 ", SHA256, false}, {"SHA-256", SHA256, false},
		{"", 0, true}, {"sha512", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseHash(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseHash(%q) = %v, %v", tt.in, got, err)
		}
		var h Hash
		if err := h.UnmarshalText([]byte(tt.in)); (err != nil) != tt.err || h != tt.want {
			t.Errorf("UnmarshalText(%q) = %v, %v", tt.in, h, err)
		}
	}
	for _, h := range []Hash{MD5, SHA1, SHA256} {
		b, _ := h.MarshalText()
		if back, err := ParseHash(string(b)); err != nil || back != h {
			t.Errorf("%v does not round-trip through its text: %v", h, err)
		}
	}
	if s := Hash(9).String(); s != "Hash(9)" {
		t.Errorf("Hash(9).String() = %q", s)
	}
	if Hash(9).Size() != 0 || Hash(9).Supported() {
		t.Error("Hash(9) claims support")
	}
}

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{Unsigned: "unsigned", Valid: "valid", BadSignature: "bad signature",
		UnknownKey: "unknown signer or key version", UnsupportedHash: "unsupported hash", 99: "Status(99)"} {
		if got := s.String(); got != want {
			t.Errorf("Status(%d).String() = %q, want %q", s, got, want)
		}
	}
}

func TestSignerErrors(t *testing.T) {
	m := &metlog.Message{}
	dst := []byte("keep")
	tests := []struct {
		name string
		s    *Signer
		want error
	}{
		{"unsupported hash", &Signer{Name: "a", Hash: 5, Key: "k"}, ErrUnsupportedHash},
		{"signer name too long", &Signer{Name: strings.Repeat("n", 250), Hash: SHA256, Key: "k"}, ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		got, err := AppendRecord(dst, m, tt.s)
		if !errors.Is(err, tt.want) || string(got) != "keep" {
			t.Errorf("%s: AppendRecord = %q, %v; want dst unchanged and %v", tt.name, got, err, tt.want)
		}
	}
	// The longest signer name that fits in 255 header bytes: message_length
	// (2) + hash (2) + signer tag and 2-byte length (3) + name + key version
	// (2) + hmac tag, length and digest (2+32).
	name := strings.Repeat("n", 255-(2+2+3+2+2+sha256Size))
	if _, err := AppendRecord(nil, m, &Signer{Name: name, Version: 1, Hash: SHA256, Key: "k"}); err != nil {
		t.Errorf("signer of %d bytes: %v", len(name), err)
	}
	if _, err := AppendRecord(nil, m, &Signer{Name: name + "n", Version: 1, Hash: SHA256, Key: "k"}); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("signer of %d bytes: %v, want ErrHeaderTooLarge", len(name)+1, err)
	}
}

// sha256Size is the HMAC-SHA256 length, spelled out for header arithmetic.
const sha256Size = 32

func TestVerifyConcurrent(t *testing.T) {
	s := Signer{Name: "app", Version: 1, Hash: SHA256, Key: "k"}
	var keys KeySet
	keys.AddSigner(s)
	b, err := AppendRecord(nil, &metlog.Message{Payload: "p"}, &s)
	if err != nil {
		t.Fatal(err)
	}
	var r Record
	if err := SplitDatagram(b, &r); err != nil {
		t.Fatal(err)
	}
	done := make(chan Status)
	for range 4 {
		go func() {
			st := Valid
			for range 200 {
				if got := r.Verify(&keys); got != Valid {
					st = got
				}
			}
			done <- st
		}()
	}
	for range 4 {
		if st := <-done; st != Valid {
			t.Errorf("concurrent Verify = %v", st)
		}
	}
}
