package statsd

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/metlog/metlog"
)

// Message types this output sends.
const (
	typeCounter = "counter"
	typeTimer   = "timer"
	typeGauge   = "gauge"
	typeSet     = "set"
)

// appendLine appends m as one statsd line. When m cannot be sent, ok is
// false and dst is returned unchanged.
func (o *Output) appendLine(dst []byte, m *metlog.Message) (_ []byte, ok bool) {
	name := stringField(m, "name")
	if name == "" {
		return dst, false
	}
	start := len(dst)
	if o.cfg.Prefix != "" {
		dst = append(dst, o.cfg.Prefix...)
		dst = append(dst, '.')
	}
	if o.cfg.LoggerNamespace && m.Logger != "" {
		dst = appendKey(dst, m.Logger)
		dst = append(dst, '.')
	}
	dst = appendKey(dst, name)
	dst = append(dst, ':')
	payload := strings.TrimSpace(m.Payload)
	var suffix string
	if m.Type == typeSet {
		if payload == "" {
			return dst[:start], false
		}
		dst = appendMember(dst, payload)
		suffix = "|s"
	} else {
		v, ok := parseFinite(payload)
		if !ok || m.Type == typeTimer && v < 0 {
			return dst[:start], false
		}
		if m.Type == typeGauge && payload[0] == '+' {
			dst = append(dst, '+') // a delta; '-' comes with the number
		}
		dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
		switch m.Type {
		case typeCounter:
			suffix = "|c"
		case typeTimer:
			suffix = "|ms"
		case typeGauge:
			suffix = "|g"
		}
	}
	dst = append(dst, suffix...)
	if m.Type == typeCounter || m.Type == typeTimer {
		if rate, ok := floatField(m, "rate"); ok && rate > 0 && rate < 1 {
			dst = append(dst, "|@"...)
			dst = strconv.AppendFloat(dst, rate, 'f', -1, 64)
		}
	}
	if o.cfg.Tags == "dogstatsd" {
		dst = appendTags(dst, m)
	}
	return append(dst, '\n'), true
}

// appendTags appends the message's other fields as DogStatsD tags,
// |#field:value,… ; a field with several values gives a tag for each, and
// bytes fields are left out.
func appendTags(dst []byte, m *metlog.Message) []byte {
	n := 0
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Name == "name" || f.Name == "rate" || f.Name == metlog.PayloadTypeField || f.Type == metlog.TypeBytes {
			continue
		}
		for j := range f.Len() {
			if n == 0 {
				dst = append(dst, "|#"...)
			} else {
				dst = append(dst, ',')
			}
			n++
			dst = appendMember(dst, f.Name)
			dst = append(dst, ':')
			switch f.Type {
			case metlog.TypeString:
				dst = appendMember(dst, f.Strings[j])
			case metlog.TypeInteger:
				dst = strconv.AppendInt(dst, f.Integers[j], 10)
			case metlog.TypeDouble:
				dst = strconv.AppendFloat(dst, f.Doubles[j], 'f', -1, 64)
			case metlog.TypeBool:
				dst = strconv.AppendBool(dst, f.Bools[j])
			}
		}
	}
	return dst
}

// appendKey appends s as part of a statsd key: "::" becomes "." and
// unsafe characters (see isUnsafe) become '_'.
func appendKey(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		if s[i] == ':' && i+1 < len(s) && s[i+1] == ':' {
			dst = append(dst, '.')
			i += 2
			continue
		}
		var size int
		dst, size = appendSafeRune(dst, s[i:])
		i += size
	}
	return dst
}

// appendMember appends s, a set member or a tag name or value, with unsafe
// characters replaced by '_'.
func appendMember(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		var size int
		dst, size = appendSafeRune(dst, s[i:])
		i += size
	}
	return dst
}

// appendSafeRune appends the first rune of s, or '_' when it is unsafe, and
// returns how many bytes of s it used.
func appendSafeRune(dst []byte, s string) ([]byte, int) {
	c := s[0]
	if c < utf8.RuneSelf {
		if isUnsafe(c) {
			return append(dst, '_'), 1
		}
		return append(dst, c), 1
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) {
		return append(dst, '_'), size
	}
	return append(dst, s[:size]...), size
}

// isUnsafe reports whether an ASCII byte cannot appear in a key: the
// separators of the statsd line (':' '|' '@'), of DogStatsD tags ('#' ','),
// whitespace and control characters.
func isUnsafe(c byte) bool {
	switch c {
	case ':', '|', '@', '#', ',', ' ', 0x7f:
		return true
	}
	return c < 0x20
}

func parseFinite(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}

// stringField returns the first value of the string field called name.
func stringField(m *metlog.Message, name string) string {
	f := m.Field(name)
	if f == nil || f.Type != metlog.TypeString || len(f.Strings) == 0 {
		return ""
	}
	return f.Strings[0]
}

// floatField returns the first value of the field called name as a number,
// whether it was sent as a double, an integer or a numeric string (as some
// metlog-py plugins send "rate").
func floatField(m *metlog.Message, name string) (float64, bool) {
	f := m.Field(name)
	if f == nil {
		return 0, false
	}
	switch {
	case f.Type == metlog.TypeDouble && len(f.Doubles) > 0:
		return f.Doubles[0], true
	case f.Type == metlog.TypeInteger && len(f.Integers) > 0:
		return float64(f.Integers[0]), true
	case f.Type == metlog.TypeString && len(f.Strings) > 0:
		return parseFinite(strings.TrimSpace(f.Strings[0]))
	}
	return 0, false
}
