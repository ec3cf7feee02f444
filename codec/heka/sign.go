package heka

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
)

// Hash is the hash function of a record's HMAC: Header.hmac_hash_function.
type Hash int32

// The hash functions. MD5 and SHA1 are Heka's; SHA256 is a metlog
// extension that Heka does not know (a Heka router treats its records as
// badly signed).
const (
	MD5    Hash = 0
	SHA1   Hash = 1
	SHA256 Hash = 2 // metlog extension
)

// String returns "md5", "sha1", "sha256", or the number of a hash function
// this package does not support.
func (h Hash) String() string {
	switch h {
	case MD5:
		return "md5"
	case SHA1:
		return "sha1"
	case SHA256:
		return "sha256"
	}
	return "Hash(" + strconv.Itoa(int(h)) + ")"
}

// Supported reports whether h is MD5, SHA1 or SHA256.
func (h Hash) Supported() bool { return h >= MD5 && h <= SHA256 }

// Size returns the length of h's digest, or 0 when h is not supported.
func (h Hash) Size() int {
	switch h {
	case MD5:
		return md5.Size
	case SHA1:
		return sha1.Size
	case SHA256:
		return sha256.Size
	}
	return 0
}

func (h Hash) new() func() hash.Hash {
	switch h {
	case MD5:
		return md5.New
	case SHA1:
		return sha1.New
	case SHA256:
		return sha256.New
	}
	return nil
}

// ParseHash accepts "md5", "sha1" or "sha256" in any case ("sha-1" and
// "sha-256" too). Heka's own encoder signs with MD5 for any name but the
// exact string "sha1", so a Heka config saying "SHA1" signs with MD5;
// metlog rejects unknown names instead of guessing.
func ParseHash(s string) (Hash, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "md5":
		return MD5, nil
	case "sha1", "sha-1":
		return SHA1, nil
	case "sha256", "sha-256":
		return SHA256, nil
	}
	return 0, fmt.Errorf("heka: unknown hash %q (want md5, sha1 or sha256)", s)
}

// UnmarshalText lets a Hash be read from config by name; see ParseHash.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// MarshalText writes the hash function's name.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// Signer signs records: the HMAC of the Message bytes (never the header)
// under Key with Hash, announced in the header as Name and Version. It is
// Heka's MessageSigningConfig.
type Signer struct {
	// Name is written as hmac_signer; verifiers look the key up by it.
	Name string
	// Version is written as hmac_key_version, so that keys can be rotated
	// while records signed with the previous key are still accepted.
	Version uint32
	// Hash is the HMAC's hash function.
	Hash Hash
	// Key is the shared secret.
	Key string
}

// sum appends the HMAC of msg under key with h to dst.
func sum(dst []byte, h Hash, key string, msg []byte) []byte {
	mac := hmac.New(h.new(), []byte(key))
	mac.Write(msg)
	return mac.Sum(dst)
}

// Status is the outcome of checking a record's signature.
type Status uint8

// The verification outcomes.
const (
	// Unsigned: the header carries no HMAC.
	Unsigned Status = iota
	// Valid: the HMAC matches the key of the named signer and version.
	Valid
	// BadSignature: the key was found and the HMAC does not match.
	BadSignature
	// UnknownKey: no key is known for the header's signer and version.
	UnknownKey
	// UnsupportedHash: the header names a hash function this package
	// does not implement.
	UnsupportedHash
)

var statusNames = [...]string{"unsigned", "valid", "bad signature", "unknown signer or key version", "unsupported hash"}

// String returns a lower-case description of s.
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// keyID is what a key is looked up by: Heka's splitter uses the string
// "<signer>_<version>" for the same pair.
type keyID struct {
	signer  string
	version uint32
}

// KeySet holds the keys that records may be signed with, by signer name and
// key version. Several versions of one signer's key may be present at once,
// which is how keys are rotated. The zero KeySet is empty and ready to use.
// Add must not run concurrently with anything else; Verify may run from
// many goroutines at once.
type KeySet struct {
	keys map[keyID]*key
}

// key is one secret with a pool of ready HMAC states per hash function,
// so that verifying does not set up an HMAC for every record.
type key struct {
	secret string
	macs   [SHA256 + 1]sync.Pool // of hash.Hash, indexed by Hash
}

// sum appends the HMAC of msg under the key with h to dst.
func (k *key) sum(dst []byte, h Hash, msg []byte) []byte {
	mac, _ := k.macs[h].Get().(hash.Hash)
	if mac == nil {
		mac = hmac.New(h.new(), []byte(k.secret))
	} else {
		mac.Reset()
	}
	mac.Write(msg)
	dst = mac.Sum(dst)
	k.macs[h].Put(mac)
	return dst
}

// Add makes the key secret valid for records whose header names signer and
// version, replacing any key already there.
func (k *KeySet) Add(signer string, version uint32, secret string) {
	if k.keys == nil {
		k.keys = make(map[keyID]*key)
	}
	k.keys[keyID{signer, version}] = &key{secret: secret}
}

// AddSigner adds the key of s, so that a KeySet can verify what s signs.
func (k *KeySet) AddSigner(s Signer) { k.Add(s.Name, s.Version, s.Key) }

// Len returns the number of keys in the set.
func (k *KeySet) Len() int { return len(k.keys) }

// Verify checks the signature in h over the Message bytes msg. Like Heka's
// splitter it uses the hash function the header names and treats a record
// without an HMAC as unsigned; whether unsigned records are acceptable is
// the caller's policy. The comparison takes constant time.
func (k *KeySet) Verify(h *Header, msg []byte) Status {
	if !h.Signed() {
		return Unsigned
	}
	if !h.Hash.Supported() {
		return UnsupportedHash
	}
	key := k.keys[keyID{h.Signer, h.KeyVersion}]
	if key == nil {
		return UnknownKey
	}
	var buf [sha256.Size]byte
	if !hmac.Equal(key.sum(buf[:0], h.Hash, msg), h.HMAC) {
		return BadSignature
	}
	return Valid
}
