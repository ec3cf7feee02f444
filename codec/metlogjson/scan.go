package metlogjson

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/metlog/metlog"
)

// decoder is the state of decoding one message: the input, the position,
// the limits and the message being filled. Its scratch buffers are reused
// across messages by a Decoder.
type decoder struct {
	data []byte
	i    int
	base int64 // offset of data[0] in the caller's input, for errors
	lim  Limits
	m    *metlog.Message

	path  []byte // dotted name of the field being decoded
	sbuf  []byte // a string with its escapes resolved
	rbuf  []byte // raw JSON text being normalised
	elems []elem // values of an array being read as a typed array
	abuf  []byte // their string values

	minute minuteCache // the minute of the last timestamp

	// slab, when slabs is set (a stream Decoder's), holds copies of the
	// payloads of the messages decoded so far; see payloadText.
	slab  []byte
	slabs bool
}

// maxKeep is the largest scratch buffer a pooled decoder keeps.
const maxKeep = 64 << 10

// decoders holds decoder states for Limits.Decode, to reuse their scratch
// buffers.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

// release drops the references d holds to the caller's data and returns it
// to the pool.
func (d *decoder) release() {
	d.data, d.m = nil, nil
	if cap(d.sbuf) > maxKeep || cap(d.rbuf) > maxKeep || cap(d.abuf) > maxKeep || cap(d.path) > maxKeep || cap(d.elems) > maxKeep/32 {
		return
	}
	decoders.Put(d)
}

// fail returns an *Error of kind at the current position.
func (d *decoder) fail(kind error, msg string) error {
	return d.failAt(d.i, kind, msg)
}

func (d *decoder) failAt(i int, kind error, msg string) error {
	return &Error{Offset: d.base + int64(i), Kind: kind, Msg: msg}
}

// unexpected reports the byte at the current position (or the end) as a
// syntax error in a place where want was expected.
func (d *decoder) unexpected(want string) error {
	if d.i >= len(d.data) {
		return d.fail(ErrSyntax, "unexpected end of input, want "+want)
	}
	return d.fail(ErrSyntax, "unexpected "+quoteByte(d.data[d.i])+", want "+want)
}

func quoteByte(c byte) string {
	if c < utf8.RuneSelf {
		return strconv.QuoteRune(rune(c))
	}
	return "byte 0x" + strconv.FormatUint(uint64(c), 16)
}

// space skips JSON white space.
func (d *decoder) space() {
	i, data := d.i, d.data
	for i < len(data) && isSpace(data[i]) {
		i++
	}
	d.i = i
}

// peek skips white space and returns the next byte, or 0 at the end.
func (d *decoder) peek() byte {
	i, data := d.i, d.data
	for i < len(data) {
		if c := data[i]; !isSpace(c) {
			d.i = i
			return c
		}
		i++
	}
	d.i = i
	return 0
}

// expect skips white space and consumes c.
func (d *decoder) expect(c byte, want string) error {
	if d.peek() != c {
		return d.unexpected(want)
	}
	d.i++
	return nil
}

// literal consumes lit (true, false, null) at the current position.
func (d *decoder) literal(lit string) error {
	if len(d.data)-d.i < len(lit) || string(d.data[d.i:d.i+len(lit)]) != lit {
		return d.fail(ErrSyntax, "invalid literal, want "+lit)
	}
	d.i += len(lit)
	return nil
}

// strSpecial marks the bytes that end the fast path of str: the closing
// quote, a backslash, control characters and the start of multi-byte UTF-8.
var strSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = true
	}
	t['"'] = true
	t['\\'] = true
	return t
}()

// skipPlain returns the index of the first byte at or after i that is
// special to strings (see strSpecial), or len(b). It looks at sixteen bytes
// at a time, then eight.
func skipPlain(b []byte, i int) int {
	for ; i+16 <= len(b); i += 16 {
		w := b[i : i+16 : i+16]
		m0 := plainMask(binary.LittleEndian.Uint64(w[:8]))
		m1 := plainMask(binary.LittleEndian.Uint64(w[8:]))
		if m0|m1 != 0 {
			if m0 != 0 {
				return i + bits.TrailingZeros64(m0)/8
			}
			return i + 8 + bits.TrailingZeros64(m1)/8
		}
	}
	if i+8 <= len(b) {
		if m := plainMask(binary.LittleEndian.Uint64(b[i : i+8])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for i < len(b) && !strSpecial[b[i]] {
		i++
	}
	return i
}

// plainMask returns the high bit of each byte of x (eight bytes of a string,
// little-endian) that is special to strings: control (< 0x20), '"', '\\'
// or non-ASCII. Above the lowest flagged byte there may be false flags (a
// subtraction borrows out of a flagged byte only), so the lowest flag, the
// first special byte, is exact.
func plainMask(x uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ ('"' * lo)
	bs := x ^ ('\\' * lo)
	return ((x - 0x20*lo) | (q - lo) | (bs - lo) | x) & hi
}

// str consumes the string at the current position (which is '"') and
// returns its value with escapes resolved. The result is either a slice of
// the input or of d.sbuf; it is valid until the next call of str.
//
// The string must be valid UTF-8 with no raw control characters. A \u
// escape of a lone surrogate half decodes as U+FFFD.
func (d *decoder) str() ([]byte, error) {
	// Most strings are plain to the closing quote: small enough to inline.
	start := d.i + 1
	if j := skipPlain(d.data, start); j < len(d.data) && d.data[j] == '"' {
		d.i = j + 1
		return d.data[start:j], nil
	}
	return d.strSlow()
}

// strSlow is str for a string with an escape, a control character or
// non-ASCII text.
func (d *decoder) strSlow() ([]byte, error) {
	d.i++ // the opening quote
	start := d.i
	for {
		d.i = skipPlain(d.data, d.i)
		if d.i >= len(d.data) {
			return nil, d.fail(ErrSyntax, "unterminated string")
		}
		switch c := d.data[d.i]; {
		case c == '"':
			d.i++
			return d.data[start : d.i-1], nil
		case c == '\\':
			d.sbuf = append(d.sbuf[:0], d.data[start:d.i]...)
			return d.strEscaped()
		case c < 0x20:
			return nil, d.fail(ErrSyntax, "control character "+quoteByte(c)+" in string")
		default:
			if err := d.utf8(); err != nil {
				return nil, err
			}
		}
	}
}

// key consumes an object key at the current position (which is '"'), the
// ':' after it and the white space after that, and returns the key as str
// does. Keys are nearly always plain ASCII followed at once by ':': that is
// read in one go.
func (d *decoder) key() ([]byte, error) {
	data := d.data
	start := d.i + 1
	if j := skipPlain(data, start); j+1 < len(data) && data[j] == '"' && data[j+1] == ':' {
		d.i = j + 2
		d.space()
		return data[start:j], nil
	}
	key, err := d.str()
	if err != nil {
		return nil, err
	}
	if err := d.expect(':', "':'"); err != nil {
		return nil, err
	}
	d.space()
	return key, nil
}

// utf8 consumes one multi-byte UTF-8 character at the current position.
func (d *decoder) utf8() error {
	r, size := utf8.DecodeRune(d.data[d.i:])
	if r == utf8.RuneError && size <= 1 {
		return d.fail(ErrSyntax, "invalid UTF-8 in string")
	}
	d.i += size
	return nil
}

// strEscaped continues str from a backslash, collecting the value in d.sbuf.
func (d *decoder) strEscaped() ([]byte, error) {
	for {
		start := d.i
		d.i = skipPlain(d.data, d.i)
		d.sbuf = append(d.sbuf, d.data[start:d.i]...)
		if d.i >= len(d.data) {
			return nil, d.fail(ErrSyntax, "unterminated string")
		}
		switch c := d.data[d.i]; {
		case c == '"':
			d.i++
			return d.sbuf, nil
		case c == '\\':
			if err := d.escape(); err != nil {
				return nil, err
			}
		case c < 0x20:
			return nil, d.fail(ErrSyntax, "control character "+quoteByte(c)+" in string")
		default:
			start := d.i
			if err := d.utf8(); err != nil {
				return nil, err
			}
			d.sbuf = append(d.sbuf, d.data[start:d.i]...)
		}
	}
}

// escape consumes one backslash escape and appends its value to d.sbuf.
func (d *decoder) escape() error {
	if d.i+1 >= len(d.data) {
		return d.fail(ErrSyntax, "unterminated string")
	}
	var c byte
	switch d.data[d.i+1] {
	case '"':
		c = '"'
	case '\\':
		c = '\\'
	case '/':
		c = '/'
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r, ok := d.hex4(d.i + 2)
		if !ok {
			return d.fail(ErrSyntax, `invalid \u escape`)
		}
		d.i += 6
		if r >= 0xd800 && r < 0xdc00 {
			// A high surrogate: combine it with a following low one.
			if lo, ok := d.hex4(d.i + 2); ok && d.data[d.i] == '\\' && d.data[d.i+1] == 'u' && lo >= 0xdc00 && lo < 0xe000 {
				d.i += 6
				r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
			} else {
				r = utf8.RuneError
			}
		} else if r >= 0xdc00 && r < 0xe000 {
			r = utf8.RuneError
		}
		d.sbuf = utf8.AppendRune(d.sbuf, r)
		return nil
	default:
		return d.fail(ErrSyntax, "invalid escape "+quoteByte(d.data[d.i+1]))
	}
	d.i += 2
	d.sbuf = append(d.sbuf, c)
	return nil
}

// hex4 reads the four hex digits at data[i:i+4].
func (d *decoder) hex4(i int) (rune, bool) {
	if i < 2 || i+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// numKind is what a number turned out to be.
type numKind uint8

const (
	numInt       numKind = iota // fits int64: num.i
	numFloat                    // a fraction or exponent, or NaN/Infinity: num.f
	numBigInt                   // an integer beyond int64: only num.text
	numHugeFloat                // beyond float64 range: only num.text
)

type num struct {
	kind numKind
	i    int64
	f    float64
	text []byte // the number as written
}

// isNumberStart reports whether c can start a number (including Python's
// NaN and Infinity).
func isNumberStart(c byte) bool {
	return c == '-' || c >= '0' && c <= '9' || c == 'N' || c == 'I'
}

// number consumes a JSON number, or one of Python's NaN, Infinity,
// -Infinity.
func (d *decoder) number() (num, error) {
	start := d.i
	if c := d.data[d.i]; c == 'N' || c == 'I' || c == '-' && d.i+1 < len(d.data) && d.data[d.i+1] == 'I' {
		rest := d.data[d.i:]
		switch {
		case hasPrefix(rest, "NaN"):
			d.i += 3
			return num{kind: numFloat, f: math.NaN(), text: d.data[start:d.i]}, nil
		case hasPrefix(rest, "Infinity"):
			d.i += 8
			return num{kind: numFloat, f: math.Inf(1), text: d.data[start:d.i]}, nil
		case hasPrefix(rest, "-Infinity"):
			d.i += 9
			return num{kind: numFloat, f: math.Inf(-1), text: d.data[start:d.i]}, nil
		}
	}
	data, i := d.data, d.i
	neg := false
	if data[i] == '-' {
		neg = true
		i++
	}
	if i >= len(data) || data[i]-'0' > 9 {
		d.i = i
		return num{}, d.fail(ErrSyntax, "invalid number")
	}
	// Integer part, accumulated as long as it fits: 18 digits always do.
	var u uint64
	overflow := false
	if data[i] == '0' {
		i++
	} else {
		for end := min(len(data), i+18); i < end && data[i]-'0' <= 9; i++ {
			u = u*10 + uint64(data[i]-'0')
		}
		for ; i < len(data) && data[i]-'0' <= 9; i++ {
			c := uint64(data[i] - '0')
			if u > (1<<63)/10 || u*10+c > 1<<63 {
				overflow = true
			} else {
				u = u*10 + c
			}
		}
	}
	isFloat := false
	if i < len(data) && data[i] == '.' {
		i++
		f := i
		if i = digits(data, i); i == f {
			d.i = i
			return num{}, d.fail(ErrSyntax, "invalid number: want digits after the decimal point")
		}
		isFloat = true
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		e := i
		if i = digits(data, i); i == e {
			d.i = i
			return num{}, d.fail(ErrSyntax, "invalid number: want digits in the exponent")
		}
		isFloat = true
	}
	d.i = i
	text := data[start:i]
	if isFloat {
		f, err := strconv.ParseFloat(string(text), 64)
		if err != nil {
			return num{kind: numHugeFloat, text: text}, nil
		}
		return num{kind: numFloat, f: f, text: text}, nil
	}
	if overflow || !neg && u > 1<<63-1 {
		return num{kind: numBigInt, text: text}, nil
	}
	v := int64(u)
	if neg {
		v = -v // u == 1<<63 gives math.MinInt64
	}
	return num{kind: numInt, i: v, text: text}, nil
}

// smallInt reads, at data[i:], an integer of at most 18 digits that
// number would read as numInt, and returns it and the index after it. ok is
// false for anything else — a fraction or exponent, a leading zero before
// more digits, Python's NaN and Infinity, no digits — which number decides.
// Envelope and field integers are nearly always small, and this is their
// fast path.
func smallInt(data []byte, i int) (v int64, end int, ok bool) {
	neg := i < len(data) && data[i] == '-'
	if neg {
		i++
	}
	start := i
	var u uint64
	for stop := min(len(data), i+18); i < stop && data[i]-'0' <= 9; i++ {
		u = u*10 + uint64(data[i]-'0')
	}
	if i == start || i-start > 1 && data[start] == '0' {
		return 0, 0, false
	}
	if i < len(data) {
		if c := data[i]; c-'0' <= 9 || c == '.' || c == 'e' || c == 'E' {
			return 0, 0, false
		}
	}
	v = int64(u)
	if neg {
		v = -v
	}
	return v, i, true
}

// digits returns the index of the first byte at or after i in data that is
// not a decimal digit.
func digits(data []byte, i int) int {
	for i < len(data) && data[i]-'0' <= 9 {
		i++
	}
	return i
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// raw consumes the value at the current position, nested in depth
// containers, and appends it to d.rbuf in the normal form: no white space
// between tokens except Python's ", " and ": " separators, strings and
// numbers exactly as written.
func (d *decoder) raw(depth int) error {
	if d.i >= len(d.data) {
		return d.unexpected("a value")
	}
	switch c := d.data[d.i]; {
	case c == '{' || c == '[':
		if depth+1 > d.lim.MaxDepth {
			return d.fail(ErrTooDeep, "nesting deeper than "+strconv.Itoa(d.lim.MaxDepth))
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		d.i++
		d.rbuf = append(d.rbuf, c)
		if d.peek() == end {
			d.i++
			d.rbuf = append(d.rbuf, end)
			return nil
		}
		for {
			if c == '{' {
				if d.peek() != '"' {
					return d.unexpected("a string key")
				}
				start := d.i
				if _, err := d.str(); err != nil {
					return err
				}
				d.rbuf = append(d.rbuf, d.data[start:d.i]...)
				if err := d.expect(':', "':'"); err != nil {
					return err
				}
				d.rbuf = append(d.rbuf, ':', ' ')
			}
			d.space()
			if err := d.raw(depth + 1); err != nil {
				return err
			}
			switch d.peek() {
			case ',':
				d.i++
				d.rbuf = append(d.rbuf, ',', ' ')
				d.space()
			case end:
				d.i++
				d.rbuf = append(d.rbuf, end)
				return nil
			default:
				return d.unexpected("',' or '" + string(end) + "'")
			}
		}
	case c == '"':
		start := d.i
		if _, err := d.str(); err != nil {
			return err
		}
		d.rbuf = append(d.rbuf, d.data[start:d.i]...)
	case c == 't' || c == 'f' || c == 'n':
		lit := "null"
		if c == 't' {
			lit = "true"
		} else if c == 'f' {
			lit = "false"
		}
		if err := d.literal(lit); err != nil {
			return err
		}
		d.rbuf = append(d.rbuf, lit...)
	case isNumberStart(c):
		n, err := d.number()
		if err != nil {
			return err
		}
		d.rbuf = append(d.rbuf, n.text...)
	default:
		return d.unexpected("a value")
	}
	return nil
}
