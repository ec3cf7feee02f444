package metlog

import (
	"bytes"
	"math"
	"slices"
	"strconv"
)

// ValueType is the type of a field's values. The numbering is Heka's
// Field.ValueType, so it goes on the wire unchanged.
type ValueType uint8

// The value types. TypeString is the zero value, as in Heka.
const (
	TypeString  ValueType = 0
	TypeBytes   ValueType = 1
	TypeInteger ValueType = 2
	TypeDouble  ValueType = 3
	TypeBool    ValueType = 4
)

var valueTypeNames = [...]string{"string", "bytes", "integer", "double", "bool"}

// String returns "string", "bytes", "integer", "double" or "bool".
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return "ValueType(" + strconv.Itoa(int(t)) + ")"
}

// Representations with a meaning to metlog itself. Any other representation
// is free text, usually a unit ("ms", "B", "count").
const (
	// RepresentationJSON marks a string field whose single value is raw JSON
	// text: what a metlog JSON field held that has no typed equivalent
	// (null, an empty or mixed array, an array of one element, an integer
	// beyond int64, an empty object). The JSON encoder writes it back as is.
	RepresentationJSON = "json"
)

// PayloadTypeField is the name of the field that marks a message whose
// Payload is JSON text rather than a string: a metlog JSON message whose
// "payload" was a number, object or other non-string value. Its value is
// "json" and its representation RepresentationJSON. The name follows Heka's
// payload_type convention.
const PayloadTypeField = "payload_type"

// Field is one named, typed item of message metadata. It has the shape of
// Heka's protobuf Field: one value type and one or more values of it; only
// the slice matching Type is used. A field with a single value is a scalar.
type Field struct {
	// Name of the field. May be empty and may repeat within a message.
	Name string
	// Type says which of the value slices holds the values.
	Type ValueType
	// Representation is optional free text describing the values, such as a
	// unit ("ms") or RepresentationJSON.
	Representation string

	Strings  []string
	Bytes    [][]byte
	Integers []int64
	Doubles  []float64
	Bools    []bool
}

// String returns a string field.
func String(name, value string) Field {
	return Field{Name: name, Type: TypeString, Strings: []string{value}}
}

// Strings returns a string array field.
func Strings(name string, values ...string) Field {
	return Field{Name: name, Type: TypeString, Strings: values}
}

// Bytes returns a bytes field. The field keeps value; do not modify it.
func Bytes(name string, value []byte) Field {
	return Field{Name: name, Type: TypeBytes, Bytes: [][]byte{value}}
}

// Int returns an integer field.
func Int(name string, value int64) Field {
	return Field{Name: name, Type: TypeInteger, Integers: []int64{value}}
}

// Ints returns an integer array field.
func Ints(name string, values ...int64) Field {
	return Field{Name: name, Type: TypeInteger, Integers: values}
}

// Float returns a double field.
func Float(name string, value float64) Field {
	return Field{Name: name, Type: TypeDouble, Doubles: []float64{value}}
}

// Floats returns a double array field.
func Floats(name string, values ...float64) Field {
	return Field{Name: name, Type: TypeDouble, Doubles: values}
}

// Bool returns a bool field.
func Bool(name string, value bool) Field {
	return Field{Name: name, Type: TypeBool, Bools: []bool{value}}
}

// Bools returns a bool array field.
func Bools(name string, values ...bool) Field {
	return Field{Name: name, Type: TypeBool, Bools: values}
}

// WithRepresentation returns f with its representation set to r.
func (f Field) WithRepresentation(r string) Field {
	f.Representation = r
	return f
}

// Len returns the number of values the field holds.
func (f *Field) Len() int {
	switch f.Type {
	case TypeString:
		return len(f.Strings)
	case TypeBytes:
		return len(f.Bytes)
	case TypeInteger:
		return len(f.Integers)
	case TypeDouble:
		return len(f.Doubles)
	case TypeBool:
		return len(f.Bools)
	}
	return 0
}

// Value returns the i-th value as a Go value (string, []byte, int64,
// float64 or bool), or nil when there is none.
func (f *Field) Value(i int) any {
	if i < 0 || i >= f.Len() {
		return nil
	}
	switch f.Type {
	case TypeString:
		return f.Strings[i]
	case TypeBytes:
		return f.Bytes[i]
	case TypeInteger:
		return f.Integers[i]
	case TypeDouble:
		return f.Doubles[i]
	case TypeBool:
		return f.Bools[i]
	}
	return nil
}

// Clone returns a deep copy of f.
func (f Field) Clone() Field {
	f.Strings = slices.Clone(f.Strings)
	f.Integers = slices.Clone(f.Integers)
	f.Doubles = slices.Clone(f.Doubles)
	f.Bools = slices.Clone(f.Bools)
	if f.Bytes != nil {
		b := make([][]byte, len(f.Bytes))
		for i, v := range f.Bytes {
			b[i] = bytes.Clone(v)
		}
		f.Bytes = b
	}
	return f
}

// Equal reports whether f and o have the same name, type, representation
// and values. Doubles compare by bits (NaN equals NaN, 0 differs from -0);
// a nil and an empty value slice are equal.
func (f *Field) Equal(o *Field) bool {
	if f.Name != o.Name || f.Type != o.Type || f.Representation != o.Representation ||
		f.Len() != o.Len() {
		return false
	}
	switch f.Type {
	case TypeString:
		return slices.Equal(f.Strings, o.Strings)
	case TypeBytes:
		return slices.EqualFunc(f.Bytes, o.Bytes, bytes.Equal)
	case TypeInteger:
		return slices.Equal(f.Integers, o.Integers)
	case TypeDouble:
		return slices.EqualFunc(f.Doubles, o.Doubles, func(a, b float64) bool {
			return math.Float64bits(a) == math.Float64bits(b)
		})
	case TypeBool:
		return slices.Equal(f.Bools, o.Bools)
	}
	return true
}
