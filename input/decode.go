package input

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/codec/hekajson"
	"github.com/metlog/metlog/codec/metlogjson"
)

// Format is the wire format an input accepts, set with its format key.
type Format uint8

// The formats.
const (
	// FormatAuto accepts metlog JSON, Heka JSON (told from metlog JSON by
	// its capitalised keys; see package hekajson) and Heka records.
	FormatAuto Format = iota
	// FormatMetlogJSON accepts metlog JSON only, read as it is: a Heka JSON
	// object's keys stay fields named "@Key".
	FormatMetlogJSON
	// FormatHekaJSON accepts JSON objects only, every one read as Heka JSON.
	FormatHekaJSON
	// FormatHeka accepts Heka records only.
	FormatHeka
)

var formatNames = [...]string{"auto", "metlog-json", "heka-json", "heka"}

// String returns the format's config name, such as "heka-json".
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// MarshalText returns the config name.
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText reads "auto", "metlog-json", "heka-json" or "heka".
func (f *Format) UnmarshalText(b []byte) error {
	for i, n := range formatNames {
		if string(b) == n {
			*f = Format(i)
			return nil
		}
	}
	return fmt.Errorf("format %q: want one of %s", b, strings.Join(formatNames[:], ", "))
}

// AcceptsJSON reports whether f accepts JSON objects.
func (f Format) AcceptsJSON() bool { return f != FormatHeka }

// AcceptsHeka reports whether f accepts Heka records.
func (f Format) AcceptsHeka() bool { return f == FormatAuto || f == FormatHeka }

// Lift reads m, just decoded as metlog JSON, as Heka JSON when f says it
// is or, for FormatAuto, when it looks like it (hekajson.Detect). The check
// costs a metlog JSON message one comparison.
func (f Format) Lift(m *metlog.Message) {
	switch f {
	case FormatAuto:
		if hekajson.Detect(m) {
			hekajson.Lift(m)
		}
	case FormatHekaJSON:
		hekajson.Lift(m)
	}
}

// SignerKey is one key that Heka records may be signed with. Configured as
// an array of tables:
//
//	[[input.tcp.signers]]
//	name = "app"
//	version = 2
//	key_file = "/etc/metlog/app.v2.key"
type SignerKey struct {
	// Name is the signer named in the record header (hmac_signer).
	Name string `toml:"name"`
	// Version is the key version (hmac_key_version); several versions of
	// one signer may be listed, for rotation.
	Version uint32 `toml:"version"`
	// Key is the shared secret. Prefer KeyFile, or ${ENV} substitution,
	// over writing secrets into the config file.
	Key string `toml:"key"`
	// KeyFile is a file holding the secret; trailing newlines are ignored.
	KeyFile string `toml:"key_file"`
}

// Signatures is the signature policy of an input.
type Signatures struct {
	// RequireSignature rejects unsigned records and records whose
	// signature does not verify. Without it, unsigned records are accepted
	// and signed ones must still verify.
	RequireSignature bool `toml:"require_signature"`
	// Signers are the keys records may be signed with.
	Signers []SignerKey `toml:"signers"`
}

// Validate checks the policy without reading key files.
func (s *Signatures) Validate() error {
	var errs []error
	if s.RequireSignature && len(s.Signers) == 0 {
		errs = append(errs, errors.New("require_signature needs at least one [[signers]] entry"))
	}
	for i, k := range s.Signers {
		switch {
		case k.Name == "":
			errs = append(errs, fmt.Errorf("signers[%d]: name must be set", i))
		case (k.Key == "") == (k.KeyFile == ""):
			errs = append(errs, fmt.Errorf("signers[%d] (%s v%d): set exactly one of key and key_file", i, k.Name, k.Version))
		}
	}
	return errors.Join(errs...)
}

// KeySet loads the keys; it reads key files.
func (s *Signatures) KeySet() (*heka.KeySet, error) {
	ks := &heka.KeySet{}
	for _, k := range s.Signers {
		key := k.Key
		if k.KeyFile != "" {
			b, err := os.ReadFile(k.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("signer %s v%d: %w", k.Name, k.Version, err)
			}
			key = strings.TrimRight(string(b), "\r\n")
		}
		ks.Add(k.Name, k.Version, key)
	}
	return ks, nil
}

// Decoder turns what arrives on the wire into messages, applying an
// input's size limit and signature policy. It is safe for concurrent use.
type Decoder struct {
	// MaxSize is the largest message accepted, in bytes of its encoding.
	MaxSize int
	// Keys verify signed Heka records; nil means no keys.
	Keys *heka.KeySet
	// RequireSignature rejects unsigned Heka records and all metlog JSON.
	RequireSignature bool
	// MaxFields is the most fields a message may have; 0 means
	// metlogjson.DefaultMaxFields, the limit of the metlog JSON decoder.
	MaxFields int
	// Format is what the input accepts; the zero value detects.
	Format Format
}

// Datagram decodes one UDP datagram, metlog JSON or one Heka record, into
// m. On failure it returns the reason to count and an error describing it.
func (d *Decoder) Datagram(p []byte, m *metlog.Message) (Reason, error) {
	if len(p) > d.MaxSize+heka.MaxHeaderSize+3 {
		return ReasonTooLarge, fmt.Errorf("datagram of %d bytes is over the limit of %d", len(p), d.MaxSize)
	}
	if heka.LooksFramed(p) {
		if !d.Format.AcceptsHeka() {
			return ReasonMalformed, fmt.Errorf("a Heka record, and this input's format is %s", d.Format)
		}
		var rec heka.Record
		if err := heka.SplitDatagram(p, &rec); err != nil {
			if errors.Is(err, heka.ErrMessageTooLarge) {
				return ReasonTooLarge, err
			}
			return ReasonMalformed, err
		}
		return d.Record(&rec, m)
	}
	return d.JSON(p, m)
}

// JSON decodes one metlog JSON or Heka JSON object into m, as the
// decoder's Format says.
func (d *Decoder) JSON(p []byte, m *metlog.Message) (Reason, error) {
	if !d.Format.AcceptsJSON() {
		return ReasonMalformed, errors.New("a JSON object, and this input's format is heka")
	}
	if d.RequireSignature {
		return ReasonUnsigned, errors.New("metlog JSON carries no signature and this input requires one")
	}
	if len(p) > d.MaxSize {
		return ReasonTooLarge, fmt.Errorf("message of %d bytes is over the limit of %d", len(p), d.MaxSize)
	}
	if err := (metlogjson.Limits{MaxFields: d.MaxFields}).Decode(p, m); err != nil {
		return JSONReason(err), err
	}
	d.Format.Lift(m)
	Identify(m, "", "")
	return 0, nil
}

// JSONReason is the Reason to count for an error of the metlog JSON
// decoder: messages over a limit (size, nesting, fields) are too_large.
func JSONReason(err error) Reason {
	if errors.Is(err, metlogjson.ErrTooLarge) || errors.Is(err, metlogjson.ErrTooDeep) || errors.Is(err, metlogjson.ErrTooManyFields) {
		return ReasonTooLarge
	}
	return ReasonMalformed
}

// Record checks a Heka record's size and signature and decodes it into m.
// A record whose signature verified gets the signer's name as field
// FieldSigner (see Identify).
func (d *Decoder) Record(rec *heka.Record, m *metlog.Message) (Reason, error) {
	return d.RecordFrom(rec, m, "")
}

// RecordFrom is Record for a record that came over a connection whose
// client certificate names tlsClient ("" for none), which becomes field
// FieldTLSClient.
func (d *Decoder) RecordFrom(rec *heka.Record, m *metlog.Message, tlsClient string) (Reason, error) {
	if !d.Format.AcceptsHeka() {
		return ReasonMalformed, fmt.Errorf("a Heka record, and this input's format is %s", d.Format)
	}
	if len(rec.Message) > d.MaxSize {
		return ReasonTooLarge, fmt.Errorf("message of %d bytes is over the limit of %d", len(rec.Message), d.MaxSize)
	}
	signer := ""
	switch st := d.verify(rec); st {
	case heka.Valid:
		if d.Keys != nil && d.Keys.Len() > 0 {
			signer = rec.Header.Signer
		}
	case heka.Unsigned:
		if d.RequireSignature {
			return ReasonUnsigned, errors.New("unsigned record and this input requires a signature")
		}
	case heka.UnknownKey:
		return ReasonUnknownKey, fmt.Errorf("record signed by %q key version %d, which this input does not know", rec.Header.Signer, rec.Header.KeyVersion)
	default:
		return ReasonBadSignature, fmt.Errorf("record signed by %q: %v", rec.Header.Signer, st)
	}
	if err := heka.Unmarshal(rec.Message, m); err != nil {
		return ReasonMalformed, err
	}
	if max := cmp.Or(d.MaxFields, metlogjson.DefaultMaxFields); len(m.Fields) > max {
		return ReasonTooLarge, fmt.Errorf("message has %d fields; the limit is %d", len(m.Fields), max)
	}
	Identify(m, tlsClient, signer)
	return 0, nil
}

// verify checks a record's signature. Like Heka, an input with no keys
// configured does not check signatures at all (a signed record from a Heka
// client is accepted as it is); with keys, a signature must verify.
func (d *Decoder) verify(rec *heka.Record) heka.Status {
	if !rec.Header.Signed() {
		return heka.Unsigned
	}
	if d.Keys == nil || d.Keys.Len() == 0 {
		if d.RequireSignature {
			return heka.UnknownKey
		}
		return heka.Valid
	}
	return rec.Verify(d.Keys)
}
