package metlogjson

import (
	"encoding/binary"

	"github.com/metlog/metlog"
)

// NextRecord reads the next message of the stream as Decode does, for a
// caller that stores messages as Heka protobuf records, as a router's
// journal does.
//
// A message on one line in metlog-py's own layout — its nine keys in its
// order and spacing, plain ASCII strings, a fields object of string,
// small integer and boolean values — is not decoded: NextRecord appends to
// dst the record metlog.Message.AppendProtobuf would write for it, given
// id as its UUID and now as its timestamp if its own is 0, and returns the
// extended slice and false. This is the common case and costs about half
// of decoding the message and encoding it.
//
// Any other message is decoded into m, as by Decode; NextRecord returns
// dst unchanged and true, and the caller completes and encodes m itself.
// So does a message with a field whose name is reserved (see Reserved) or
// starts with '@' (the fields the decoder makes of unknown keys, and the
// keys of a Heka JSON object). Errors are those of Decode.
func (d *Decoder) NextRecord(dst []byte, m *metlog.Message, id metlog.UUID, now int64) (rec []byte, decoded bool, err error) {
	lim := d.Limits.withDefaults()
	if err := d.begin(lim); err != nil {
		return dst, true, err
	}
	if out, ok := d.transcodeLike(dst, lim, id, now); ok {
		return out, false, nil
	}
	nl := d.lineEnd(lim)
	if nl > 0 {
		if out, ok := d.transcode(dst, lim, d.pos+nl, id, now); ok {
			return out, false, nil
		}
		return dst, true, d.decodeFrom(m, lim, nl)
	}
	// The line is not whole in the buffer (it continues in the next read,
	// or the message spans lines): find the message's end first.
	end, err := d.framed(lim)
	if err != nil {
		return dst, true, err
	}
	if out, ok := d.transcode(dst, lim, end, id, now); ok {
		return out, false, nil
	}
	err = d.parse(m, lim, end)
	d.pos = end
	return dst, true, err
}

// A plainField is a field of a message transcode reads: its name, and
// its value's bytes (a string's, without quotes) or integer.
type plainField struct {
	name, str []byte
	typ       metlog.ValueType
	i         int64
}

// transcode appends the record of the message in buf[pos:end] if it is in
// metlog-py's layout (see NextRecord), and reports whether it was. On
// false, dst's length and the decoder's position are as they were.
func (d *Decoder) transcode(dst []byte, lim Limits, end int, id metlog.UUID, now int64) ([]byte, bool) {
	if lim.MaxDepth < 2 {
		return dst, false
	}
	b := d.buf[:end]
	var (
		severity, pid, ts                int64
		host, logger, typ, payload, envV []byte
		s                                []byte
		ok                               bool
	)
	// The nine keys in metlog-py's order, written out: a loop over them
	// with a switch on the key measured 2-13% slower.
	i, ok := afterKey(b, d.pos+1, &envelopeWords[keySeverity])
	if ok {
		severity, i, ok = int32At(b, i)
	}
	if ok {
		i, ok = afterKey(b, i, &sepWords[keyTimestamp])
	}
	tsAt := i // the timestamp's opening quote
	if ok {
		if s, i, ok = plainString(b, i); ok {
			ts, ok = parseTimestamp(s, &d.dec.minute)
		}
	}
	if ok {
		host, i, ok = stringAfter(b, i, &sepWords[keyHostname])
	}
	if ok {
		i, ok = afterKey(b, i, &sepWords[keyFields])
	}
	fields := d.fields[:0]
	if ok {
		fields, i, ok = d.plainFields(b, i, fields, lim.MaxFields)
	}
	if ok {
		if i, ok = afterKey(b, i, &sepWords[keyPid]); ok {
			pid, i, ok = int32At(b, i)
		}
	}
	if ok {
		logger, i, ok = stringAfter(b, i, &sepWords[keyLogger])
	}
	if ok {
		typ, i, ok = stringAfter(b, i, &sepWords[keyType])
	}
	payloadAt := i // the payload's key
	if ok {
		payload, i, ok = stringAfter(b, i, &sepWords[keyPayload])
	}
	payloadEnd := i // after its closing quote
	if ok {
		envV, i, ok = stringAfter(b, i, &sepWords[keyEnvVersion])
	}
	if !ok {
		d.fields = fields[:0]
		return dst, false
	}
	d.fields = fields[:0]
	if i >= len(b) || b[i] != '}' {
		return dst, false
	}
	closeAt := i
	for i++; i < len(b); i++ {
		if !isSpace(b[i]) {
			return dst, false
		}
	}
	if ts == 0 {
		ts = now
	}

	dst = appendHead(dst, id, ts)
	before := len(dst)
	dst = appendBytes(dst, tagType, typ)
	dst = appendBytes(dst, tagLogger, logger)
	dst = append(dst, tagSeverity)
	dst = binary.AppendUvarint(dst, uint64(uint32(severity)))
	payloadRec := len(dst)
	dst = appendBytes(dst, tagPayload, payload)
	after := len(dst)
	dst = appendBytes(dst, tagEnvVersion, envV)
	if pid != 0 {
		dst = append(dst, tagPid)
		dst = binary.AppendUvarint(dst, uint64(uint32(pid)))
	}
	dst = appendBytes(dst, tagHostname, host)
	for _, f := range fields {
		dst = appendPlainField(dst, &f)
	}

	// Remember the line around its timestamp and payload, for the next.
	start := d.pos
	d.pos = end
	l := &d.last
	if l.skip > 0 {
		l.skip--
		return dst, true
	}
	if l.ok && l.hitsSince < 2 {
		l.backoff = min(2*l.backoff+1, 63)
	} else {
		l.backoff = 0
	}
	l.skip, l.hitsSince = l.backoff, 0
	l.lim, l.ok = lim, true
	tsEnd := tsAt + 1 + skipPlain(b[tsAt+1:], 0)
	payloadStart := payloadAt + sepWords[keyPayload].n + 1
	l.head = append(l.head[:0], b[start:tsAt+1]...)
	l.mid = append(l.mid[:0], b[tsEnd:payloadStart]...)
	l.tail = append(l.tail[:0], b[payloadEnd-1:closeAt+1]...)
	l.before = append(l.before[:0], dst[before:payloadRec]...)
	l.after = append(l.after[:0], dst[after:]...)
	return dst, true
}

// lastLine is what NextRecord keeps of the last line it transcoded: the
// line's bytes around its timestamp's and its payload's text, and the
// record's bytes between the timestamp and the payload and after the
// payload. A stream's lines mostly differ from the one before only in
// those two strings (one process sends them all, with the same envelope):
// such a line is transcoded by comparing the rest.
type lastLine struct {
	// head is the line up to the timestamp's text, mid from the end of
	// that to the payload's text, and tail from the end of that to the
	// closing brace.
	head, mid, tail []byte
	before, after   []byte
	lim             Limits
	ok              bool
	// Remembering costs about what comparing saves: after a line
	// remembered for fewer than two, the next transcoded lines skip remembering,
	// twice as many each time up to 63, so that a stream of lines each
	// unlike the last pays for one in 64.
	hitsSince     int // lines transcoded by comparison since the last remembered
	backoff, skip int
	hits          int // lines transcoded so, for tests
}

// transcodeLike transcodes the message at pos as transcode does if it is a
// line like the last one transcoded (see lastLine).
func (d *Decoder) transcodeLike(dst []byte, lim Limits, id metlog.UUID, now int64) ([]byte, bool) {
	l := &d.last
	if !l.ok || l.lim != lim {
		return dst, false
	}
	b := d.buf
	i := d.pos + len(l.head)
	if i > len(b) || string(b[d.pos:i]) != string(l.head) {
		return dst, false
	}
	j := skipPlain(b, i) // the timestamp's end
	if len(b)-j < len(l.mid) || string(b[j:j+len(l.mid)]) != string(l.mid) {
		return dst, false
	}
	p := j + len(l.mid)
	q := skipPlain(b, p) // the payload's end
	if len(b)-q < len(l.tail) || string(b[q:q+len(l.tail)]) != string(l.tail) {
		return dst, false
	}
	// The rest of the line: white space, then the newline.
	k := q + len(l.tail)
	for k < len(b) && (b[k] == ' ' || b[k] == '\t' || b[k] == '\r') {
		k++
	}
	if k >= len(b) || b[k] != '\n' || k-d.pos > lim.MaxSize {
		return dst, false
	}
	ts, ok := parseTimestamp(b[i:j], &d.dec.minute)
	if !ok {
		return dst, false
	}
	if ts == 0 {
		ts = now
	}
	dst = appendHead(dst, id, ts)
	dst = append(dst, l.before...)
	dst = appendBytes(dst, tagPayload, b[p:q])
	dst = append(dst, l.after...)
	d.pos = k
	l.hits++
	l.hitsSince++
	return dst, true
}

// afterKey returns the index after the key w at b[i], if it is there.
func afterKey(b []byte, i int, w *keyWords) (int, bool) {
	if !w.at(b, i) {
		return i, false
	}
	return i + w.n, true
}

// stringAfter reads the key w at b[i] and the plain string after it.
func stringAfter(b []byte, i int, w *keyWords) ([]byte, int, bool) {
	if !w.at(b, i) {
		return nil, i, false
	}
	return plainString(b, i+w.n)
}

// int32At reads an integer that fits an int32 at b[i].
func int32At(b []byte, i int) (int64, int, bool) {
	v, end, ok := smallInt(b, i)
	return v, end, ok && v >= -1<<31 && v <= 1<<31-1
}

// plainString reads the string starting at b[i] ('"') if it is plain
// ASCII with no escapes, returning its bytes and the index after it.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	j := skipPlain(b, i+1)
	if j >= len(b) || b[j] != '"' {
		return nil, i, false
	}
	return b[i+1 : j], j + 1, true
}

// plainFields reads the fields object at b[i] if every value is a plain
// string, a small integer or a boolean, appending its fields to fs.
func (d *Decoder) plainFields(b []byte, i int, fs []plainField, maxFields int) ([]plainField, int, bool) {
	if i >= len(b) || b[i] != '{' {
		return fs, i, false
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return fs, i + 1, true
	}
	for {
		name, j, ok := plainString(b, i)
		if !ok || len(name) > 0 && name[0] == '@' || d.Reserved != nil && d.Reserved(name) {
			return fs, i, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return fs, i, false
		}
		i = skipSpace(b, i+1)
		if len(fs) == maxFields || i >= len(b) {
			return fs, i, false
		}
		f := plainField{name: name}
		switch c := b[i]; {
		case c == '"':
			if f.str, i, ok = plainString(b, i); !ok {
				return fs, i, false
			}
		case c == 't' && hasPrefix(b[i:], "true"), c == 'f' && hasPrefix(b[i:], "false"):
			f.typ = metlog.TypeBool
			if c == 't' {
				f.i, i = 1, i+4
			} else {
				i += 5
			}
		default:
			f.typ = metlog.TypeInteger
			if f.i, i, ok = smallInt(b, i); !ok {
				return fs, i, false
			}
		}
		fs = append(fs, f)
		i = skipSpace(b, i)
		if i >= len(b) {
			return fs, i, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return fs, i + 1, true
		default:
			return fs, i, false
		}
	}
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// The wire types and tags of Heka's message.proto that records carry, as
// in package metlog's encoder.
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
	tagFieldInteger        = 6<<3 | wireBytes // packed
	tagFieldBool           = 8<<3 | wireBytes // packed
)

// appendHead appends a record's UUID and timestamp, its first two fields.
func appendHead(dst []byte, id metlog.UUID, ts int64) []byte {
	dst = append(dst, tagUUID, 16)
	dst = append(dst, id[:]...)
	dst = append(dst, tagTimestamp)
	return binary.AppendUvarint(dst, uint64(ts))
}

// appendBytes appends s under tag, or nothing when s is empty.
func appendBytes(dst []byte, tag byte, s []byte) []byte {
	if len(s) == 0 {
		return dst
	}
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendPlainField appends f as a message's field: its name, type, empty
// representation and one value.
func appendPlainField(dst []byte, f *plainField) []byte {
	var value int // the value's size, tag and length included
	switch f.typ {
	case metlog.TypeString:
		value = 1 + uvarintLen(uint64(len(f.str))) + len(f.str)
	case metlog.TypeInteger:
		value = 2 + uvarintLen(uint64(f.i))
	default:
		value = 3
	}
	body := 1 + uvarintLen(uint64(len(f.name))) + len(f.name) + 2 + 2 + value
	dst = append(dst, tagFields)
	dst = binary.AppendUvarint(dst, uint64(body))
	dst = append(dst, tagFieldName)
	dst = binary.AppendUvarint(dst, uint64(len(f.name)))
	dst = append(dst, f.name...)
	dst = append(dst, tagFieldValueType, byte(f.typ), tagFieldRepresentation, 0)
	switch f.typ {
	case metlog.TypeString:
		dst = append(dst, tagFieldString)
		dst = binary.AppendUvarint(dst, uint64(len(f.str)))
		dst = append(dst, f.str...)
	case metlog.TypeInteger:
		dst = append(dst, tagFieldInteger, byte(uvarintLen(uint64(f.i))))
		dst = binary.AppendUvarint(dst, uint64(f.i))
	default:
		dst = append(dst, tagFieldBool, 1, byte(f.i))
	}
	return dst
}

// uvarintLen is the length of the varint encoding of v.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
