package metlogjson

import (
	"encoding/binary"
	"strconv"
	"unsafe"

	"github.com/metlog/metlog"
)

// Default limits. See Limits.
const (
	// DefaultMaxSize is 64 KiB. A metlog message travels in one UDP
	// datagram, whose payload cannot exceed 65,507 bytes, so every message
	// metlog-py can send fits (the 60 KB payload of a big log line
	// included), as does one datagram-sized message with a trailing
	// newline; it is also Heka's maximum message size, so whatever is
	// accepted here can be reframed as a Heka stream record.
	DefaultMaxSize = 64 << 10
	// DefaultMaxDepth is the deepest nesting of objects and arrays
	// accepted, counting the message object itself. Real messages nest a
	// few levels; the limit bounds the decoder's recursion.
	DefaultMaxDepth = 64
	// DefaultMaxFields is the most fields a message may decode to (nested
	// objects count once per value they flatten to).
	DefaultMaxFields = 1024
)

// Limits bound what the decoders accept. A zero field means its default.
// Input beyond a limit is rejected with an *Error of kind ErrTooLarge,
// ErrTooDeep or ErrTooManyFields.
type Limits struct {
	// MaxSize is the longest message in bytes, not counting white space
	// around it.
	MaxSize int
	// MaxDepth is the deepest nesting of objects and arrays, the message
	// object itself counting 1 and the fields object 2.
	MaxDepth int
	// MaxFields is the most fields a message may decode to.
	MaxFields int
}

func (l Limits) withDefaults() Limits {
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultMaxSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	return l
}

// Decode decodes one metlog JSON message (one UDP datagram, say) into m,
// with the default Limits. See Limits.Decode.
func Decode(data []byte, m *metlog.Message) error {
	return Limits{}.Decode(data, m)
}

// Unmarshal decodes one metlog JSON message into a new Message, with the
// default Limits.
func Unmarshal(data []byte) (*metlog.Message, error) {
	m := new(metlog.Message)
	if err := Decode(data, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Decode decodes data, which must hold exactly one metlog JSON object
// (white space around it, such as a trailing newline, is fine), into m.
//
// m is overwritten entirely, as by m.Reset, but its storage is reused: the
// Fields array, the value slices of the fields, and any string equal to the
// one m held in the same place (so decoding a stream of similar messages
// into one Message allocates little). Copy (Clone) a message before
// decoding into it again if you keep any part of it. On error, m holds
// whatever was decoded before the problem, and the error is an *Error.
func (l Limits) Decode(data []byte, m *metlog.Message) error {
	d := decoders.Get().(*decoder)
	d.data, d.i, d.base, d.lim, d.m = data, 0, 0, l.withDefaults(), m
	err := d.decode()
	d.release()
	return err
}

// decode checks the size and decodes the message in d.data.
func (d *decoder) decode() error {
	end := len(d.data)
	for end > 0 && isSpace(d.data[end-1]) {
		end--
	}
	start := 0
	for start < end && isSpace(d.data[start]) {
		start++
	}
	if end-start > d.lim.MaxSize {
		return d.failAt(start+d.lim.MaxSize, ErrTooLarge,
			"message of "+strconv.Itoa(end-start)+" bytes, limit "+strconv.Itoa(d.lim.MaxSize))
	}
	return d.message()
}

// isSpace reports whether c is JSON white space: ' ', '\n', '\r' or '\t'.
func isSpace(c byte) bool {
	const spaces = 1<<' ' | 1<<'\n' | 1<<'\r' | 1<<'\t'
	return c <= ' ' && spaces>>c&1 != 0
}

// message decodes the top-level object into d.m.
func (d *decoder) message() error {
	m := d.m
	oldFields := m.Fields
	// m is reset as by m.Reset, except that its strings are left until the
	// end: a string equal to the previous message's, as most of a stream's
	// are, is then not stored again (see setString). set marks the strings
	// this message gave a value (bits 1<<keyHostname and so on).
	m.UUID, m.Timestamp, m.Severity, m.Pid = metlog.UUID{}, 0, metlog.Info, 0
	m.Fields = m.Fields[:0] // alone, so that only the length is stored
	var set uint16
	defer func() {
		const all = 1<<keyHostname | 1<<keyLogger | 1<<keyType | 1<<keyPayload | 1<<keyEnvVersion
		if set&all != all {
			for k, p := range [...]*string{keyHostname: &m.Hostname, keyLogger: &m.Logger, keyType: &m.Type,
				keyPayload: &m.Payload, keyEnvVersion: &m.EnvVersion} {
				if p != nil && set&(1<<k) == 0 {
					setString(p, "")
				}
			}
		}
		// Drop what is left of the previous message's fields.
		if len(m.Fields) < len(oldFields) && cap(m.Fields) == cap(oldFields) {
			clear(oldFields[len(m.Fields):])
		}
	}()

	if d.peek() != '{' {
		if d.i < len(d.data) && (d.data[d.i] == '[' || d.data[d.i] == '"' || isNumberStart(d.data[d.i]) ||
			d.data[d.i] == 't' || d.data[d.i] == 'f' || d.data[d.i] == 'n') {
			return d.fail(ErrBadValue, "message is not a JSON object")
		}
		return d.unexpected("'{'")
	}
	d.i++
	payloadJSON := false
	payloadAt := 0 // offset of the payload, for errors
	reps := -1     // offset of the "representations" object
	if d.peek() == '}' {
		d.i++
	} else {
		next := 0 // the envelope key expected next, in envelopeKeys
		for {
			if d.peek() != '"' {
				return d.unexpected("a string key")
			}
			var key []byte
			kind := next // the key's constant
			if next < len(envelopeKeys) && envelopeWords[next].at(d.data, d.i) {
				// metlog-py's order and spacing: the key is known.
				d.i += len(envelopeKeys[next])
				d.space()
				next++
			} else {
				var err error
				if key, err = d.key(); err != nil {
					return err
				}
				kind = envelopeKind(key)
				next = min(kind+1, len(envelopeKeys)) // expect the one after it
			}
		value:
			var err error
			set |= 1 << kind
			switch kind {
			case keySeverity:
				v, null, err := d.int32Value("severity")
				if err != nil {
					return err
				}
				if !null {
					m.Severity = metlog.Severity(v)
				}
			case keyTimestamp:
				err = d.timestamp()
			case keyHostname:
				err = d.stringValue("metlog_hostname", &m.Hostname)
			case keyFields:
				err = d.fieldsValue()
			case keyPid:
				var v int32
				v, _, err = d.int32Value("metlog_pid")
				m.Pid = v
			case keyLogger:
				err = d.stringValue("logger", &m.Logger)
			case keyType:
				err = d.stringValue("type", &m.Type)
			case keyPayload:
				payloadAt = d.i
				payloadJSON, err = d.payload()
			case keyEnvVersion:
				err = d.stringValue("env_version", &m.EnvVersion)
			case keyUUID:
				err = d.uuid()
			case keyRepresentations:
				reps = -1
				if d.peek() == 'n' {
					err = d.literal("null")
				} else if d.peek() != '{' {
					err = d.fail(ErrBadValue, "representations: want an object")
				} else {
					reps = d.i
					d.rbuf = d.rbuf[:0]
					err = d.raw(1) // checked and skipped; applied at the end
				}
			default:
				// Unknown keys are kept as fields named "@key".
				d.path = append(append(d.path[:0], '@'), key...)
				err = d.fieldValue(1)
			}
			if err != nil {
				return err
			}
			// metlog-py's separator and the key expected next, in one step.
			if next < len(envelopeKeys) && sepWords[next].at(d.data, d.i) {
				d.i += 2 + len(envelopeKeys[next])
				d.space()
				kind = next
				next++
				goto value
			}
			switch d.peek() {
			case ',':
				d.i++
				continue
			case '}':
				d.i++
			default:
				return d.unexpected("',' or '}'")
			}
			break
		}
	}
	if d.space(); d.i < len(d.data) {
		return d.fail(ErrSyntax, "data after the message")
	}
	if reps >= 0 {
		d.i = reps
		if err := d.representations(); err != nil {
			return err
		}
	}
	if payloadJSON {
		f, err := d.addField(metlog.PayloadTypeField, metlog.TypeString, payloadAt)
		if err != nil {
			return err
		}
		f.Representation = metlog.RepresentationJSON
		f.Strings = append(f.Strings, "json")
	}
	return nil
}

// The top-level keys the decoder knows, in the order metlog-py writes the
// envelope's.
const (
	keySeverity = iota
	keyTimestamp
	keyHostname
	keyFields
	keyPid
	keyLogger
	keyType
	keyPayload
	keyEnvVersion
	keyUUID
	keyRepresentations
	keyOther
)

// envelopeKeys are the envelope's keys as metlog-py writes them, in its
// order, each with the separator after it; the decoder reads a key that is
// the one expected next without scanning it.
var envelopeKeys = [...]string{`"severity": `, `"timestamp": `, `"metlog_hostname": `, `"fields": `,
	`"metlog_pid": `, `"logger": `, `"type": `, `"payload": `, `"env_version": `, `"uuid": `}

// keyWords is an envelope key as the little-endian 8-byte words a
// comparison loads: its first eight bytes, its last eight and, for a key
// over 16 bytes, the eight from its ninth. The key's length is 8 to 24.
type keyWords struct {
	n               int
	head, mid, tail uint64
}

func newKeyWords(k string) keyWords {
	b := []byte(k)
	w := keyWords{n: len(b), head: binary.LittleEndian.Uint64(b), tail: binary.LittleEndian.Uint64(b[len(b)-8:])}
	if len(b) > 16 {
		w.mid = binary.LittleEndian.Uint64(b[8:])
	}
	return w
}

// at reports whether b holds the key at offset i, with word loads in
// place of a call to compare memory.
func (w *keyWords) at(b []byte, i int) bool {
	if i < 0 || len(b)-i < w.n {
		return false
	}
	b = b[i : i+w.n]
	if binary.LittleEndian.Uint64(b) != w.head || binary.LittleEndian.Uint64(b[len(b)-8:]) != w.tail {
		return false
	}
	return w.n <= 16 || binary.LittleEndian.Uint64(b[8:]) == w.mid
}

// envelopeWords are envelopeKeys as keyWords, and sepWords the same keys
// after metlog-py's ", " separator: the decoder goes from the end of one
// value to the start of the next in one comparison.
var envelopeWords, sepWords = func() (ws, ss [len(envelopeKeys)]keyWords) {
	for i, k := range envelopeKeys {
		ws[i] = newKeyWords(k)
		ss[i] = newKeyWords(", " + k)
	}
	return ws, ss
}()

// envelopeKind returns the constant of a top-level key.
func envelopeKind(key []byte) int {
	switch string(key) {
	case "severity":
		return keySeverity
	case "timestamp":
		return keyTimestamp
	case "metlog_hostname":
		return keyHostname
	case "fields":
		return keyFields
	case "metlog_pid":
		return keyPid
	case "logger":
		return keyLogger
	case "type":
		return keyType
	case "payload":
		return keyPayload
	case "env_version":
		return keyEnvVersion
	case "uuid":
		return keyUUID
	case "representations":
		return keyRepresentations
	}
	return keyOther
}

// stringValue reads a string (or null, read as "") for an envelope key
// into *p, reusing the string *p holds when equal; on error *p is "".
func (d *decoder) stringValue(key string, p *string) error {
	var err error
	s := ""
	switch d.peek() {
	case '"':
		var b []byte
		if b, err = d.str(); err == nil {
			s = text(b, *p)
		}
	case 'n':
		err = d.literal("null")
	default:
		err = d.fail(ErrBadValue, key+": want a string")
	}
	setString(p, s)
	return err
}

// setString sets *p to s unless it holds s already (the same bytes in
// memory): storing a pointer costs a write barrier while the garbage
// collector marks, which in a busy decoder is much of the time.
func setString(p *string, s string) {
	if len(*p) != len(s) || unsafe.StringData(*p) != unsafe.StringData(s) {
		*p = s
	}
}

// int32Value reads an integer that fits an int32 (or null) for an envelope
// key.
func (d *decoder) int32Value(key string) (v int32, null bool, err error) {
	c := d.peek()
	if c == 'n' {
		return 0, true, d.literal("null")
	}
	if !isNumberStart(c) {
		return 0, false, d.fail(ErrBadValue, key+": want an integer")
	}
	at := d.i
	if v, end, ok := smallInt(d.data, d.i); ok && v >= -1<<31 && v <= 1<<31-1 {
		d.i = end
		return int32(v), false, nil
	}
	n, err := d.number()
	if err != nil {
		return 0, false, err
	}
	if n.kind != numInt || n.i < -1<<31 || n.i > 1<<31-1 {
		return 0, false, d.failAt(at, ErrBadValue, key+": want an integer that fits 32 bits, got "+string(n.text))
	}
	return int32(n.i), false, nil
}

// timestamp reads the timestamp: an RFC 3339 string, a number (see
// numericTimestamp) or null.
func (d *decoder) timestamp() error {
	at := d.i
	switch c := d.peek(); {
	case c == '"':
		b, err := d.str()
		if err != nil {
			return err
		}
		ns, ok := parseTimestamp(b, &d.minute)
		if !ok {
			return d.failAt(at, ErrBadValue, "timestamp: want RFC 3339 time within years 1678-2261, got "+strconv.Quote(string(b)))
		}
		d.m.Timestamp = ns
		return nil
	case c == 'n':
		d.m.Timestamp = 0
		return d.literal("null")
	case isNumberStart(c):
		n, err := d.number()
		if err != nil {
			return err
		}
		ns, ok := numericTimestamp(n.text)
		if !ok {
			return d.failAt(at, ErrBadValue, "timestamp: number out of range: "+string(n.text))
		}
		d.m.Timestamp = ns
		return nil
	}
	return d.fail(ErrBadValue, "timestamp: want a string or a number")
}

// payload reads the payload. A string is the payload; any other value is
// kept as its JSON text, and payload reports true so that the message gets
// the PayloadTypeField marker.
func (d *decoder) payload() (bool, error) {
	p := &d.m.Payload
	if d.peek() == '"' {
		b, err := d.str()
		if err != nil {
			setString(p, "")
			return false, err
		}
		setString(p, d.payloadText(b, *p))
		return false, nil
	}
	d.rbuf = d.rbuf[:0]
	if err := d.raw(1); err != nil {
		setString(p, "")
		return false, err
	}
	setString(p, d.payloadText(d.rbuf, *p))
	return true, nil
}

// uuid reads a UUID in canonical or 32-hex-digit form, or null.
func (d *decoder) uuid() error {
	at := d.i
	switch d.peek() {
	case 'n':
		d.m.UUID = metlog.UUID{}
		return d.literal("null")
	case '"':
		b, err := d.str()
		if err != nil {
			return err
		}
		u, ok := parseUUID(b)
		if !ok {
			return d.failAt(at, ErrBadValue, "uuid: want 32 hex digits, optionally in 8-4-4-4-12 form, got "+strconv.Quote(string(b)))
		}
		d.m.UUID = u
		return nil
	}
	return d.fail(ErrBadValue, "uuid: want a string")
}

// parseUUID reads a UUID in canonical (8-4-4-4-12) or plain 32-hex-digit
// form, in either case.
func parseUUID(b []byte) (metlog.UUID, bool) {
	var u metlog.UUID
	if len(b) == 36 {
		if b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
			return u, false
		}
	} else if len(b) != 32 {
		return u, false
	}
	n := 0
	hi := true
	for _, c := range b {
		if c == '-' && len(b) == 36 {
			continue
		}
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			return metlog.UUID{}, false
		}
		if n >= 16 {
			return metlog.UUID{}, false
		}
		if hi {
			u[n] = v << 4
		} else {
			u[n] |= v
			n++
		}
		hi = !hi
	}
	return u, n == 16
}

// slabSize is the size of the blocks a stream Decoder copies payloads into,
// and slabMax the longest payload it copies there.
const (
	slabSize = 8 << 10
	slabMax  = slabSize / 8
)

// payloadText is text for a payload. A stream Decoder copies a payload into
// its current slab, which the payloads of the next messages share, so that
// a stream of messages costs an allocation per slab rather than per
// message; a slab is never written again where a string was cut from it.
func (d *decoder) payloadText(b []byte, old string) string {
	if !d.slabs || len(b) > slabMax {
		return text(b, old)
	}
	if string(b) == old || len(b) == 0 {
		return text(b, old)
	}
	if cap(d.slab)-len(d.slab) < len(b) {
		d.slab = make([]byte, 0, slabSize)
	}
	n := len(d.slab)
	d.slab = append(d.slab, b...)
	return unsafe.String(&d.slab[n], len(b))
}

// text returns b as a string, reusing old when it is equal, or a constant
// for a few strings nearly every message carries, so that they cost no
// allocation.
func text(b []byte, old string) string {
	if string(b) == old {
		return old
	}
	switch string(b) {
	case "":
		return ""
	case metlog.EnvVersion:
		return metlog.EnvVersion
	case "counter":
		return "counter"
	case "timer":
		return "timer"
	case "oldstyle":
		return "oldstyle"
	case "name":
		return "name"
	case "rate":
		return "rate"
	case "null":
		return "null"
	case "{}":
		return "{}"
	}
	return string(b)
}
