package metlog

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// rawClass is what a raw JSON value is, as far as the decoder's mapping of
// field values cares.
type rawClass uint8

const (
	rawNull        rawClass = iota
	rawBool                 // true or false
	rawString               // a string
	rawInt                  // an integer that fits int64
	rawBigInt               // an integer beyond int64
	rawFloat                // a number with a fraction or exponent, in float64 range, or NaN/Infinity
	rawHugeFloat            // a number out of float64 range
	rawEmptyObject          // {}
	rawObject               // an object with members
	rawTypedArray           // an array of two or more strings, ints, floats or bools, all alike
	rawOtherArray           // any other array
)

// readsBackRaw reports whether the decoder maps a value of class c to a
// RepresentationJSON string field holding its text, rather than to a typed
// field or a flattened object.
func (c rawClass) readsBackRaw() bool {
	switch c {
	case rawNull, rawBigInt, rawHugeFloat, rawEmptyObject, rawOtherArray:
		return true
	}
	return false
}

// typedElem reports whether an array element of class c can be a value of
// a typed array field.
func (c rawClass) typedElem() bool {
	switch c {
	case rawBool, rawString, rawInt, rawFloat:
		return true
	}
	return false
}

// appendRawJSON checks that s is one valid JSON value nested at most
// maxDepth deep, and appends it with insignificant white space removed and
// Python's ", " and ": " separators; tokens (strings, numbers) are copied as
// they are. It returns the class of the value and false if s is not valid
// (dst is then partly written).
func appendRawJSON(dst []byte, s string, maxDepth int) ([]byte, rawClass, bool) {
	r := rawScanner{s: s, dst: dst, write: true, maxDepth: maxDepth}
	c, ok := r.document()
	return r.dst, c, ok
}

// classifyRawJSON is appendRawJSON without the output.
func classifyRawJSON(s string, maxDepth int) (rawClass, bool) {
	r := rawScanner{s: s, maxDepth: maxDepth}
	return r.document()
}

// rawScanner is the small JSON checker and re-spacer behind appendRawJSON.
type rawScanner struct {
	s        string
	i        int
	dst      []byte
	write    bool
	maxDepth int
}

func (r *rawScanner) document() (rawClass, bool) {
	r.space()
	c, ok := r.value(0)
	if !ok {
		return c, false
	}
	r.space()
	return c, r.i == len(r.s)
}

func (r *rawScanner) space() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *rawScanner) emit(s string) {
	if r.write {
		r.dst = append(r.dst, s...)
	}
}

// value scans one value at nesting depth (number of enclosing containers).
func (r *rawScanner) value(depth int) (rawClass, bool) {
	if r.i >= len(r.s) {
		return 0, false
	}
	switch c := r.s[r.i]; {
	case c == '{':
		return r.object(depth + 1)
	case c == '[':
		return r.array(depth + 1)
	case c == '"':
		return rawString, r.str()
	case c == '-' || c >= '0' && c <= '9' || c == 'N' || c == 'I':
		return r.number()
	case c == 't':
		return rawBool, r.literal("true")
	case c == 'f':
		return rawBool, r.literal("false")
	case c == 'n':
		return rawNull, r.literal("null")
	}
	return 0, false
}

func (r *rawScanner) literal(lit string) bool {
	if !strings.HasPrefix(r.s[r.i:], lit) {
		return false
	}
	r.i += len(lit)
	r.emit(lit)
	return true
}

func (r *rawScanner) object(depth int) (rawClass, bool) {
	if depth > r.maxDepth {
		return 0, false
	}
	r.i++ // {
	r.emit("{")
	r.space()
	if r.i < len(r.s) && r.s[r.i] == '}' {
		r.i++
		r.emit("}")
		return rawEmptyObject, true
	}
	for {
		if r.i >= len(r.s) || r.s[r.i] != '"' || !r.str() {
			return 0, false
		}
		r.space()
		if r.i >= len(r.s) || r.s[r.i] != ':' {
			return 0, false
		}
		r.i++
		r.emit(": ")
		r.space()
		if _, ok := r.value(depth); !ok {
			return 0, false
		}
		r.space()
		if r.i >= len(r.s) {
			return 0, false
		}
		switch r.s[r.i] {
		case ',':
			r.i++
			r.emit(", ")
			r.space()
		case '}':
			r.i++
			r.emit("}")
			return rawObject, true
		default:
			return 0, false
		}
	}
}

func (r *rawScanner) array(depth int) (rawClass, bool) {
	if depth > r.maxDepth {
		return 0, false
	}
	r.i++ // [
	r.emit("[")
	r.space()
	if r.i < len(r.s) && r.s[r.i] == ']' {
		r.i++
		r.emit("]")
		return rawOtherArray, true
	}
	n := 0
	var kind rawClass
	typed := true
	for {
		c, ok := r.value(depth)
		if !ok {
			return 0, false
		}
		if n == 0 {
			kind = c
		}
		typed = typed && c == kind && c.typedElem()
		n++
		r.space()
		if r.i >= len(r.s) {
			return 0, false
		}
		switch r.s[r.i] {
		case ',':
			r.i++
			r.emit(", ")
			r.space()
		case ']':
			r.i++
			r.emit("]")
			if typed && n >= 2 {
				return rawTypedArray, true
			}
			return rawOtherArray, true
		default:
			return 0, false
		}
	}
}

// str scans a string, checking its escapes and UTF-8, and copies it as is.
func (r *rawScanner) str() bool {
	start := r.i
	r.i++ // "
	for r.i < len(r.s) {
		c := r.s[r.i]
		switch {
		case c == '"':
			r.i++
			r.emit(r.s[start:r.i])
			return true
		case c == '\\':
			if r.i+1 >= len(r.s) {
				return false
			}
			switch r.s[r.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				r.i += 2
			case 'u':
				if r.i+6 > len(r.s) || !isHex4(r.s[r.i+2:r.i+6]) {
					return false
				}
				r.i += 6
			default:
				return false
			}
		case c < 0x20:
			return false
		case c < utf8.RuneSelf:
			r.i++
		default:
			ru, size := utf8.DecodeRuneInString(r.s[r.i:])
			if ru == utf8.RuneError && size == 1 {
				return false
			}
			r.i += size
		}
	}
	return false
}

func isHex4(s string) bool {
	for i := range 4 {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// number scans a JSON number, or Python's NaN, Infinity or -Infinity.
func (r *rawScanner) number() (rawClass, bool) {
	for _, lit := range [...]string{"NaN", "Infinity", "-Infinity"} {
		if strings.HasPrefix(r.s[r.i:], lit) {
			r.i += len(lit)
			r.emit(lit)
			return rawFloat, true
		}
	}
	start := r.i
	if r.s[r.i] == '-' {
		r.i++
	}
	if r.i >= len(r.s) {
		return 0, false
	}
	if r.s[r.i] == '0' {
		r.i++
	} else if !r.digits() {
		return 0, false
	}
	isFloat := false
	if r.i < len(r.s) && r.s[r.i] == '.' {
		r.i++
		if !r.digits() {
			return 0, false
		}
		isFloat = true
	}
	if r.i < len(r.s) && (r.s[r.i] == 'e' || r.s[r.i] == 'E') {
		r.i++
		if r.i < len(r.s) && (r.s[r.i] == '+' || r.s[r.i] == '-') {
			r.i++
		}
		if !r.digits() {
			return 0, false
		}
		isFloat = true
	}
	text := r.s[start:r.i]
	r.emit(text)
	if isFloat {
		if _, err := strconv.ParseFloat(text, 64); err != nil {
			return rawHugeFloat, true
		}
		return rawFloat, true
	}
	if _, err := strconv.ParseInt(text, 10, 64); err != nil {
		return rawBigInt, true
	}
	return rawInt, true
}

// digits scans one or more decimal digits.
func (r *rawScanner) digits() bool {
	start := r.i
	for r.i < len(r.s) && r.s[r.i] >= '0' && r.s[r.i] <= '9' {
		r.i++
	}
	return r.i > start
}
