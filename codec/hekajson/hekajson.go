package hekajson

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
)

// fieldsPrefix is the prefix of the fields metlog JSON makes of the
// members of a Heka "Fields" object.
const fieldsPrefix = "@Fields."

// Decode decodes one Heka JSON object into m with the default metlog JSON
// limits, reusing m's storage as metlogjson.Decode does. The error, if
// any, is a *metlogjson.Error.
func Decode(data []byte, m *metlog.Message) error {
	return DecodeLimits(metlogjson.Limits{}, data, m)
}

// DecodeLimits is Decode with limits.
func DecodeLimits(lim metlogjson.Limits, data []byte, m *metlog.Message) error {
	if err := lim.Decode(data, m); err != nil {
		return err
	}
	Lift(m)
	return nil
}

// Detect reports whether m, decoded as metlog JSON, was a Heka JSON object:
// it has none of metlog's envelope keys and at least one field made of a
// capitalised Heka key (such as "@Timestamp" or "@Fields.name"). It returns
// at once for a message with a Type, so it costs metlog JSON nothing.
func Detect(m *metlog.Message) bool {
	if m.Type != "" || m.Logger != "" || m.Payload != "" || m.Timestamp != 0 ||
		m.Hostname != "" || m.EnvVersion != "" || m.Pid != 0 || !m.UUID.IsZero() {
		return false
	}
	for i := range m.Fields {
		name := m.Fields[i].Name
		if len(name) < 2 || name[0] != '@' {
			continue
		}
		if strings.HasPrefix(name, fieldsPrefix) {
			return true
		}
		switch name[1:] {
		case "Uuid", "Timestamp", "Type", "Logger", "Severity", "Payload", "EnvVersion", "Pid", "Hostname", "Fields":
			return true
		}
	}
	return false
}

// Lift moves the fields a Heka JSON object's keys became, decoded as metlog
// JSON, into m's envelope, and renames the members of "Fields" to their
// own names. Fields whose values do not fit the envelope stay as they are.
// See the package documentation for the mapping.
func Lift(m *metlog.Message) {
	out := m.Fields[:0]
	payloadJSON := false
	for i := range m.Fields {
		f := &m.Fields[i]
		keep := true
		switch name := f.Name; {
		case strings.HasPrefix(name, fieldsPrefix):
			f.Name = name[len(fieldsPrefix):]
		case len(name) > 1 && name[0] == '@':
			keep, payloadJSON = lift(m, name[1:], f, payloadJSON)
		}
		if keep {
			if len(out) != i {
				out = append(out, *f)
			} else {
				out = out[:i+1]
			}
		}
	}
	clear(m.Fields[len(out):])
	m.Fields = out
	if payloadJSON {
		m.Fields = append(m.Fields, metlog.String(metlog.PayloadTypeField, "json").WithRepresentation(metlog.RepresentationJSON))
	}
}

// lift sets the envelope value named key from f, reporting whether f must
// stay a field, and whether the payload is JSON text.
func lift(m *metlog.Message, key string, f *metlog.Field, payloadJSON bool) (keep, isJSON bool) {
	if isNull(f) {
		switch key {
		case "Uuid", "Timestamp", "Type", "Logger", "Severity", "Payload", "EnvVersion", "Pid", "Hostname", "Fields":
			return false, payloadJSON
		}
		return true, payloadJSON
	}
	s, isString := plainString(f)
	switch key {
	case "Uuid":
		if !isString {
			return true, payloadJSON
		}
		u, err := metlog.ParseUUID(s)
		if err != nil {
			return true, payloadJSON
		}
		m.UUID = u
	case "Timestamp":
		ts, ok := timestamp(f)
		if !ok {
			return true, payloadJSON
		}
		m.Timestamp = ts
	case "Type", "Logger", "EnvVersion", "Hostname":
		if !isString {
			return true, payloadJSON
		}
		switch key {
		case "Type":
			m.Type = s
		case "Logger":
			m.Logger = s
		case "EnvVersion":
			m.EnvVersion = s
		default:
			m.Hostname = s
		}
	case "Severity", "Pid":
		v, ok := int32Value(f)
		if !ok {
			return true, payloadJSON
		}
		if key == "Severity" {
			m.Severity = metlog.Severity(v)
		} else {
			m.Pid = v
		}
	case "Payload":
		switch {
		case isString:
			m.Payload = s
			return false, false
		case f.Len() != 1:
			return true, payloadJSON
		case f.Type == metlog.TypeString && f.Representation == metlog.RepresentationJSON:
			m.Payload = f.Strings[0]
		case f.Type == metlog.TypeInteger:
			m.Payload = strconv.FormatInt(f.Integers[0], 10)
		case f.Type == metlog.TypeBool:
			m.Payload = strconv.FormatBool(f.Bools[0])
		default:
			return true, payloadJSON
		}
		return false, true
	case "Fields":
		// An empty object: no members to rename.
		return !(f.Type == metlog.TypeString && f.Representation == metlog.RepresentationJSON && f.Len() == 1 && f.Strings[0] == "{}"), payloadJSON
	default:
		return true, payloadJSON
	}
	return false, payloadJSON
}

// isNull reports whether f holds a JSON null.
func isNull(f *metlog.Field) bool {
	return f.Type == metlog.TypeString && f.Representation == metlog.RepresentationJSON && len(f.Strings) == 1 && f.Strings[0] == "null"
}

// plainString returns f's value if it is a single string that is not raw
// JSON.
func plainString(f *metlog.Field) (string, bool) {
	if f.Type != metlog.TypeString || f.Representation != "" || len(f.Strings) != 1 {
		return "", false
	}
	return f.Strings[0], true
}

func int32Value(f *metlog.Field) (int32, bool) {
	if f.Type != metlog.TypeInteger || len(f.Integers) != 1 || f.Representation != "" {
		return 0, false
	}
	v := f.Integers[0]
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

// timestamp reads a Timestamp value: a number whose unit is chosen by its
// magnitude, or an RFC 3339 string.
func timestamp(f *metlog.Field) (int64, bool) {
	if f.Representation != "" {
		return 0, false
	}
	switch {
	case f.Type == metlog.TypeInteger && len(f.Integers) == 1:
		return scaleInt(f.Integers[0])
	case f.Type == metlog.TypeDouble && len(f.Doubles) == 1:
		return scaleFloat(f.Doubles[0])
	case f.Type == metlog.TypeString && len(f.Strings) == 1:
		t, err := time.Parse(time.RFC3339Nano, f.Strings[0])
		if err != nil {
			return 0, false
		}
		if y := t.Year(); y < 1678 || y > 2261 {
			return 0, false
		}
		return t.UnixNano(), true
	}
	return 0, false
}

// scaleInt converts seconds, milliseconds, microseconds or nanoseconds,
// told apart by magnitude, to nanoseconds.
func scaleInt(v int64) (int64, bool) {
	a := v
	if a < 0 {
		if a == math.MinInt64 {
			return v, true
		}
		a = -a
	}
	var mul int64
	switch {
	case a < 1e11:
		mul = 1e9
	case a < 1e14:
		mul = 1e6
	case a < 1e17:
		mul = 1e3
	default:
		return v, true
	}
	if a > math.MaxInt64/mul {
		return 0, false
	}
	return v * mul, true
}

// scaleFloat is scaleInt for a number with a fraction or exponent.
func scaleFloat(v float64) (int64, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	a := math.Abs(v)
	switch {
	case a < 1e11:
		v *= 1e9
	case a < 1e14:
		v *= 1e6
	case a < 1e17:
		v *= 1e3
	}
	if v >= math.MaxInt64 || v < math.MinInt64 {
		return 0, false
	}
	return int64(math.Round(v)), true
}
