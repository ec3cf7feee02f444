package carbon

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output"
)

// typeStatmetric is the type of the messages the statsd accumulator
// emits, whose payload is ready-made plaintext lines.
const typeStatmetric = "statmetric"

// result is what one message contributed to a batch.
type result struct {
	lines   int  // data points appended
	invalid int  // lines or messages that could not be sent
	skipped bool // a type this output does not send
}

// appendMessage appends m's data points to dst.
func (o *Output) appendMessage(dst []byte, m *metlog.Message) ([]byte, result) {
	switch m.Type {
	case typeStatmetric:
		return appendStatmetric(dst, m.Payload)
	case metlog.TypeCounter, metlog.TypeTimer, metlog.TypeGauge:
		if o.cfg.Direct {
			return o.appendDirect(dst, m)
		}
	}
	return dst, result{skipped: true}
}

// appendStatmetric appends the valid plaintext lines of payload, each
// normalised to single spaces and a trailing newline.
func appendStatmetric(dst []byte, payload string) ([]byte, result) {
	var r result
	for line := range strings.Lines(payload) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ts, ok := splitLine(line)
		if !ok {
			r.invalid++
			continue
		}
		dst = append(dst, name...)
		dst = append(dst, ' ')
		dst = append(dst, value...)
		dst = append(dst, ' ')
		dst = append(dst, ts...)
		dst = append(dst, '\n')
		r.lines++
	}
	return dst, r
}

// splitLine splits a plaintext line into its three whitespace-separated
// fields and checks them as carbon would: a name without control
// characters, a finite value and a finite timestamp.
func splitLine(line string) (name, value, ts string, ok bool) {
	var f [3]string
	n := 0
	for i := 0; i < len(line); {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			break
		}
		if n == len(f) {
			return "", "", "", false
		}
		start := i
		for i < len(line) && !isSpace(line[i]) {
			if c := line[i]; c < 0x20 || c == 0x7f {
				return "", "", "", false
			}
			i++
		}
		f[n] = line[start:i]
		n++
	}
	if n != len(f) {
		return "", "", "", false
	}
	if _, ok := output.ParseFinite(f[1]); !ok {
		return "", "", "", false
	}
	if _, ok := output.ParseFinite(f[2]); !ok {
		return "", "", "", false
	}
	return f[0], f[1], f[2], true
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// appendDirect formats a counter, timer or gauge message as one line.
func (o *Output) appendDirect(dst []byte, m *metlog.Message) ([]byte, result) {
	name := output.MetricName(m)
	if name == "" {
		return dst, result{invalid: 1}
	}
	v, delta, ok := output.MetricValue(m)
	if !ok {
		return dst, result{invalid: 1}
	}
	start := len(dst)
	if o.cfg.Prefix != "" {
		dst = append(dst, o.cfg.Prefix...)
		dst = append(dst, '.')
	}
	dst = append(dst, m.Type...)
	dst = append(dst, "s."...)
	if o.cfg.LoggerNamespace && m.Logger != "" {
		dst = appendName(dst, m.Logger)
		dst = append(dst, '.')
	}
	dst = appendName(dst, name)
	switch m.Type {
	case metlog.TypeCounter:
		if rate, ok := output.SampleRate(m); ok {
			v /= rate
		}
	case metlog.TypeGauge:
		if delta {
			path := dst[start:]
			last, ok := o.pending[string(path)]
			if !ok {
				last = o.gauges[string(path)]
			}
			v += last
		}
	}
	if math.IsInf(v, 0) {
		// A sampled count or a gauge's sum beyond the range of a float64.
		return dst[:start], result{invalid: 1}
	}
	if m.Type == metlog.TypeGauge {
		o.pending[string(dst[start:])] = v
	}
	dst = append(dst, ' ')
	dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
	dst = append(dst, ' ')
	sec := m.Timestamp / 1e9
	if m.Timestamp <= 0 {
		sec = o.now().Unix()
	}
	dst = strconv.AppendInt(dst, sec, 10)
	dst = append(dst, '\n')
	return dst, result{lines: 1}
}

// appendName appends s as part of a metric path. Letters and digits (any
// script), '_', '-' and '.' are kept — a dot separates path levels — and
// every other character, including spaces, '/', ':' and ';' (Graphite's
// tag separator), becomes '_'. Invalid UTF-8 bytes become '_' too.
func appendName(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if isNameByte(c) {
				dst = append(dst, c)
			} else {
				dst = append(dst, '_')
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			dst = append(dst, s[i:i+size]...)
		} else {
			dst = append(dst, '_')
		}
		i += size
	}
	return dst
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '-' || c == '.'
}
