package metlog

import (
	"encoding/binary"
	"math"
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
	var (
		uuid                                       UUID
		ts                                         int64
		typ, logger, payload, envVersion, hostname []byte
		severity                                   = int32(Debug)
		pid                                        int32
		fields                                     [maxDirectFields][2]int32
		nfields                                    int
	)
	for i := 0; i < len(pb); {
		tag := pb[i]
		i++
		switch tag {
		case tagUUID, tagType, tagLogger, tagPayload, tagEnvVersion, tagHostname, tagFields:
			start, end, ok := pbBytes(pb, i)
			if !ok {
				return dst, false
			}
			i = end
			v := pb[start:end]
			switch tag {
			case tagUUID:
				uuid = UUID{}
				copy(uuid[:], v)
			case tagType:
				typ = v
			case tagLogger:
				logger = v
			case tagPayload:
				payload = v
			case tagEnvVersion:
				envVersion = v
			case tagHostname:
				hostname = v
			case tagFields:
				if nfields == maxDirectFields {
					return dst, false
				}
				fields[nfields] = [2]int32{int32(start), int32(end)}
				nfields++
			}
		case tagTimestamp, tagSeverity, tagPid:
			v, next, ok := pbVarint(pb, i)
			if !ok {
				return dst, false
			}
			i = next
			switch tag {
			case tagTimestamp:
				ts = int64(v)
			case tagSeverity:
				severity = int32(v)
			case tagPid:
				pid = int32(v)
			}
		default:
			return dst, false
		}
	}

	n := len(dst)
	dst = append(dst, `{"severity": `...)
	dst = strconv.AppendInt(dst, int64(severity), 10)
	dst = append(dst, `, "timestamp": "`...)
	dst = appendTimestamp(dst, ts)
	dst = append(dst, `", "metlog_hostname": `...)
	dst = appendJSONString(dst, transient(hostname))
	dst = append(dst, `, "fields": {`...)
	for k := range nfields {
		if k > 0 {
			dst = append(dst, ", "...)
		}
		var ok bool
		if dst, ok = appendFieldProtobuf(dst, pb[fields[k][0]:fields[k][1]]); !ok {
			return dst[:n], false
		}
	}
	dst = append(dst, `}, "metlog_pid": `...)
	dst = strconv.AppendInt(dst, int64(pid), 10)
	dst = append(dst, `, "logger": `...)
	dst = appendJSONString(dst, transient(logger))
	dst = append(dst, `, "type": `...)
	dst = appendJSONString(dst, transient(typ))
	dst = append(dst, `, "payload": `...)
	dst = appendJSONString(dst, transient(payload))
	dst = append(dst, `, "env_version": `...)
	dst = appendJSONString(dst, transient(envVersion))
	if !uuid.IsZero() {
		dst = append(dst, `, "uuid": "`...)
		dst = uuid.AppendText(dst)
		dst = append(dst, '"')
	}
	return append(dst, '}'), true
}

// appendFieldProtobuf writes the Field message f as a key of the fields
// object and its value, as appendFields writes a field without a
// representation or a dotted name. It reports false for any other field,
// or a malformed one.
func appendFieldProtobuf(dst, f []byte) ([]byte, bool) {
	// First pass: the name, the value type, and how many values it has.
	var name []byte
	vt := TypeString
	var counts [TypeBool + 1]int
	for i := 0; i < len(f); {
		tag := f[i]
		i++
		switch tag {
		case tagFieldName, tagFieldRepresentation, tagFieldString, tagFieldBytes:
			start, end, ok := pbBytes(f, i)
			if !ok {
				return dst, false
			}
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
			}
		case tagFieldValueType:
			v, next, ok := pbVarint(f, i)
			if !ok || v > uint64(TypeBool) {
				return dst, false
			}
			i = next
			vt = ValueType(v)
		case tagFieldInteger, tagFieldBool:
			start, end, ok := pbBytes(f, i)
			if !ok {
				return dst, false
			}
			i = end
			c := 0
			for j := start; j < end; c++ {
				if _, j, ok = pbVarint(f[:end], j); !ok {
					return dst, false
				}
			}
			counts[packedType(tag)] += c
		case tagFieldDouble:
			start, end, ok := pbBytes(f, i)
			if !ok || (end-start)%8 != 0 {
				return dst, false
			}
			i = end
			counts[TypeDouble] += (end - start) / 8
		case tagFieldInteger&^7 | wireVarint, tagFieldBool&^7 | wireVarint:
			_, next, ok := pbVarint(f, i)
			if !ok {
				return dst, false
			}
			i = next
			counts[packedType(tag)]++
		case tagFieldDouble&^7 | wireFixed64:
			if len(f)-i < 8 {
				return dst, false
			}
			i += 8
			counts[TypeDouble]++
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
	for i := 0; i < len(f); {
		tag := f[i]
		i++
		switch tag {
		case tagFieldName, tagFieldRepresentation, tagFieldString, tagFieldBytes:
			start, end, _ := pbBytes(f, i)
			i = end
			switch tag {
			case tagFieldString:
				dst, k = appendSep(dst, k)
				dst = appendJSONString(dst, transient(f[start:end]))
			case tagFieldBytes:
				dst, k = appendSep(dst, k)
				dst = appendBase64(dst, f[start:end])
			}
		case tagFieldValueType:
			_, i, _ = pbVarint(f, i)
		case tagFieldInteger, tagFieldBool:
			start, end, _ := pbBytes(f, i)
			i = end
			for j := start; j < end; {
				var v uint64
				v, j, _ = pbVarint(f[:end], j)
				dst, k = appendSep(dst, k)
				dst = appendVarintValue(dst, tag, v)
			}
		case tagFieldDouble:
			start, end, _ := pbBytes(f, i)
			i = end
			for j := start; j < end; j += 8 {
				dst, k = appendSep(dst, k)
				dst = appendPyFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(f[j:])))
			}
		case tagFieldInteger&^7 | wireVarint, tagFieldBool&^7 | wireVarint:
			var v uint64
			v, i, _ = pbVarint(f, i)
			dst, k = appendSep(dst, k)
			dst = appendVarintValue(dst, tag, v)
		case tagFieldDouble&^7 | wireFixed64:
			dst, k = appendSep(dst, k)
			dst = appendPyFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(f[i:])))
			i += 8
		}
	}
	if nv != 1 {
		dst = append(dst, ']')
	}
	return dst, true
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
		return strconv.AppendInt(dst, int64(v), 10)
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

// pbVarintLong is pbVarint for a varint of more than one byte.
func pbVarintLong(b []byte, i int) (uint64, int, bool) {
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
