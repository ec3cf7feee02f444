package parquet

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/metlog/metlog"
)

// row is one message as a Parquet row. The struct tags are the file schema;
// docs/parquet.md describes it column by column.
type row struct {
	Timestamp  int64             `parquet:"timestamp,timestamp(nanosecond:utc),delta"`
	UUID       string            `parquet:"uuid"`
	Type       string            `parquet:"type,dict"`
	Logger     string            `parquet:"logger,dict"`
	Severity   int32             `parquet:"severity"`
	Payload    string            `parquet:"payload"`
	EnvVersion string            `parquet:"env_version,dict"`
	Pid        int32             `parquet:"pid"`
	Hostname   string            `parquet:"hostname,dict"`
	FieldsJSON string            `parquet:"fields_json,json"`
	Fields     map[string]string `parquet:"fields"`
}

// fill sets r from m, reusing r's map and buf (the JSON scratch buffer).
func (r *row) fill(m *metlog.Message, buf []byte) []byte {
	r.Timestamp = m.Timestamp
	r.UUID = m.UUID.String()
	r.Type = utf8Text(m.Type)
	r.Logger = utf8Text(m.Logger)
	r.Severity = int32(m.Severity)
	r.Payload = utf8Text(m.Payload)
	r.EnvVersion = utf8Text(m.EnvVersion)
	r.Pid = m.Pid
	r.Hostname = utf8Text(m.Hostname)
	buf = appendFieldsJSON(buf[:0], m.Fields)
	r.FieldsJSON = string(buf)
	if r.Fields == nil {
		r.Fields = make(map[string]string, len(m.Fields))
	} else {
		clear(r.Fields)
	}
	for i := range m.Fields {
		f := &m.Fields[i]
		name := utf8Text(f.Name)
		if _, ok := r.Fields[name]; ok {
			continue // the first field of a name, as Fields[name] in the matcher
		}
		buf = appendFieldText(buf[:0], f)
		r.Fields[name] = utf8Text(string(buf))
	}
	return buf
}

// utf8Text returns s with invalid UTF-8 replaced by U+FFFD: Parquet
// strings are UTF-8, and engines reject files whose strings are not.
func utf8Text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// appendFieldText writes the value of f as the fields map holds it: a
// single value as text (strings as they are, numbers in decimal, bytes in
// standard base64, booleans as true or false), a RepresentationJSON string
// as its raw JSON, and a field of zero or several values as a JSON array.
func appendFieldText(dst []byte, f *metlog.Field) []byte {
	if f.Len() != 1 {
		return appendFieldJSON(dst, f)
	}
	switch f.Type {
	case metlog.TypeString:
		return append(dst, f.Strings[0]...)
	case metlog.TypeBytes:
		return base64.StdEncoding.AppendEncode(dst, f.Bytes[0])
	case metlog.TypeInteger:
		return strconv.AppendInt(dst, f.Integers[0], 10)
	case metlog.TypeDouble:
		return strconv.AppendFloat(dst, f.Doubles[0], 'g', -1, 64)
	case metlog.TypeBool:
		return strconv.AppendBool(dst, f.Bools[0])
	}
	return dst
}

// appendFieldsJSON writes fields as one flat JSON object keyed by field
// name (dotted names stay dotted, as the matcher addresses them). A name
// that repeats has an array with one entry per field of that name.
func appendFieldsJSON(dst []byte, fields []metlog.Field) []byte {
	dst = append(dst, '{')
	first := true
	for i := range fields {
		f := &fields[i]
		if seen(fields[:i], f.Name) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, f.Name)
		dst = append(dst, ':')
		if !seen(fields[i+1:], f.Name) {
			dst = appendFieldJSON(dst, f)
			continue
		}
		dst = append(dst, '[')
		for j := i; j < len(fields); j++ {
			if fields[j].Name != f.Name {
				continue
			}
			if j > i {
				dst = append(dst, ',')
			}
			dst = appendFieldJSON(dst, &fields[j])
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func seen(fields []metlog.Field, name string) bool {
	for i := range fields {
		if fields[i].Name == name {
			return true
		}
	}
	return false
}

// appendFieldJSON writes f's value as JSON: a scalar for one value, an
// array otherwise. A RepresentationJSON string that holds valid JSON is
// written as that JSON; doubles JSON cannot hold (NaN, ±Inf) are written
// as the strings "NaN", "Infinity" and "-Infinity".
func appendFieldJSON(dst []byte, f *metlog.Field) []byte {
	if f.Type == metlog.TypeString && f.Representation == metlog.RepresentationJSON &&
		len(f.Strings) == 1 && json.Valid([]byte(f.Strings[0])) {
		return append(dst, f.Strings[0]...)
	}
	n := f.Len()
	if n != 1 {
		dst = append(dst, '[')
	}
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		switch f.Type {
		case metlog.TypeString:
			dst = appendJSONString(dst, f.Strings[i])
		case metlog.TypeBytes:
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, f.Bytes[i])
			dst = append(dst, '"')
		case metlog.TypeInteger:
			dst = strconv.AppendInt(dst, f.Integers[i], 10)
		case metlog.TypeDouble:
			dst = appendJSONFloat(dst, f.Doubles[i])
		case metlog.TypeBool:
			dst = strconv.AppendBool(dst, f.Bools[i])
		}
	}
	if n != 1 {
		dst = append(dst, ']')
	}
	return dst
}

func appendJSONFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(dst, `"-Infinity"`...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// appendJSONString writes s as a JSON string. Non-ASCII text stays UTF-8;
// invalid UTF-8 bytes become U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
