package metlog

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// Protobuf wire types and the tags (field number << 3 | wire type) of
// Heka's message.proto.
const (
	wireVarint = 0
	wireBytes  = 2

	tagUUID       = 1<<3 | wireBytes
	tagTimestamp  = 2<<3 | wireVarint
	tagType       = 3<<3 | wireBytes
	tagLogger     = 4<<3 | wireBytes
	tagSeverity   = 5<<3 | wireVarint
	tagPayload    = 6<<3 | wireBytes
	tagEnvVersion = 7<<3 | wireBytes
	tagPid        = 8<<3 | wireVarint
	tagHostname   = 9<<3 | wireBytes
	tagFields     = 10<<3 | wireBytes

	tagFieldName           = 1<<3 | wireBytes
	tagFieldValueType      = 2<<3 | wireVarint
	tagFieldRepresentation = 3<<3 | wireBytes
	tagFieldString         = 4<<3 | wireBytes
	tagFieldBytes          = 5<<3 | wireBytes
	tagFieldInteger        = 6<<3 | wireBytes // packed
	tagFieldDouble         = 7<<3 | wireBytes // packed
	tagFieldBool           = 8<<3 | wireBytes // packed
)

// AppendProtobuf appends m encoded as a Heka protobuf Message to dst and
// returns the extended slice. It does not allocate when dst has room for
// ProtobufSize more bytes.
//
// The bytes are Heka's own wherever a Message can say the same thing:
// fields in field-number order, int32 severity and pid as the varint of
// their 32-bit pattern (5 bytes when negative, as Heka writes them), packed
// integer, double and bool values, and value_type and representation always
// written for every field, as Heka's NewField does. Because Go zero values
// carry no presence information, uuid, timestamp and severity are always
// written (uuid and timestamp are required by message.proto; severity 0 is
// Emergency, not "absent"), while type, logger, payload, env_version,
// hostname and pid are written only when not empty or zero. Only the value
// slice selected by a field's Type is written. The codec/heka package
// documents each resulting difference from Heka's bytes.
//
// Each field's length is written after its body, in the byte reserved for
// it (the body is moved up in the rare case of a field of 128 bytes or
// more), so sizes are not computed first.
func (m *Message) AppendProtobuf(dst []byte) []byte {
	dst = append(dst, tagUUID, 16)
	dst = append(dst, m.UUID[:]...)
	dst = append(dst, tagTimestamp)
	dst = binary.AppendUvarint(dst, uint64(m.Timestamp))
	dst = appendString(dst, tagType, m.Type)
	dst = appendString(dst, tagLogger, m.Logger)
	dst = append(dst, tagSeverity)
	dst = binary.AppendUvarint(dst, uint64(uint32(m.Severity)))
	dst = appendString(dst, tagPayload, m.Payload)
	dst = appendString(dst, tagEnvVersion, m.EnvVersion)
	if m.Pid != 0 {
		dst = append(dst, tagPid)
		dst = binary.AppendUvarint(dst, uint64(uint32(m.Pid)))
	}
	dst = appendString(dst, tagHostname, m.Hostname)
	for i := range m.Fields {
		dst = append(dst, tagFields, 0)
		at := len(dst)
		dst = m.Fields[i].appendProtobuf(dst)
		dst = putLength(dst, at)
	}
	return dst
}

// putLength writes the length of dst[at:] as a varint into dst[at-1], the
// one byte reserved for it, moving dst[at:] up when it needs more.
func putLength(dst []byte, at int) []byte {
	n := len(dst) - at
	if n < 0x80 {
		dst[at-1] = byte(n)
		return dst
	}
	k := uvarintSize(uint64(n))
	dst = append(dst, make([]byte, k-1)...)
	copy(dst[at-1+k:], dst[at:at+n])
	binary.PutUvarint(dst[at-1:], uint64(n))
	return dst
}

// ProtobufSize returns the number of bytes AppendProtobuf appends for m.
func (m *Message) ProtobufSize() int {
	n := 2 + 16 // uuid
	n += 1 + uvarintSize(uint64(m.Timestamp))
	n += stringSize(m.Type) + stringSize(m.Logger)
	n += 1 + uvarintSize(uint64(uint32(m.Severity)))
	n += stringSize(m.Payload) + stringSize(m.EnvVersion)
	if m.Pid != 0 {
		n += 1 + uvarintSize(uint64(uint32(m.Pid)))
	}
	n += stringSize(m.Hostname)
	for i := range m.Fields {
		s := m.Fields[i].protobufSize()
		n += 1 + uvarintSize(uint64(s)) + s
	}
	return n
}

// appendProtobuf appends the body of f (without its own tag and length).
func (f *Field) appendProtobuf(dst []byte) []byte {
	dst = append(dst, tagFieldName)
	dst = binary.AppendUvarint(dst, uint64(len(f.Name)))
	dst = append(dst, f.Name...)
	dst = append(dst, tagFieldValueType)
	dst = binary.AppendUvarint(dst, uint64(f.Type))
	dst = append(dst, tagFieldRepresentation)
	dst = binary.AppendUvarint(dst, uint64(len(f.Representation)))
	dst = append(dst, f.Representation...)
	switch f.Type {
	case TypeString:
		for _, s := range f.Strings {
			dst = append(dst, tagFieldString)
			dst = binary.AppendUvarint(dst, uint64(len(s)))
			dst = append(dst, s...)
		}
	case TypeBytes:
		for _, b := range f.Bytes {
			dst = append(dst, tagFieldBytes)
			dst = binary.AppendUvarint(dst, uint64(len(b)))
			dst = append(dst, b...)
		}
	case TypeInteger:
		if len(f.Integers) > 0 {
			dst = append(dst, tagFieldInteger)
			dst = binary.AppendUvarint(dst, uint64(packedIntegersSize(f.Integers)))
			for _, v := range f.Integers {
				dst = binary.AppendUvarint(dst, uint64(v))
			}
		}
	case TypeDouble:
		if len(f.Doubles) > 0 {
			dst = append(dst, tagFieldDouble)
			dst = binary.AppendUvarint(dst, uint64(8*len(f.Doubles)))
			for _, v := range f.Doubles {
				dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
			}
		}
	case TypeBool:
		if len(f.Bools) > 0 {
			dst = append(dst, tagFieldBool)
			dst = binary.AppendUvarint(dst, uint64(len(f.Bools)))
			for _, v := range f.Bools {
				b := byte(0)
				if v {
					b = 1
				}
				dst = append(dst, b)
			}
		}
	}
	return dst
}

// protobufSize returns the size of the body appendProtobuf writes.
func (f *Field) protobufSize() int {
	n := 1 + uvarintSize(uint64(len(f.Name))) + len(f.Name)
	n += 1 + uvarintSize(uint64(f.Type))
	n += 1 + uvarintSize(uint64(len(f.Representation))) + len(f.Representation)
	switch f.Type {
	case TypeString:
		for _, s := range f.Strings {
			n += 1 + uvarintSize(uint64(len(s))) + len(s)
		}
	case TypeBytes:
		for _, b := range f.Bytes {
			n += 1 + uvarintSize(uint64(len(b))) + len(b)
		}
	case TypeInteger:
		if len(f.Integers) > 0 {
			p := packedIntegersSize(f.Integers)
			n += 1 + uvarintSize(uint64(p)) + p
		}
	case TypeDouble:
		if len(f.Doubles) > 0 {
			p := 8 * len(f.Doubles)
			n += 1 + uvarintSize(uint64(p)) + p
		}
	case TypeBool:
		if len(f.Bools) > 0 {
			p := len(f.Bools)
			n += 1 + uvarintSize(uint64(p)) + p
		}
	}
	return n
}

func packedIntegersSize(vs []int64) int {
	n := 0
	for _, v := range vs {
		n += uvarintSize(uint64(v))
	}
	return n
}

// appendString appends a length-delimited string under tag, or nothing when
// s is empty.
func appendString(dst []byte, tag byte, s string) []byte {
	if s == "" {
		return dst
	}
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// stringSize is the size appendString writes for s.
func stringSize(s string) int {
	if s == "" {
		return 0
	}
	return 1 + uvarintSize(uint64(len(s))) + len(s)
}

// uvarintSize is the length of the protobuf varint encoding of v.
func uvarintSize(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }
