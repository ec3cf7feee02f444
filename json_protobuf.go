package metlog

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unsafe"
)

// Wire type of packed-or-unpacked doubles' unpacked form.
const wireFixed64 = 1

// maxDirectFields is the most fields AppendJSONProtobuf writes directly.
const maxDirectFields = 32

// AppendJSONProtobuf appends the metlog JSON of the Heka protobuf Message in
// pb to dst and returns the extended buffer, without decoding pb into a
// Message: the bytes are those AppendJSON writes for the message that
// codec/heka's Unmarshal makes of pb. It allocates nothing when dst has
// room.
//
// It writes the messages a router routes most, and reports false, with dst
// unchanged, for the others: the caller then decodes pb and calls
// AppendJSON. Those are a pb with a field number or wire type that
// Message does not declare (or a multi-byte tag), a malformed pb, more than
// 32 fields, and a field whose name has a '.' (nested on output), that has
// a representation, or that has values of a type other than its
// value_type.
func AppendJSONProtobuf(dst, pb []byte) ([]byte, bool) {
	return appendJSONProtobuf(dst, pb, nil)
}

// jsonMarks are where appendJSONProtobuf wrote the timestamp's text, the
// payload and the UUID's text, as offsets in dst.
type jsonMarks struct {
	ts, tsEnd, payload, payloadEnd, uuid int
}

// appendJSONProtobuf is AppendJSONProtobuf, setting *marks if not nil.
func appendJSONProtobuf(dst, pb []byte, marks *jsonMarks) ([]byte, bool) {
	var (
		uuid, typ, logger, payload, envVersion, hostname []byte
		ts                                               int64
		severity                                         = int32(Debug)
		pid                                              int32
		fieldsAt                                         = len(pb) // the first field's tag
		nfields                                          int
	)
	for i := 0; i < len(pb); {
		at, tag := i, pb[i]
		i++
		// The varints read here inline their common one-byte case.
		var v uint64
		if i < len(pb) && pb[i] < 0x80 {
			v = uint64(pb[i])
			i++
		} else {
			var ok bool
			if v, i, ok = pbVarintLong(pb, i); !ok {
				return dst, false
			}
		}
		if tag&7 == wireVarint {
			switch tag {
			case tagTimestamp:
				ts = int64(v)
			case tagSeverity:
				severity = int32(v)
			case tagPid:
				pid = int32(v)
			default:
				return dst, false
			}
			continue
		}
		// v is the length of a length-delimited value.
		if v > uint64(len(pb)-i) {
			return dst, false
		}
		start, end := i, i+int(v)
		b := pb[start:end]
		switch tag {
		case tagUUID:
			uuid = b
		case tagType:
			typ = b
		case tagLogger:
			logger = b
		case tagPayload:
			payload = b
		case tagEnvVersion:
			envVersion = b
		case tagHostname:
			hostname = b
		case tagFields:
			if nfields == 0 {
				fieldsAt = at
			}
			if nfields++; nfields > maxDirectFields {
				return dst, false
			}
		default:
			return dst, false
		}
		i = end
	}

	n := len(dst)
	dst = append(dst, `{"severity": `...)
	dst = appendInt(dst, int64(severity))
	dst = append(dst, `, "timestamp": "`...)
	tsAt := len(dst)
	dst = appendTimestamp(dst, ts)
	tsEnd := len(dst)
	dst = append(dst, `", "metlog_hostname": `...)
	dst = appendJSONString(dst, transient(hostname))
	dst = append(dst, `, "fields": {`...)
	// The fields, in order; everything from the first was read above.
	for i, k := fieldsAt, 0; i < len(pb); {
		tag := pb[i]
		if tag&7 == wireVarint {
			_, i, _ = pbVarint(pb, i+1)
			continue
		}
		start, end, _ := pbBytes(pb, i+1)
		i = end
		if tag != tagFields {
			continue
		}
		if k > 0 {
			dst = append(dst, ", "...)
		}
		k++
		var ok bool
		if dst, ok = appendFieldProtobuf(dst, pb[start:end]); !ok {
			return dst[:n], false
		}
	}
	dst = append(dst, `}, "metlog_pid": `...)
	dst = appendInt(dst, int64(pid))
	dst = append(dst, `, "logger": `...)
	dst = appendJSONString(dst, transient(logger))
	dst = append(dst, `, "type": `...)
	dst = appendJSONString(dst, transient(typ))
	dst = append(dst, `, "payload": `...)
	payloadAt := len(dst)
	dst = appendJSONString(dst, transient(payload))
	payloadEnd := len(dst)
	dst = append(dst, `, "env_version": `...)
	dst = appendJSONString(dst, transient(envVersion))
	// As Unmarshal sets it: zero-padded or cut to 16 bytes.
	var u UUID
	if len(uuid) >= len(u) {
		u = UUID(uuid) // a fixed-size copy: the length of every journaled UUID
	} else {
		copy(u[:], uuid)
	}
	uuidAt := 0
	if !u.IsZero() {
		dst = append(dst, `, "uuid": "`...)
		uuidAt = len(dst)
		dst = u.AppendText(dst)
		dst = append(dst, '"')
	}
	if marks != nil {
		*marks = jsonMarks{ts: tsAt, tsEnd: tsEnd, payload: payloadAt, payloadEnd: payloadEnd, uuid: uuidAt}
	}
	return append(dst, '}'), true
}

// A JSONProtobufEncoder is AppendJSONProtobuf remembering the last record
// it wrote. A router's journal mostly holds runs of records that differ
// from the one before only in their UUID, timestamp and payload (one
// process sends them, with the same envelope and fields); such a record,
// in the layout Message.AppendProtobuf writes, is written by comparing the
// rest of it with the last record and reusing that one's JSON for it.
//
// The zero value is ready to use. It is not safe for concurrent use.
type JSONProtobufEncoder struct {
	// The last record's bytes between its timestamp and its payload, and
	// after its payload; its JSON before the timestamp's text, between
	// that and the payload, and between the payload and the UUID's text.
	before, after   []byte
	head, mid, tail []byte
	ok              bool
	// Remembering costs about what writing by comparison saves: after a
	// record remembered for fewer than two, the next misses skip remembering,
	// twice as many each time up to 63, so that a stream of records each
	// unlike the last pays for one in 64.
	hitsSince     int // records written by comparison since the last remembered
	backoff, skip int
	hits          int // records written by comparison, for tests
}

// Append appends the metlog JSON of the Heka protobuf Message in pb to
// dst, as AppendJSONProtobuf does.
func (e *JSONProtobufEncoder) Append(dst, pb []byte) ([]byte, bool) {
	if out, ok := e.appendLike(dst, pb); ok {
		return out, true
	}
	if e.skip > 0 {
		e.skip--
		return appendJSONProtobuf(dst, pb, nil)
	}
	var marks jsonMarks
	n := len(dst)
	dst, ok := appendJSONProtobuf(dst, pb, &marks)
	if ok {
		if e.ok && e.hitsSince < 2 {
			e.backoff = min(2*e.backoff+1, 63)
		} else {
			e.backoff = 0
		}
		e.skip, e.hitsSince = e.backoff, 0
		e.remember(pb, dst, n, &marks)
	}
	return dst, ok
}

// recordParts splits a record in Message.AppendProtobuf's layout with a
// UUID, a payload and nothing else twice: it returns the timestamp, the
// bytes between it and the payload (type, logger, severity), the payload
// and the bytes after it (env_version, pid, hostname, fields).
func recordParts(pb []byte) (ts uint64, before, payload, after []byte, ok bool) {
	if len(pb) < 20 || pb[0] != tagUUID || pb[1] != 16 || pb[18] != tagTimestamp {
		return 0, nil, nil, nil, false
	}
	ts, i, ok := pbVarint(pb, 19)
	if !ok {
		return 0, nil, nil, nil, false
	}
	start := i
	for i < len(pb) && pb[i] != tagPayload {
		if i, ok = skipPart(pb, i, tagType, tagLogger, tagSeverity); !ok {
			return 0, nil, nil, nil, false
		}
	}
	if i == len(pb) {
		return 0, nil, nil, nil, false
	}
	before = pb[start:i]
	pstart, pend, ok := pbBytes(pb, i+1)
	if !ok {
		return 0, nil, nil, nil, false
	}
	return ts, before, pb[pstart:pend], pb[pend:], true
}

// skipPart returns the index after the tag and value at pb[i], if the tag
// is one of a, b and c.
func skipPart(pb []byte, i int, a, b, c byte) (int, bool) {
	tag := pb[i]
	if tag != a && tag != b && tag != c {
		return i, false
	}
	if tag&7 == wireVarint {
		_, i, ok := pbVarint(pb, i+1)
		return i, ok
	}
	_, end, ok := pbBytes(pb, i+1)
	return end, ok
}

// remember keeps what appendLike needs of pb, written as dst[n:] with the
// offsets in marks.
func (e *JSONProtobufEncoder) remember(pb, dst []byte, n int, marks *jsonMarks) {
	e.ok = false
	_, before, _, after, ok := recordParts(pb)
	if !ok || marks.uuid == 0 {
		return
	}
	for i := 0; i < len(after); {
		if i, ok = skipPart(after, i, tagEnvVersion, tagPid, tagHostname); !ok {
			if i, ok = skipPart(after, i, tagFields, tagFields, tagFields); !ok {
				return
			}
		}
	}
	e.before = append(e.before[:0], before...)
	e.after = append(e.after[:0], after...)
	e.head = append(e.head[:0], dst[n:marks.ts]...)
	e.mid = append(e.mid[:0], dst[marks.tsEnd:marks.payload]...)
	e.tail = append(e.tail[:0], dst[marks.payloadEnd:marks.uuid]...)
	e.ok = true
}

// appendLike writes pb if it is like the last record (see
// JSONProtobufEncoder).
func (e *JSONProtobufEncoder) appendLike(dst, pb []byte) ([]byte, bool) {
	if !e.ok {
		return dst, false
	}
	// recordParts inlined for the expected bytes.
	if len(pb) < 20 || pb[0] != tagUUID || pb[1] != 16 || pb[18] != tagTimestamp {
		return dst, false
	}
	ts, i, ok := pbVarint(pb, 19)
	if !ok || len(pb)-i < len(e.before) || string(pb[i:i+len(e.before)]) != string(e.before) {
		return dst, false
	}
	i += len(e.before)
	if i >= len(pb) || pb[i] != tagPayload {
		return dst, false
	}
	start, end, ok := pbBytes(pb, i+1)
	if !ok || string(pb[end:]) != string(e.after) {
		return dst, false
	}
	u := UUID(pb[2:18])
	if u.IsZero() {
		return dst, false
	}
	dst = append(dst, e.head...)
	dst = appendTimestamp(dst, int64(ts))
	dst = append(dst, e.mid...)
	dst = appendJSONString(dst, transient(pb[start:end]))
	dst = append(dst, e.tail...)
	dst = u.AppendText(dst)
	e.hits++
	e.hitsSince++
	return append(dst, '"', '}'), true
}

// appendFieldProtobuf writes the Field message f as a key of the fields
// object and its value, as appendFields writes a field without a
// representation or a dotted name. It reports false for any other field,
// or a malformed one.
func appendFieldProtobuf(dst, f []byte) ([]byte, bool) {
	if d, ok := appendOneValueField(dst, f); ok {
		return d, true
	}
	// First pass: the name, the value type, and how many values it has.
	var name []byte
	vt := TypeString
	var counts [TypeBool + 1]int
	valuesAt := len(f) // the first value's tag
	for i := 0; i < len(f); {
		tag := f[i]
		if tag>>3 >= tagFieldString>>3 && valuesAt == len(f) {
			valuesAt = i
		}
		i++
		if tag == tagFieldDouble&^7|wireFixed64 { // an unpacked double
			if len(f)-i < 8 {
				return dst, false
			}
			i += 8
			counts[TypeDouble]++
			continue
		}
		var v uint64 // a varint value, or a length
		if i < len(f) && f[i] < 0x80 {
			v = uint64(f[i])
			i++
		} else {
			var ok bool
			if v, i, ok = pbVarintLong(f, i); !ok {
				return dst, false
			}
		}
		if tag&7 == wireVarint {
			switch tag {
			case tagFieldValueType:
				if v > uint64(TypeBool) {
					return dst, false
				}
				vt = ValueType(v)
			case tagFieldInteger&^7 | wireVarint, tagFieldBool&^7 | wireVarint:
				counts[packedType(tag)]++
			default:
				return dst, false
			}
			continue
		}
		if tag&7 != wireBytes || v > uint64(len(f)-i) {
			return dst, false
		}
		start, end := i, i+int(v)
		i = end
		switch tag {
		case tagFieldName:
			name = f[start:end]
		case tagFieldRepresentation:
			if end > start {
				return dst, false
			}
		case tagFieldString:
			counts[TypeString]++
		case tagFieldBytes:
			counts[TypeBytes]++
		case tagFieldInteger, tagFieldBool:
			c := 0
			for j := start; j < end; c++ {
				if f[j] < 0x80 {
					j++
					continue
				}
				var ok bool
				if _, j, ok = pbVarintLong(f[:end], j); !ok {
					return dst, false
				}
			}
			counts[packedType(tag)] += c
		case tagFieldDouble:
			if v%8 != 0 {
				return dst, false
			}
			counts[TypeDouble] += int(v / 8)
		default:
			return dst, false
		}
	}
	for t, c := range counts {
		if c > 0 && ValueType(t) != vt {
			return dst, false // values Unmarshal would drop
		}
	}
	s := transient(name)
	if strings.IndexByte(s, '.') >= 0 {
		return dst, false
	}
	dst = appendJSONString(dst, s)
	dst = append(dst, ": "...)

	// Second pass: the values of the value type, in order. The first pass
	// checked every one.
	nv := counts[vt]
	if nv != 1 {
		dst = append(dst, '[')
	}
	k := 0 // values written
	for i := valuesAt; i < len(f); {
		tag := f[i]
		i++
		if tag == tagFieldDouble&^7|wireFixed64 {
			dst, k = appendSep(dst, k)
			dst = appendPyFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(f[i:])))
			i += 8
			continue
		}
		var v uint64
		if f[i] < 0x80 {
			v = uint64(f[i])
			i++
		} else {
			v, i, _ = pbVarintLong(f, i)
		}
		if tag&7 == wireVarint {
			if tag != tagFieldValueType {
				dst, k = appendSep(dst, k)
				dst = appendVarintValue(dst, tag, v)
			}
			continue
		}
		start, end := i, i+int(v)
		i = end
		switch tag {
		case tagFieldString:
			dst, k = appendSep(dst, k)
			dst = appendJSONString(dst, transient(f[start:end]))
		case tagFieldBytes:
			dst, k = appendSep(dst, k)
			dst = appendBase64(dst, f[start:end])
		case tagFieldInteger, tagFieldBool:
			for j := start; j < end; {
				var x uint64
				if f[j] < 0x80 {
					x = uint64(f[j])
					j++
				} else {
					x, j, _ = pbVarintLong(f[:end], j)
				}
				dst, k = appendSep(dst, k)
				dst = appendVarintValue(dst, tag, x)
			}
		case tagFieldDouble:
			for j := start; j < end; j += 8 {
				dst, k = appendSep(dst, k)
				dst = appendPyFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(f[j:])))
			}
		}
	}
	if nv != 1 {
		dst = append(dst, ']')
	}
	return dst, true
}

// appendOneValueField is appendFieldProtobuf for the fields messages carry
// most, in the layout metlog and Heka encode them: a name, a value type, an
// empty representation, and one string or integer value. It reports false,
// having written nothing, for any other field; appendFieldProtobuf's two
// passes then decide.
func appendOneValueField(dst, f []byte) ([]byte, bool) {
	// The name, with a one-byte length.
	if len(f) < 2 || f[0] != tagFieldName || f[1] >= 0x80 || int(f[1]) > len(f)-2 {
		return dst, false
	}
	name := f[2 : 2+int(f[1])]
	rest := f[2+len(name):]
	vt := TypeString
	if len(rest) >= 2 && rest[0] == tagFieldValueType {
		if rest[1] > byte(TypeBool) {
			return dst, false
		}
		vt, rest = ValueType(rest[1]), rest[2:]
	}
	if len(rest) >= 2 && rest[0] == tagFieldRepresentation && rest[1] == 0 {
		rest = rest[2:]
	}
	// One value, which ends the field.
	if len(rest) < 2 || rest[1] >= 0x80 || int(rest[1]) != len(rest)-2 {
		return dst, false
	}
	value := rest[2:]
	var v uint64 // the integer
	switch {
	case vt == TypeString && rest[0] == tagFieldString:
	case vt == TypeInteger && rest[0] == tagFieldInteger:
		// Packed integers: exactly one.
		var end int
		var ok bool
		if v, end, ok = pbVarint(value, 0); !ok || end != len(value) {
			return dst, false
		}
	default:
		return dst, false
	}
	s := transient(name)
	if strings.IndexByte(s, '.') >= 0 {
		return dst, false
	}
	dst = appendJSONString(dst, s)
	dst = append(dst, ": "...)
	if vt == TypeString {
		return appendJSONString(dst, transient(value)), true
	}
	return appendInt(dst, int64(v)), true
}

// appendSep writes the separator before a value when k values were
// written, and returns k+1.
func appendSep(dst []byte, k int) ([]byte, int) {
	if k > 0 {
		dst = append(dst, ", "...)
	}
	return dst, k + 1
}

// packedType returns the value type of the integer or bool tag, packed or
// not.
func packedType(tag byte) ValueType {
	if tag>>3 == tagFieldInteger>>3 {
		return TypeInteger
	}
	return TypeBool
}

// appendVarintValue writes v, a value of the integer or bool tag.
func appendVarintValue(dst []byte, tag byte, v uint64) []byte {
	if tag>>3 == tagFieldInteger>>3 {
		return appendInt(dst, int64(v))
	}
	return strconv.AppendBool(dst, v != 0)
}

// pbVarint reads the varint at b[i:] as codec/heka reads one: up to 10
// bytes, bits beyond 64 dropped. It returns the value and the offset after
// it, or false when b ends inside it or it is longer.
func pbVarint(b []byte, i int) (uint64, int, bool) {
	if i < len(b) && b[i] < 0x80 {
		return uint64(b[i]), i + 1, true
	}
	return pbVarintLong(b, i)
}

// pbVarintLong is pbVarint for a varint of more than one byte. It is kept
// out of line so that pbVarint is inlined.
//
// Where eight bytes can be loaded at once it decodes without a loop: every
// record's timestamp, nanoseconds since 1970, is a nine-byte varint.
//
//go:noinline
func pbVarintLong(b []byte, i int) (uint64, int, bool) {
	if i >= 0 && len(b)-i >= 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		if ends := ^x & 0x8080808080808080; ends != 0 {
			n := bits.TrailingZeros64(ends)/8 + 1 // bytes of the varint
			return varintBits(x & (1<<(8*n) - 1)), i + n, true
		}
		// Nine or ten bytes: the first eight hold 56 bits.
		v := varintBits(x)
		if len(b)-i > 8 {
			c := b[i+8]
			v |= uint64(c&0x7f) << 56
			if c < 0x80 {
				return v, i + 9, true
			}
			if len(b)-i > 9 {
				if c = b[i+9]; c < 0x80 {
					return v | uint64(c)<<63, i + 10, true // bits beyond 64 dropped
				}
			}
		}
		return 0, min(i+10, len(b)), false
	}
	return pbVarintSlow(b, i)
}

// varintBits gathers the low seven bits of each of the eight bytes of x,
// the first (least significant) byte lowest: a varint's value from its
// bytes, with their continuation bits dropped.
func varintBits(x uint64) uint64 {
	x &= 0x7f7f7f7f7f7f7f7f
	x = x&0x007f007f007f007f | x&0x7f007f007f007f00>>1
	x = x&0x00003fff00003fff | x&0x3fff00003fff0000>>2
	return x&0x000000000fffffff | x&0x0fffffff00000000>>4
}

// pbVarintSlow reads a varint a byte at a time.
func pbVarintSlow(b []byte, i int) (uint64, int, bool) {
	var v uint64
	for shift := uint(0); shift < 70; shift += 7 {
		if i >= len(b) {
			return 0, i, false
		}
		c := b[i]
		i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, i, true
		}
	}
	return 0, i, false
}

// pbBytes reads the length-delimited value at b[i:] and returns the offsets
// of its contents, or false when its length is malformed or runs past b.
func pbBytes(b []byte, i int) (start, end int, ok bool) {
	n, i, ok := pbVarint(b, i)
	if !ok || n > uint64(len(b)-i) {
		return 0, 0, false
	}
	return i, i + int(n), true
}

// transient returns b as a string without copying it, for the string
// encoders to read during the call: the string must not outlive b's
// contents.
func transient(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
