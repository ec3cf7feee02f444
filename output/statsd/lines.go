package statsd

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output"
)

// typeSet is the type of statsd's set messages, whose payload is a member
// of the set.
const typeSet = "set"

// appendLine appends m as one statsd line. When m cannot be sent, ok is
// false and dst is returned unchanged.
func (o *Output) appendLine(dst []byte, m *metlog.Message) (_ []byte, ok bool) {
	name := output.MetricName(m)
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
		v, _, ok := output.MetricValue(m)
		if !ok || m.Type == metlog.TypeTimer && v < 0 {
			return dst[:start], false
		}
		if m.Type == metlog.TypeGauge && payload[0] == '+' {
			dst = append(dst, '+') // a delta; '-' comes with the number
		}
		dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
		switch m.Type {
		case metlog.TypeCounter:
			suffix = "|c"
		case metlog.TypeTimer:
			suffix = "|ms"
		case metlog.TypeGauge:
			suffix = "|g"
		}
	}
	dst = append(dst, suffix...)
	if m.Type == metlog.TypeCounter || m.Type == metlog.TypeTimer {
		if rate, ok := output.SampleRate(m); ok {
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
