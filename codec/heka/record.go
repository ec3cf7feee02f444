package heka

import (
	"errors"
	"fmt"
	"slices"

	"github.com/metlog/metlog"
)

// Framing bytes and limits.
const (
	// RecordSeparator starts every record.
	RecordSeparator = 0x1E
	// UnitSeparator ends the header.
	UnitSeparator = 0x1F
	// MaxMessageSize is Heka's limit on the Message protobuf of a record,
	// inclusive.
	MaxMessageSize = 64 << 10
	// MaxHeaderSize is the largest header, whose length is one byte.
	MaxHeaderSize = 255
	// MaxRecordSize is the largest record with a message of at most
	// MaxMessageSize bytes.
	MaxRecordSize = 3 + MaxHeaderSize + MaxMessageSize
)

// Framing errors.
var (
	// ErrMessageTooLarge: a message is larger than the limit in force.
	ErrMessageTooLarge = errors.New("heka: message too large")
	// ErrHeaderTooLarge: a header would not fit in 255 bytes (a signer
	// name of more than about 220 bytes).
	ErrHeaderTooLarge = errors.New("heka: header longer than 255 bytes")
	// ErrNotRecord: the data does not start with RecordSeparator.
	ErrNotRecord = errors.New("heka: no record separator")
	// ErrShortRecord: the data ends before the record it starts.
	ErrShortRecord = errors.New("heka: record truncated")
	// ErrUnitSeparator: the byte after the header is not UnitSeparator.
	ErrUnitSeparator = errors.New("heka: missing unit separator after header")
	// ErrTrailingBytes: a datagram holds bytes after its record.
	ErrTrailingBytes = errors.New("heka: bytes after the record in a datagram")
	// ErrUnsupportedHash: a Signer names a hash function this package
	// does not implement.
	ErrUnsupportedHash = errors.New("heka: unsupported hash function")
)

// Record is one framed record: its decoded header and the bytes of its
// Message protobuf, which HMACs are computed over and Unmarshal decodes.
type Record struct {
	Header Header
	// Message is the Message protobuf.
	Message []byte
	// Raw is the whole record, from RecordSeparator to the end of Message.
	Raw []byte
}

// Verify checks the record's signature against keys; see KeySet.Verify.
func (r *Record) Verify(keys *KeySet) Status { return keys.Verify(&r.Header, r.Message) }

// AppendRecord appends m as one framed record, signed by s unless s is nil,
// and returns the extended slice. The message is encoded in place after its
// header, so a reused dst with room enough makes AppendRecord allocation
// free apart from the HMAC. On error dst is returned unchanged.
func AppendRecord(dst []byte, m *metlog.Message, s *Signer) ([]byte, error) {
	size := m.ProtobufSize()
	dst, start, err := appendFrameHeader(dst, size, s)
	if err != nil {
		return dst, err
	}
	dst = m.AppendProtobuf(dst)
	return signFrame(dst, start, size, s), nil
}

// AppendRecordBytes frames msg, the bytes of an already encoded Message
// protobuf, as AppendRecord does.
func AppendRecordBytes(dst, msg []byte, s *Signer) ([]byte, error) {
	dst, start, err := appendFrameHeader(dst, len(msg), s)
	if err != nil {
		return dst, err
	}
	dst = append(dst, msg...)
	return signFrame(dst, start, len(msg), s), nil
}

// appendFrameHeader appends the separator, header length, header and unit
// separator for a message of size bytes, with a zero HMAC of the right
// length in place for signFrame to fill. start is the length of dst on
// entry.
func appendFrameHeader(dst []byte, size int, s *Signer) (_ []byte, start int, _ error) {
	if size > MaxMessageSize {
		return dst, 0, fmt.Errorf("%w: %d bytes (limit %d)", ErrMessageTooLarge, size, MaxMessageSize)
	}
	var zeros [64]byte
	h := Header{MessageLength: uint32(size)}
	if s != nil {
		if !s.Hash.Supported() {
			return dst, 0, fmt.Errorf("%w: %v", ErrUnsupportedHash, s.Hash)
		}
		h.Hash, h.Signer, h.KeyVersion, h.HMAC = s.Hash, s.Name, s.Version, zeros[:s.Hash.Size()]
	}
	hs := h.Size()
	if hs > MaxHeaderSize {
		return dst, 0, fmt.Errorf("%w: %d bytes for signer %q", ErrHeaderTooLarge, hs, s.Name)
	}
	start = len(dst)
	dst = slices.Grow(dst, 3+hs+size) // the whole record
	dst = append(dst, RecordSeparator, byte(hs))
	dst = h.AppendProtobuf(dst)
	return append(dst, UnitSeparator), start, nil
}

// signFrame writes the HMAC of the size message bytes at the end of the
// record starting at dst[start] into the header's HMAC placeholder, which
// ends just before the unit separator.
func signFrame(dst []byte, start, size int, s *Signer) []byte {
	if s == nil {
		return dst
	}
	msg := dst[len(dst)-size:]
	hmacEnd := start + 2 + int(dst[start+1])
	var buf [64]byte
	copy(dst[hmacEnd-s.Hash.Size():hmacEnd], sum(buf[:0], s.Hash, s.Key, msg))
	return dst
}

// ParseRecord reads the record at the start of data into r and returns its
// length. It parses positionally, as Heka does: separator, header length
// byte (which may itself be 0x1E), header, unit separator, then exactly
// MessageLength message bytes. maxMessage limits MessageLength;
// MaxMessageSize is used when it is 0 or less. r's slices alias data.
//
// ErrShortRecord means data ends inside the record; any other error means
// data does not start with a record.
func ParseRecord(data []byte, r *Record, maxMessage int) (int, error) {
	if maxMessage <= 0 {
		maxMessage = MaxMessageSize
	}
	if len(data) == 0 {
		return 0, ErrShortRecord
	}
	if data[0] != RecordSeparator {
		return 0, ErrNotRecord
	}
	if len(data) < 2 {
		return 0, ErrShortRecord
	}
	headerEnd := 2 + int(data[1]) // index of the unit separator
	if len(data) <= headerEnd {
		return 0, ErrShortRecord
	}
	if data[headerEnd] != UnitSeparator {
		return 0, ErrUnitSeparator
	}
	if err := ParseHeader(data[2:headerEnd], &r.Header); err != nil {
		return 0, err
	}
	if int64(r.Header.MessageLength) > int64(maxMessage) {
		return 0, fmt.Errorf("%w: header says %d bytes (limit %d)", ErrMessageTooLarge, r.Header.MessageLength, maxMessage)
	}
	end := headerEnd + 1 + int(r.Header.MessageLength)
	if len(data) < end {
		return 0, ErrShortRecord
	}
	r.Message = data[headerEnd+1 : end : end]
	r.Raw = data[:end:end]
	return end, nil
}

// SplitDatagram reads the one record a datagram holds, as heka and metlog
// clients send them over UDP. Unlike a stream there is no resynchronising:
// the datagram must be exactly one record. r's slices alias p.
func SplitDatagram(p []byte, r *Record) error {
	n, err := ParseRecord(p, r, MaxMessageSize)
	if err != nil {
		return err
	}
	if n != len(p) {
		return fmt.Errorf("%w: %d of %d bytes", ErrTrailingBytes, len(p)-n, len(p))
	}
	return nil
}

// LooksFramed reports whether p starts like a heka record, with
// RecordSeparator. Inputs that accept both heka and metlog JSON use it
// with LooksJSON to pick a decoder.
func LooksFramed(p []byte) bool { return len(p) > 0 && p[0] == RecordSeparator }

// LooksJSON reports whether p starts like a JSON object: '{' after optional
// JSON whitespace.
func LooksJSON(p []byte) bool {
	for _, c := range p {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}
