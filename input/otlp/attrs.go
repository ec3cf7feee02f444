package otlp

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/metlog/metlog"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

// fieldList builds the fields of one message. Single string values share
// one backing array, allocated once for the message.
type fieldList struct {
	fields []metlog.Field
	strs   []string
}

func newFieldList(n int) fieldList {
	return fieldList{fields: make([]metlog.Field, 0, n), strs: make([]string, 0, n)}
}

// str appends a string field. The Strings of earlier fields stay valid
// when strs grows: they keep the array they were cut from.
func (l *fieldList) str(name, v string) *metlog.Field {
	i := len(l.strs)
	l.strs = append(l.strs, v)
	l.fields = append(l.fields, metlog.Field{Name: name, Type: metlog.TypeString, Strings: l.strs[i : i+1 : i+1]})
	return &l.fields[len(l.fields)-1]
}

// attrs appends one field per attribute, named prefix+key, skipping the
// keys skip reports true for.
func (l *fieldList) attrs(prefix string, attrs []*commonpb.KeyValue, skip func(string) bool) {
	for _, kv := range attrs {
		if kv == nil || (skip != nil && skip(kv.Key)) {
			continue
		}
		name := kv.Key
		if prefix != "" {
			name = prefix + kv.Key
		}
		l.value(name, kv.Value, 0)
	}
}

// maxDepth bounds the nesting of key-value lists flattened into fields;
// deeper values are kept as JSON text.
const maxDepth = 8

// value appends v as the field name: a scalar as a typed field, an array of
// two or more values of one scalar type as an array field, a key-value
// list flattened to dotted names, and anything else (an empty, one-element
// or mixed array, an empty list, no value) as JSON text with
// metlog.RepresentationJSON, as metlog JSON keeps such values.
func (l *fieldList) value(name string, v *commonpb.AnyValue, depth int) {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		l.str(name, x.StringValue)
		return
	case *commonpb.AnyValue_IntValue:
		l.fields = append(l.fields, metlog.Int(name, x.IntValue))
		return
	case *commonpb.AnyValue_DoubleValue:
		l.fields = append(l.fields, metlog.Float(name, x.DoubleValue))
		return
	case *commonpb.AnyValue_BoolValue:
		l.fields = append(l.fields, metlog.Bool(name, x.BoolValue))
		return
	case *commonpb.AnyValue_BytesValue:
		l.fields = append(l.fields, metlog.Bytes(name, x.BytesValue))
		return
	case *commonpb.AnyValue_ArrayValue:
		if f, ok := arrayField(name, x.ArrayValue.GetValues()); ok {
			l.fields = append(l.fields, f)
			return
		}
	case *commonpb.AnyValue_KvlistValue:
		kvs := x.KvlistValue.GetValues()
		if len(kvs) > 0 && depth < maxDepth {
			for _, kv := range kvs {
				if kv != nil {
					l.value(name+"."+kv.Key, kv.Value, depth+1)
				}
			}
			return
		}
	}
	l.str(name, string(AppendJSON(nil, v))).Representation = metlog.RepresentationJSON
}

// arrayField makes an array field of values when there are at least two
// and all have the same scalar type.
func arrayField(name string, values []*commonpb.AnyValue) (metlog.Field, bool) {
	if len(values) < 2 {
		return metlog.Field{}, false
	}
	f := metlog.Field{Name: name}
	switch values[0].GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		f.Type = metlog.TypeString
	case *commonpb.AnyValue_IntValue:
		f.Type = metlog.TypeInteger
	case *commonpb.AnyValue_DoubleValue:
		f.Type = metlog.TypeDouble
	case *commonpb.AnyValue_BoolValue:
		f.Type = metlog.TypeBool
	case *commonpb.AnyValue_BytesValue:
		f.Type = metlog.TypeBytes
	default:
		return f, false
	}
	for _, v := range values {
		switch x := v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			if f.Type != metlog.TypeString {
				return f, false
			}
			f.Strings = append(f.Strings, x.StringValue)
		case *commonpb.AnyValue_IntValue:
			if f.Type != metlog.TypeInteger {
				return f, false
			}
			f.Integers = append(f.Integers, x.IntValue)
		case *commonpb.AnyValue_DoubleValue:
			if f.Type != metlog.TypeDouble {
				return f, false
			}
			f.Doubles = append(f.Doubles, x.DoubleValue)
		case *commonpb.AnyValue_BoolValue:
			if f.Type != metlog.TypeBool {
				return f, false
			}
			f.Bools = append(f.Bools, x.BoolValue)
		case *commonpb.AnyValue_BytesValue:
			if f.Type != metlog.TypeBytes {
				return f, false
			}
			f.Bytes = append(f.Bytes, x.BytesValue)
		default:
			return f, false
		}
	}
	return f, true
}

// AppendJSON appends v as JSON text: strings, numbers and booleans as
// such, bytes as base64 strings, arrays and key-value lists as arrays and
// objects, no value as null. Doubles that JSON cannot hold (NaN and the
// infinities) become the strings "NaN", "Infinity" and "-Infinity".
func AppendJSON(b []byte, v *commonpb.AnyValue) []byte {
	return appendJSON(b, v, 0)
}

func appendJSON(b []byte, v *commonpb.AnyValue, depth int) []byte {
	if depth > 64 {
		return append(b, "null"...)
	}
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return appendJSONString(b, x.StringValue)
	case *commonpb.AnyValue_IntValue:
		return strconv.AppendInt(b, x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		d := x.DoubleValue
		switch {
		case math.IsNaN(d):
			return append(b, `"NaN"`...)
		case math.IsInf(d, 1):
			return append(b, `"Infinity"`...)
		case math.IsInf(d, -1):
			return append(b, `"-Infinity"`...)
		}
		return strconv.AppendFloat(b, d, 'g', -1, 64)
	case *commonpb.AnyValue_BoolValue:
		return strconv.AppendBool(b, x.BoolValue)
	case *commonpb.AnyValue_BytesValue:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, x.BytesValue)
		return append(b, '"')
	case *commonpb.AnyValue_ArrayValue:
		b = append(b, '[')
		for i, e := range x.ArrayValue.GetValues() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e, depth+1)
		}
		return append(b, ']')
	case *commonpb.AnyValue_KvlistValue:
		b = append(b, '{')
		for i, kv := range x.KvlistValue.GetValues() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, kv.GetKey())
			b = append(b, ':')
			b = appendJSON(b, kv.GetValue(), depth+1)
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}
