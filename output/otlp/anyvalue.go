package otlp

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/metlog/metlog"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

// fieldValue returns a field's values as an attribute value: a scalar for
// one value, an array for several, and the parsed JSON of a
// metlog.RepresentationJSON string.
func fieldValue(f *metlog.Field) *commonpb.AnyValue {
	if f.Type == metlog.TypeString && f.Representation == metlog.RepresentationJSON && len(f.Strings) == 1 {
		if v, ok := jsonValue([]byte(f.Strings[0])); ok {
			return v
		}
	}
	n := f.Len()
	if n == 1 {
		return scalar(f, 0)
	}
	vs := make([]*commonpb.AnyValue, n)
	for i := range n {
		vs[i] = scalar(f, i)
	}
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
}

func scalar(f *metlog.Field, i int) *commonpb.AnyValue {
	switch f.Type {
	case metlog.TypeString:
		return stringValue(f.Strings[i])
	case metlog.TypeBytes:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: f.Bytes[i]}}
	case metlog.TypeInteger:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: f.Integers[i]}}
	case metlog.TypeDouble:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f.Doubles[i]}}
	case metlog.TypeBool:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: f.Bools[i]}}
	}
	return &commonpb.AnyValue{}
}

func stringValue(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: validUTF8(s)}}
}

func intValue(i int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: i}}
}

// jsonValue parses JSON text into an attribute value: objects become
// key-value lists (keys sorted), integers that fit int64 ints, other
// numbers doubles, null no value.
func jsonValue(b []byte) (*commonpb.AnyValue, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return anyToValue(v, 0), true
}

func anyToValue(v any, depth int) *commonpb.AnyValue {
	if depth > 64 {
		return &commonpb.AnyValue{}
	}
	switch x := v.(type) {
	case string:
		return stringValue(x)
	case bool:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: x}}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return intValue(i)
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
	case []any:
		vs := make([]*commonpb.AnyValue, len(x))
		for i, e := range x {
			vs[i] = anyToValue(e, depth+1)
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
	case map[string]any:
		kvs := make([]*commonpb.KeyValue, 0, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			kvs = append(kvs, &commonpb.KeyValue{Key: validUTF8(k), Value: anyToValue(x[k], depth+1)})
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: kvs}}}
	}
	return &commonpb.AnyValue{}
}

// validUTF8 replaces invalid UTF-8 in s with U+FFFD: protobuf strings must
// be valid UTF-8, metlog strings need not be.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
