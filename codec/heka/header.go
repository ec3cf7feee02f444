package heka

import (
	"encoding/binary"
)

// Header is the protobuf Header that precedes every message in a heka
// stream. Its field numbers are Heka's: message_length = 1,
// hmac_hash_function = 3, hmac_signer = 4, hmac_key_version = 5, hmac = 6.
type Header struct {
	// MessageLength is the length of the Message protobuf that follows.
	MessageLength uint32
	// Hash is the HMAC's hash function; MD5 (0) when absent.
	Hash Hash
	// Signer names who signed the message; keys are looked up by Signer
	// and KeyVersion.
	Signer string
	// KeyVersion is the version of the signer's key.
	KeyVersion uint32
	// HMAC is the signature of the Message bytes; empty when unsigned.
	HMAC []byte
}

// Signed reports whether the header carries an HMAC. As in Heka, a record
// with an empty or absent hmac is unsigned whatever else its header says.
func (h *Header) Signed() bool { return len(h.HMAC) > 0 }

// ParseHeader decodes a protobuf Header from data into h. Unknown fields
// are skipped; message_length and hmac_key_version are truncated to 32 bits
// as Heka reads them. h.HMAC aliases data. h.Signer is reused without
// allocating when it already holds the decoded name, so parsing a stream's
// headers into the same Header allocates only when the signer changes.
//
// ParseHeader does not check MessageLength against a limit; the framing
// functions do. It never panics; malformed input yields a *SyntaxError.
func ParseHeader(data []byte, h *Header) error {
	signer := h.Signer
	*h = Header{}
	w := wire{b: data}
	for w.more() {
		tagOff := w.off
		num, typ, err := w.tag()
		if err != nil {
			return &SyntaxError{In: "Header", Offset: tagOff, Err: err}
		}
		valOff := w.off
		if err := h.parseField(&w, num, typ, signer); err != nil {
			return &SyntaxError{In: "Header", Offset: valOff, Field: num, Err: err}
		}
	}
	return nil
}

func (h *Header) parseField(w *wire, num, typ int, signer string) error {
	switch num {
	case 1, 3, 5:
		if err := expect(typ, wireVarint); err != nil {
			return err
		}
		v, err := w.uvarint()
		if err != nil {
			return err
		}
		switch num {
		case 1:
			h.MessageLength = uint32(v)
		case 3:
			h.Hash = Hash(int32(v))
		case 5:
			h.KeyVersion = uint32(v)
		}
	case 4, 6:
		if err := expect(typ, wireBytes); err != nil {
			return err
		}
		start, end, err := w.bytes()
		if err != nil {
			return err
		}
		if num == 6 {
			h.HMAC = w.b[start:end:end]
		} else if b := w.b[start:end]; string(b) == signer {
			h.Signer = signer
		} else {
			h.Signer = string(b)
		}
	default:
		return w.skip(typ)
	}
	return nil
}

// AppendProtobuf appends h encoded as Heka's client encodes it:
// message_length always; hmac_hash_function only when not MD5 (Heka writes
// it for SHA-1 and leaves MD5 implied); hmac_signer and hmac_key_version
// (even 0) when the header names a signer or carries an HMAC; hmac when it
// is not empty.
func (h *Header) AppendProtobuf(dst []byte) []byte {
	dst = append(dst, 1<<3|wireVarint)
	dst = binary.AppendUvarint(dst, uint64(h.MessageLength))
	if h.Hash != MD5 {
		dst = append(dst, 3<<3|wireVarint)
		dst = binary.AppendUvarint(dst, uint64(h.Hash))
	}
	if h.Signer != "" || len(h.HMAC) > 0 {
		dst = append(dst, 4<<3|wireBytes)
		dst = binary.AppendUvarint(dst, uint64(len(h.Signer)))
		dst = append(dst, h.Signer...)
		dst = append(dst, 5<<3|wireVarint)
		dst = binary.AppendUvarint(dst, uint64(h.KeyVersion))
	}
	if len(h.HMAC) > 0 {
		dst = append(dst, 6<<3|wireBytes)
		dst = binary.AppendUvarint(dst, uint64(len(h.HMAC)))
		dst = append(dst, h.HMAC...)
	}
	return dst
}

// Size returns the number of bytes AppendProtobuf appends for h.
func (h *Header) Size() int {
	n := 1 + uvarintSize(uint64(h.MessageLength))
	if h.Hash != MD5 {
		n += 1 + uvarintSize(uint64(h.Hash))
	}
	if h.Signer != "" || len(h.HMAC) > 0 {
		n += 1 + uvarintSize(uint64(len(h.Signer))) + len(h.Signer)
		n += 1 + uvarintSize(uint64(h.KeyVersion))
	}
	if len(h.HMAC) > 0 {
		n += 1 + uvarintSize(uint64(len(h.HMAC))) + len(h.HMAC)
	}
	return n
}

// uvarintSize is the length of the varint encoding of v.
func uvarintSize(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
