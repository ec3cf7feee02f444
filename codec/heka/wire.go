package heka

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Protobuf wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireStart   = 3 // group start, deprecated and rejected
	wireEnd     = 4 // group end, deprecated and rejected
	wireFixed32 = 5
)

// Errors a decoder wraps in a *SyntaxError; test for them with errors.Is.
var (
	// ErrTruncatedVarint: the data ends inside a varint.
	ErrTruncatedVarint = errors.New("truncated varint")
	// ErrVarintOverflow: a varint is longer than 10 bytes.
	ErrVarintOverflow = errors.New("varint longer than 10 bytes")
	// ErrLength: a length-delimited value or fixed-size number runs past
	// the end of its buffer.
	ErrLength = errors.New("length beyond buffer")
	// ErrWireType: a wire type that is invalid, a deprecated group, or not
	// the one a known field is declared with.
	ErrWireType = errors.New("bad wire type")
	// ErrFieldNumber: a tag with field number 0.
	ErrFieldNumber = errors.New("field number 0")
	// ErrValueType: a Field's value_type is not one Heka defines (0..4).
	ErrValueType = errors.New("unknown value type")
	// ErrPackedLength: packed doubles whose length is not a multiple of 8.
	ErrPackedLength = errors.New("packed doubles length not a multiple of 8")
)

// SyntaxError is a malformed protobuf Message or Header.
type SyntaxError struct {
	// In names the protobuf message being decoded: "Message", "Field"
	// (inside a Message) or "Header".
	In string
	// Offset is the byte offset of the problem within the decoded buffer.
	Offset int
	// Field is the protobuf field number being read, or 0 for a tag.
	Field int
	// Err is one of the Err* sentinels of this package.
	Err error
}

func (e *SyntaxError) Error() string {
	s := "heka: " + e.In + " protobuf"
	if e.Field != 0 {
		s += ", field " + strconv.Itoa(e.Field)
	}
	return s + ": " + e.Err.Error() + " at offset " + strconv.Itoa(e.Offset)
}

// Unwrap returns the sentinel error.
func (e *SyntaxError) Unwrap() error { return e.Err }

// wire reads protobuf primitives from b. Every method checks bounds; errors
// are bare sentinels that the caller wraps with context.
type wire struct {
	b   []byte
	off int
}

func (w *wire) more() bool { return w.off < len(w.b) }

// uvarint reads a varint of up to 10 bytes. Like Heka's generated code it
// lets bits beyond 64 fall off rather than rejecting a 10th byte above 1.
func (w *wire) uvarint() (uint64, error) {
	if w.off < len(w.b) && w.b[w.off] < 0x80 {
		w.off++
		return uint64(w.b[w.off-1]), nil
	}
	return w.uvarintLong()
}

// uvarintLong is uvarint for a varint of more than one byte (or none).
func (w *wire) uvarintLong() (uint64, error) {
	var v uint64
	for shift := uint(0); shift < 70; shift += 7 {
		if w.off >= len(w.b) {
			return 0, ErrTruncatedVarint
		}
		c := w.b[w.off]
		w.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, ErrVarintOverflow
}

// tag reads a field key and returns the field number and wire type.
func (w *wire) tag() (num int, typ int, err error) {
	if w.off < len(w.b) {
		if k := w.b[w.off]; k < 0x80 && k >= 1<<3 {
			w.off++
			return int(k >> 3), int(k & 7), nil
		}
	}
	k, err := w.uvarintLong()
	if err != nil {
		return 0, 0, err
	}
	if k>>3 == 0 {
		return 0, 0, ErrFieldNumber
	}
	if k>>3 > 1<<29-1 {
		return 0, 0, ErrWireType // field numbers stop at 2^29-1
	}
	return int(k >> 3), int(k & 7), nil
}

// bytes reads a length-delimited value and returns the offsets of its
// contents in w.b.
func (w *wire) bytes() (start, end int, err error) {
	var n uint64
	if w.off < len(w.b) && w.b[w.off] < 0x80 {
		n = uint64(w.b[w.off])
		w.off++
	} else if n, err = w.uvarintLong(); err != nil {
		return 0, 0, err
	}
	if n > uint64(len(w.b)-w.off) {
		return 0, 0, ErrLength
	}
	start = w.off
	w.off += int(n)
	return start, w.off, nil
}

func (w *wire) fixed64() (uint64, error) {
	if len(w.b)-w.off < 8 {
		return 0, ErrLength
	}
	v := binary.LittleEndian.Uint64(w.b[w.off:])
	w.off += 8
	return v, nil
}

// skip passes over a value of wire type typ.
func (w *wire) skip(typ int) error {
	switch typ {
	case wireVarint:
		_, err := w.uvarint()
		return err
	case wireFixed64:
		_, err := w.fixed64()
		return err
	case wireBytes:
		_, _, err := w.bytes()
		return err
	case wireFixed32:
		if len(w.b)-w.off < 4 {
			return ErrLength
		}
		w.off += 4
		return nil
	}
	return ErrWireType // groups (3, 4) and the undefined 6 and 7
}
