package output

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/metlog/metlog"
)

// DefaultTemplate is the line the text format writes when none is configured.
const DefaultTemplate = "{timestamp} {logger} {severity} {payload}"

// Text formats messages as one line each from a template of literal text
// and placeholders in braces:
//
//	{timestamp}      RFC 3339 UTC with nanoseconds, "2026-11-22T01:49:29.187659Z"
//	{timestamp_ns}   nanoseconds since the epoch
//	{type} {logger} {payload} {hostname} {env_version} {pid} {uuid}
//	{severity}       the syslog name, "INFO"
//	{severity_num}   the number, 6
//	{fields}         every field as name=value, space separated
//	{fields.NAME}    the values of the first field called NAME, comma separated
//	{{ and }}        literal braces
//
// Newlines and other control characters in values are escaped (\n, \t,
// \x01) so that one message is always one line.
type Text struct {
	ops []textOp
}

type textOp struct {
	kind    textKind
	literal string // for opLiteral; field name for opField
}

type textKind uint8

const (
	opLiteral textKind = iota
	opTimestamp
	opTimestampNS
	opType
	opLogger
	opPayload
	opHostname
	opEnvVersion
	opPid
	opUUID
	opSeverity
	opSeverityNum
	opFields
	opField
)

var textPlaceholders = map[string]textKind{
	"timestamp": opTimestamp, "timestamp_ns": opTimestampNS, "type": opType,
	"logger": opLogger, "payload": opPayload, "hostname": opHostname,
	"env_version": opEnvVersion, "pid": opPid, "uuid": opUUID,
	"severity": opSeverity, "severity_num": opSeverityNum, "fields": opFields,
}

// ParseText compiles a text template; "" means DefaultTemplate.
func ParseText(tmpl string) (*Text, error) {
	if tmpl == "" {
		tmpl = DefaultTemplate
	}
	t := &Text{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.ops = append(t.ops, textOp{kind: opLiteral, literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		switch {
		case c == '{' && strings.HasPrefix(tmpl[i:], "{{"):
			lit.WriteByte('{')
			i++
		case c == '}' && strings.HasPrefix(tmpl[i:], "}}"):
			lit.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(tmpl[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("template column %d: '{' without a closing '}'", i+1)
			}
			name := tmpl[i+1 : i+end]
			flush()
			if f, ok := strings.CutPrefix(name, "fields."); ok && f != "" {
				t.ops = append(t.ops, textOp{kind: opField, literal: f})
			} else if k, ok := textPlaceholders[name]; ok {
				t.ops = append(t.ops, textOp{kind: k})
			} else {
				return nil, fmt.Errorf("template column %d: unknown placeholder {%s}", i+1, name)
			}
			i += end
		case c == '}':
			return nil, fmt.Errorf("template column %d: '}' without an opening '{' (write }} for a literal brace)", i+1)
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return t, nil
}

// Append writes m as one line, with its trailing newline, to dst.
func (t *Text) Append(dst []byte, m *metlog.Message) []byte {
	for _, op := range t.ops {
		switch op.kind {
		case opLiteral:
			dst = append(dst, op.literal...)
		case opTimestamp:
			dst = time.Unix(0, m.Timestamp).UTC().AppendFormat(dst, time.RFC3339Nano)
		case opTimestampNS:
			dst = strconv.AppendInt(dst, m.Timestamp, 10)
		case opType:
			dst = appendEscaped(dst, m.Type)
		case opLogger:
			dst = appendEscaped(dst, m.Logger)
		case opPayload:
			dst = appendEscaped(dst, m.Payload)
		case opHostname:
			dst = appendEscaped(dst, m.Hostname)
		case opEnvVersion:
			dst = appendEscaped(dst, m.EnvVersion)
		case opPid:
			dst = strconv.AppendInt(dst, int64(m.Pid), 10)
		case opUUID:
			dst = m.UUID.AppendText(dst)
		case opSeverity:
			dst = append(dst, m.Severity.String()...)
		case opSeverityNum:
			dst = strconv.AppendInt(dst, int64(m.Severity), 10)
		case opFields:
			for i := range m.Fields {
				if i > 0 {
					dst = append(dst, ' ')
				}
				dst = appendEscaped(dst, m.Fields[i].Name)
				dst = append(dst, '=')
				dst = appendValues(dst, &m.Fields[i])
			}
		case opField:
			if f := m.Field(op.literal); f != nil {
				dst = appendValues(dst, f)
			}
		}
	}
	return append(dst, '\n')
}

// appendValues writes a field's values, comma separated.
func appendValues(dst []byte, f *metlog.Field) []byte {
	for i := range f.Len() {
		if i > 0 {
			dst = append(dst, ',')
		}
		switch f.Type {
		case metlog.TypeString:
			dst = appendEscaped(dst, f.Strings[i])
		case metlog.TypeBytes:
			dst = strconv.AppendQuote(dst, string(f.Bytes[i]))
		case metlog.TypeInteger:
			dst = strconv.AppendInt(dst, f.Integers[i], 10)
		case metlog.TypeDouble:
			dst = strconv.AppendFloat(dst, f.Doubles[i], 'g', -1, 64)
		case metlog.TypeBool:
			dst = strconv.AppendBool(dst, f.Bools[i])
		}
	}
	return dst
}

// appendEscaped writes s with control characters and invalid UTF-8
// escaped, so that a value can never break a line.
func appendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != 0x7f {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size > 1 {
				i += size
				continue
			}
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '\n':
			dst = append(dst, `\n`...)
		case '\r':
			dst = append(dst, `\r`...)
		case '\t':
			dst = append(dst, `\t`...)
		default:
			dst = append(dst, `\x`...)
			dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		}
		i++
		start = i
	}
	return append(dst, s[start:]...)
}
