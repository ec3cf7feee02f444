package statsd

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf8"
)

// Parse reads one line (without its newline) into m, which it resets
// first; m's slices point into line afterwards. It returns nil or an Error.
// Parse does not allocate once m.Tags has grown to the most tags a line
// carries.
func Parse(line []byte, m *Metric) error {
	m.Reset()
	line = trimBlank(line)
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return ErrNoValue
	}
	if colon == 0 {
		return ErrEmptyName
	}
	name := line[:colon]
	if !validName(name) {
		return ErrBadName
	}
	rest := line[colon+1:]
	bar := bytes.IndexByte(rest, '|')
	if bar < 0 {
		return ErrNoType
	}
	value := rest[:bar]
	rest = rest[bar+1:]
	code := rest
	more := false
	if bar = bytes.IndexByte(rest, '|'); bar >= 0 {
		code, rest, more = rest[:bar], rest[bar+1:], true
	}
	t := parseType(code)
	if t == 0 {
		if len(code) == 0 {
			return ErrNoType
		}
		return ErrUnknownType
	}
	if t.Numeric() {
		if !isNumber(value) {
			return ErrBadValue
		}
	} else if len(value) == 0 || !validText(value) {
		return ErrBadValue
	}
	m.Name, m.Value, m.Type = name, value, t
	var seen uint8 // bits of the sections already read
	for more {
		sec := rest
		if bar = bytes.IndexByte(rest, '|'); bar >= 0 {
			sec, rest = rest[:bar], rest[bar+1:]
		} else {
			more = false
		}
		if len(sec) == 0 {
			return ErrBadSection
		}
		var bit uint8
		var err error
		switch {
		case sec[0] == '@':
			bit, err = 1, parseRate(sec[1:], m)
		case sec[0] == '#':
			bit, err = 2, parseTags(sec[1:], m)
		case sec[0] == 'T':
			bit, err = 4, parseTimestamp(sec[1:], m)
		case len(sec) > 2 && sec[0] == 'c' && sec[1] == ':' && validName(sec[2:]):
			bit, m.ContainerID = 8, sec[2:]
		default:
			return ErrBadSection
		}
		if err != nil {
			return err
		}
		if seen&bit != 0 {
			return ErrBadSection
		}
		seen |= bit
	}
	return nil
}

func parseType(code []byte) Type {
	switch len(code) {
	case 1:
		switch code[0] {
		case 'c':
			return Counter
		case 'g':
			return Gauge
		case 'h':
			return Histogram
		case 'd':
			return Distribution
		case 's':
			return Set
		}
	case 2:
		if code[0] == 'm' && code[1] == 's' {
			return Timer
		}
	}
	return 0
}

func parseRate(b []byte, m *Metric) error {
	if len(b) == 1 && b[0] == '1' {
		m.Rate = 1
		return nil
	}
	if !isNumber(b) {
		return ErrBadRate
	}
	r, err := strconv.ParseFloat(string(b), 64)
	if err != nil || !(r > 0 && r <= 1) {
		return ErrBadRate
	}
	m.Rate = r
	return nil
}

func parseTags(b []byte, m *Metric) error {
	for {
		tag := b
		comma := bytes.IndexByte(b, ',')
		if comma >= 0 {
			tag = b[:comma]
		}
		if len(tag) == 0 || !validName(tag) {
			return ErrBadTags
		}
		var t Tag
		if i := bytes.IndexByte(tag, ':'); i >= 0 {
			t.Key, t.Value = tag[:i], tag[i+1:]
		} else {
			t.Key = tag
		}
		if len(t.Key) == 0 {
			return ErrBadTags
		}
		m.Tags = append(m.Tags, t)
		if comma < 0 {
			return nil
		}
		b = b[comma+1:]
	}
}

// maxTimestamp is the last second whose nanoseconds fit an int64.
const maxTimestamp = math.MaxInt64 / int64(1e9)

func parseTimestamp(b []byte, m *Metric) error {
	if len(b) == 0 || len(b) > 19 {
		return ErrBadSection
	}
	var s int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return ErrBadSection
		}
		s = s*10 + int64(c-'0')
	}
	if s <= 0 || s > maxTimestamp {
		return ErrBadSection
	}
	m.Timestamp = s
	return nil
}

// isNumber reports whether b is a finite decimal number:
// [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?
func isNumber(b []byte) bool {
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	digits := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
		digits++
	}
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i == len(b) {
		// Without an exponent only a mantissa of more than 308 integer
		// digits could overflow; check long numbers exactly.
		return len(b) < 300 || finite(b)
	}
	if b[i] != 'e' && b[i] != 'E' {
		return false
	}
	i++
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	if i == len(b) {
		return false
	}
	for ; i < len(b); i++ {
		if b[i] < '0' || b[i] > '9' {
			return false
		}
	}
	return finite(b)
}

// finite reports whether the number b, already checked for syntax, is
// within float64 range.
func finite(b []byte) bool {
	f, err := strconv.ParseFloat(string(b), 64)
	return err == nil && !math.IsInf(f, 0)
}

// validName reports whether b is UTF-8 without white space, control
// characters or "|": a name, tag or container ID.
func validName(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c <= ' ' || c == 0x7f || c == '|' {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || validUTF8(b)
}

// validText reports whether b is UTF-8 without control characters (spaces
// are fine).
func validText(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c < ' ' || c == 0x7f {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || validUTF8(b)
}

// validUTF8 is utf8.Valid that also rejects the C1 control characters
// U+0080–U+009F.
func validUTF8(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 || r >= 0x80 && r <= 0x9f {
			return false
		}
		b = b[n:]
	}
	return true
}

func trimBlank(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
