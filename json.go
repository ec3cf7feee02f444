package metlog

import (
	"encoding/base64"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// AppendJSON appends m to dst as metlog JSON, byte for byte as metlog-py
// (CPython 2.7's json.dumps) writes it, and returns the extended buffer. It
// does not allocate when dst has room.
//
// The envelope keys come in CPython 2.7's dict order: severity, timestamp,
// metlog_hostname, fields, metlog_pid, logger, type, payload, env_version,
// with Python's ", " and ": " separators. Strings are escaped as
// ensure_ascii does (non-ASCII as lower-case \uXXXX, astral characters as
// surrogate pairs; invalid UTF-8 bytes become \ufffd). Doubles are written as
// Python's repr writes them (1.0, 0.1, 1e+16, 1.5e-05, NaN, Infinity).
//
// The timestamp is written as metlog-py writes it: UTC, six fraction digits
// and a "Z" ("2026-11-22T01:49:29.187659Z"). A timestamp with nanoseconds
// below the microsecond gets nine fraction digits instead, so nothing is
// lost.
//
// Fields with dotted names are nested back into objects ("headers.path"
// becomes {"headers": {"path": ...}}), siblings grouped in the order they
// first appear; a name that cannot be nested without reordering fields or
// clashing with an earlier key ("a" = 1 and then "a.b" = 2) is written as a
// literal dotted key instead ({"a": 1, "a.b": 2}), which reads back as the
// same name. Repeated names are written as repeated keys, which the metlog
// JSON decoder keeps as repeated fields. A field of one value is written as a
// scalar and a field of several as an array; a field of none as []. Bytes
// values are written as standard base64 strings (JSON has no bytes, so they
// read back as string fields). A RepresentationJSON string field is written
// as the raw JSON it holds, re-spaced with Python's separators, when that
// JSON is valid and reads back as the same field; otherwise it is written as
// a string.
//
// JSON has no place for a field's representation, so representations that the
// fields object cannot carry (anything but RepresentationJSON on a raw JSON
// value) go in an extra top-level "representations" object after
// env_version: field name to representation, or to an array with one entry
// per field of that name when they differ. A message carrying a
// PayloadTypeField marker (the last one, if several) has its Payload written
// as raw JSON (when it is valid JSON and not a string), and the marker
// itself is not written. A
// non-zero UUID is written last as "uuid" in its canonical form. Routers
// built on metlog-py ignore both extra keys.
func (m *Message) AppendJSON(dst []byte) []byte {
	marker := -1
	if i := m.payloadMarker(); i >= 0 {
		n := len(dst)
		var c rawClass
		var ok bool
		dst, c, ok = appendRawJSON(dst, m.Payload, rawMaxDepth)
		dst = dst[:n]
		if ok && c != rawString {
			marker = i
		}
	}

	dst = append(dst, `{"severity": `...)
	dst = appendInt(dst, int64(m.Severity))
	dst = append(dst, `, "timestamp": "`...)
	dst = appendTimestamp(dst, m.Timestamp)
	dst = append(dst, `", "metlog_hostname": `...)
	dst = appendJSONString(dst, m.Hostname)
	dst = append(dst, `, "fields": `...)
	dst = appendFields(dst, m.Fields, marker)
	dst = append(dst, `, "metlog_pid": `...)
	dst = appendInt(dst, int64(m.Pid))
	dst = append(dst, `, "logger": `...)
	dst = appendJSONString(dst, m.Logger)
	dst = append(dst, `, "type": `...)
	dst = appendJSONString(dst, m.Type)
	dst = append(dst, `, "payload": `...)
	if marker >= 0 {
		dst, _, _ = appendRawJSON(dst, m.Payload, rawMaxDepth)
	} else {
		dst = appendJSONString(dst, m.Payload)
	}
	dst = append(dst, `, "env_version": `...)
	dst = appendJSONString(dst, m.EnvVersion)
	dst = appendRepresentations(dst, m.Fields, marker)
	if !m.UUID.IsZero() {
		dst = append(dst, `, "uuid": "`...)
		dst = m.UUID.AppendText(dst)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// payloadMarker returns the index of the last PayloadTypeField marker in
// m.Fields, or -1. The last, because the decoder appends the marker after
// all other fields, one of which may look like a marker too.
func (m *Message) payloadMarker() int {
	for i := len(m.Fields) - 1; i >= 0; i-- {
		f := &m.Fields[i]
		if f.Name == PayloadTypeField && f.Representation == RepresentationJSON &&
			f.Type == TypeString && len(f.Strings) == 1 && f.Strings[0] == "json" {
			return i
		}
	}
	return -1
}

// Nesting limits of the encoder. The metlog JSON decoder rejects documents
// nested deeper than its limit (64 by default); these keep everything the
// encoder writes well inside it: at most maxFieldDepth objects for the
// segments of a dotted name (further segments go into one literal dotted
// key), and raw JSON values at most rawMaxDepth deep (deeper ones are
// written as strings).
const (
	maxFieldDepth = 16
	rawMaxDepth   = 32
)

// openObject is one object the field encoder has open: the name segment it
// was opened for and the index of the first field written into it.
type openObject struct {
	seg   string
	start int
}

// appendFields writes fields as a JSON object, nesting dotted names and
// skipping the field at index skip.
func appendFields(dst []byte, fields []Field, skip int) []byte {
	var stack [maxFieldDepth]openObject
	depth := 0 // number of open objects below the fields object itself
	dst = append(dst, '{')
	first := true // no key written yet in the innermost open object
	for i := range fields {
		if i == skip {
			continue
		}
		f := &fields[i]
		name := f.Name

		// Keep the open objects that are a prefix of the name's parent path.
		keep := 0
		rest := name
		for keep < depth {
			seg, tail, ok := strings.Cut(rest, ".")
			if !ok || seg != stack[keep].seg {
				break
			}
			keep++
			rest = tail
		}
		for depth > keep {
			dst = append(dst, '}')
			depth--
			first = false
		}

		// Open objects for the remaining parent segments, as long as the
		// segment is a fresh key at its level and the depth allows.
		for depth < maxFieldDepth {
			seg, tail, ok := strings.Cut(rest, ".")
			if !ok {
				break
			}
			if depth == keep && keyUsed(fields, stack[:depth], start(stack[:depth]), i, skip, seg) {
				break
			}
			if !first {
				dst = append(dst, ", "...)
			}
			dst = appendJSONString(dst, seg)
			dst = append(dst, ": {"...)
			stack[depth] = openObject{seg: seg, start: i}
			depth++
			first = true
			rest = tail
		}

		if !first {
			dst = append(dst, ", "...)
		}
		first = false
		dst = appendJSONString(dst, rest)
		dst = append(dst, ": "...)
		dst = appendFieldValue(dst, f, depth)
	}
	for ; depth > 0; depth-- {
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// start returns the index of the first field written into the innermost of
// the open objects (0 for the fields object itself).
func start(open []openObject) int {
	if len(open) == 0 {
		return 0
	}
	return open[len(open)-1].start
}

// keyUsed reports whether any field in fields[from:to] (other than skip),
// all of which were written inside the object at path open, used seg as its
// next name segment at that level. It is conservative: a field written there
// as a literal dotted key starting with seg counts as a use too.
func keyUsed(fields []Field, open []openObject, from, to, skip int, seg string) bool {
	for j := from; j < to; j++ {
		if j == skip {
			continue
		}
		rest := fields[j].Name
		for range open {
			_, rest, _ = strings.Cut(rest, ".")
		}
		s, _, _ := strings.Cut(rest, ".")
		if s == seg {
			return true
		}
	}
	return false
}

// appendFieldValue writes the values of f: a scalar for one value, an array
// for several. depth is the number of objects open below the fields object.
func appendFieldValue(dst []byte, f *Field, depth int) []byte {
	if f.Type == TypeString && f.Representation == RepresentationJSON && len(f.Strings) == 1 {
		n := len(dst)
		var c rawClass
		var ok bool
		dst, c, ok = appendRawJSON(dst, f.Strings[0], rawMaxDepth-depth)
		if ok && c.readsBackRaw() {
			return dst
		}
		dst = dst[:n]
	}
	n := f.Len()
	if n != 1 {
		dst = append(dst, '[')
	}
	for i := range n {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		switch f.Type {
		case TypeString:
			dst = appendJSONString(dst, f.Strings[i])
		case TypeBytes:
			dst = appendBase64(dst, f.Bytes[i])
		case TypeInteger:
			dst = appendInt(dst, f.Integers[i])
		case TypeDouble:
			dst = appendPyFloat(dst, f.Doubles[i])
		case TypeBool:
			dst = strconv.AppendBool(dst, f.Bools[i])
		}
	}
	if n != 1 {
		dst = append(dst, ']')
	}
	return dst
}

// writtenRaw reports whether appendFieldValue writes f as raw JSON, so that
// it reads back with RepresentationJSON.
func writtenRaw(f *Field, depth int) bool {
	if f.Type != TypeString || f.Representation != RepresentationJSON || len(f.Strings) != 1 {
		return false
	}
	c, ok := classifyRawJSON(f.Strings[0], rawMaxDepth-depth)
	return ok && c.readsBackRaw()
}

// fieldDepth returns the number of objects appendFields opens around the
// field called name; it is at most maxFieldDepth and at most the number of
// dots in the name. It can be less when a segment was already used: it is
// then only an upper bound, which is what the raw depth check needs.
func fieldDepth(name string) int {
	return min(strings.Count(name, "."), maxFieldDepth)
}

// appendRepresentations writes the "representations" extension key for the
// fields whose representation the fields object does not carry.
func appendRepresentations(dst []byte, fields []Field, skip int) []byte {
	wrote := false
	for i := range fields {
		if i == skip || !needsRepresentation(&fields[i]) {
			continue
		}
		name := fields[i].Name
		if earlierNeeding(fields, i, skip, name) {
			continue // this name is already written
		}
		if !wrote {
			dst = append(dst, `, "representations": {`...)
			wrote = true
		} else {
			dst = append(dst, ", "...)
		}
		dst = appendJSONString(dst, name)
		dst = append(dst, ": "...)
		// One string when every field of this name has the same
		// representation, else one entry per field of this name.
		same := true
		for j := range fields {
			if j != skip && fields[j].Name == name && fields[j].Representation != fields[i].Representation {
				same = false
				break
			}
		}
		if same {
			dst = appendJSONString(dst, fields[i].Representation)
			continue
		}
		dst = append(dst, '[')
		k := 0
		for j := range fields {
			if j == skip || fields[j].Name != name {
				continue
			}
			if k > 0 {
				dst = append(dst, ", "...)
			}
			k++
			dst = appendJSONString(dst, fields[j].Representation)
		}
		dst = append(dst, ']')
	}
	if wrote {
		dst = append(dst, '}')
	}
	return dst
}

// needsRepresentation reports whether f's representation differs from the
// one the decoder gives it from the fields object alone.
func needsRepresentation(f *Field) bool {
	if f.Representation == "" {
		return false
	}
	return !(f.Representation == RepresentationJSON && writtenRaw(f, fieldDepth(f.Name)))
}

// earlierNeeding reports whether a field before index i (other than skip)
// called name needs a representations entry.
func earlierNeeding(fields []Field, i, skip int, name string) bool {
	for j := range i {
		if j != skip && fields[j].Name == name && needsRepresentation(&fields[j]) {
			return true
		}
	}
	return false
}

// appendBase64 writes b as a standard, padded base64 JSON string.
func appendBase64(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendPyFloat writes f as Python's repr(float) does: the shortest decimal
// that reads back as f, in positional notation with at least one fraction
// digit when the decimal exponent is in [-5, 16), else in exponent notation
// with a signed exponent of at least two digits.
func appendPyFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	// e is [-]d[.ddd]e±XX; find the exponent.
	x := 0
	i := len(e) - 1
	for e[i] != 'e' {
		i--
	}
	for _, c := range e[i+2:] {
		x = x*10 + int(c-'0')
	}
	if e[i+1] == '-' {
		x = -x
	}
	if x < -4 || x >= 16 {
		return append(dst, e...) // Go's 'e' format is Python's: 1e+16, 1.5e-05
	}
	n := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	for _, c := range dst[n:] {
		if c == '.' {
			return dst
		}
	}
	return append(dst, ".0"...)
}

// appendTimestamp writes ns as metlog-py writes datetime.utcnow():
// YYYY-MM-DDTHH:MM:SS.ffffffZ, with nine fraction digits when ns has
// nanoseconds below the microsecond.
func appendTimestamp(dst []byte, ns int64) []byte {
	secs := ns / 1e9
	frac := ns % 1e9
	if frac < 0 {
		frac += 1e9
		secs--
	}
	days := secs / 86400
	sod := secs % 86400
	if sod < 0 {
		sod += 86400
		days--
	}
	var b [30]byte // YYYY-MM-DDTHH:MM:SS.fffffffffZ
	copy(b[:10], dateText(days)[:])
	b[10] = 'T'
	put2(b[11:], int(sod/3600))
	b[13] = ':'
	put2(b[14:], int(sod/60%60))
	b[16] = ':'
	put2(b[17:], int(sod%60))
	b[19] = '.'
	f := int(frac)
	n := 20
	if f%1000 == 0 {
		f /= 1000
		put2(b[20:], f/1e4)
		put2(b[22:], f/100%100)
		put2(b[24:], f%100)
		n += 6
	} else {
		b[20] = byte('0' + f/1e8)
		put2(b[21:], f/1e6%100)
		put2(b[23:], f/1e4%100)
		put2(b[25:], f/100%100)
		put2(b[27:], f%100)
		n += 9
	}
	b[n] = 'Z'
	return append(dst, b[:n+1]...)
}

// day is a day since 1970-01-01 and its date, YYYY-MM-DD.
type day struct {
	days int64
	text [10]byte
}

// lastDay is the day dateText last computed: messages of one day share it.
var lastDay atomic.Pointer[day]

// dateText returns the date of the day days after 1970-01-01, YYYY-MM-DD.
func dateText(days int64) *[10]byte {
	if d := lastDay.Load(); d != nil && d.days == days {
		return &d.text
	}
	y, mo, dd := civilFromDays(days)
	// int64 nanoseconds span the years 1677 to 2262: four digits.
	d := &day{days: days}
	b := d.text[:]
	put2(b[0:], int(y/100))
	put2(b[2:], int(y%100))
	b[4] = '-'
	put2(b[5:], mo)
	b[7] = '-'
	put2(b[8:], dd)
	lastDay.Store(d)
	return &d.text
}

// appendInt appends v in decimal as strconv.AppendInt does, writing the
// small non-negative numbers messages carry most (severities, pids, status
// codes) without a call.
func appendInt(dst []byte, v int64) []byte {
	switch {
	case v < 0 || v >= 1e6:
		return strconv.AppendInt(dst, v, 10)
	case v < 10:
		return append(dst, byte('0'+v))
	case v < 100:
		return append(dst, twoDigits[2*v], twoDigits[2*v+1])
	case v < 1e4:
		hi, lo := v/100, v%100
		if hi < 10 {
			return append(dst, byte('0'+hi), twoDigits[2*lo], twoDigits[2*lo+1])
		}
		return append(dst, twoDigits[2*hi], twoDigits[2*hi+1], twoDigits[2*lo], twoDigits[2*lo+1])
	}
	hi, mid, lo := v/1e4, v/100%100, v%100
	if hi < 10 {
		return append(dst, byte('0'+hi), twoDigits[2*mid], twoDigits[2*mid+1], twoDigits[2*lo], twoDigits[2*lo+1])
	}
	return append(dst, twoDigits[2*hi], twoDigits[2*hi+1], twoDigits[2*mid], twoDigits[2*mid+1], twoDigits[2*lo], twoDigits[2*lo+1])
}

// twoDigits holds "00" to "99" one after another.
const twoDigits = "0001020304050607080910111213141516171819" +
	"2021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859" +
	"6061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// put2 writes v (0 to 99) as two digits at b[0:2].
func put2(b []byte, v int) {
	b[1] = twoDigits[2*v+1]
	b[0] = twoDigits[2*v]
}

// civilFromDays converts days since 1970-01-01 to a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func civilFromDays(z int64) (year int64, month, day int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	y := yoe + era*400
	if m <= 2 {
		y++
	}
	return y, int(m), int(d)
}

// jsonEscape says how appendJSONString writes each ASCII byte: 0 for as is,
// 'u' for \u00XX, anything else for a backslash and that byte.
var jsonEscape = [128]byte{
	0: 'u', 1: 'u', 2: 'u', 3: 'u', 4: 'u', 5: 'u', 6: 'u', 7: 'u',
	'\b': 'b', '\t': 't', '\n': 'n', 11: 'u', '\f': 'f', '\r': 'r', 14: 'u', 15: 'u',
	16: 'u', 17: 'u', 18: 'u', 19: 'u', 20: 'u', 21: 'u', 22: 'u', 23: 'u',
	24: 'u', 25: 'u', 26: 'u', 27: 'u', 28: 'u', 29: 'u', 30: 'u', 31: 'u',
	'"': '"', '\\': '\\', 127: 'u',
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string the way Python's json.dumps
// does with ensure_ascii: printable ASCII as is, \" \\ \b \f \n \r \t, and
// everything else as lower-case \uXXXX (astral characters as surrogate
// pairs). Invalid UTF-8 bytes are written as \ufffd. Runs of bytes written
// as they are are appended at once.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	run := 0 // start of the pending run of bytes written as is
	for i := 0; ; {
		i = skipASCII(s, i)
		if i >= len(s) {
			break
		}
		dst = append(dst, s[run:i]...)
		if c := s[i]; c < utf8.RuneSelf {
			if e := jsonEscape[c]; e == 'u' {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				dst = append(dst, '\\', e)
			}
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r >= 0x10000 {
				r -= 0x10000
				dst = appendU4(dst, 0xd800+(r>>10))
				dst = appendU4(dst, 0xdc00+(r&0x3ff))
			} else {
				dst = appendU4(dst, r) // utf8.RuneError for invalid bytes
			}
			i += size
		}
		run = i
	}
	dst = append(dst, s[run:]...)
	return append(dst, '"')
}

// skipASCII returns the index of the first byte at or after i that
// appendJSONString does not write as it is (anything but printable ASCII
// other than '"' and '\\'), or len(s). It looks at eight bytes at a time.
func skipASCII(s string, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		q := x ^ ('"' * lo)
		bs := x ^ ('\\' * lo)
		// The high bit of a byte is set for a control character (< 0x20),
		// '"', '\\', DEL (0x7f) or non-ASCII. A subtraction borrows (and
		// the addition carries) only out of a byte that is flagged, so the
		// lowest flag (the first byte, little-endian) is exact.
		if m := ((x - 0x20*lo) | (q - lo) | (bs - lo) | (x + lo) | x) & hi; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(s) && s[i] < utf8.RuneSelf && jsonEscape[s[i]] == 0 {
		i++
	}
	return i
}

// appendU4 writes \uXXXX for a BMP code unit.
func appendU4(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
