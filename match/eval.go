package match

import (
	"bytes"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/metlog/metlog"
)

// compileCompare turns one comparison into a test specialised for its
// variable and literal. The parser has checked the combination; anything
// else is reported as an error rather than guessed at.
func compileCompare(c *Compare) (pred, error) {
	v, op, val := c.Var, c.Op, c.Value
	switch {
	case v.Kind == VarField:
		return fieldPred(v, op, val)
	case v.Kind == VarUuid && (val.Kind == ValueString || val.Kind == ValueRegexp):
		return uuidPred(op, val)
	case v.Kind.IsString() && (val.Kind == ValueString || val.Kind == ValueRegexp):
		t, err := newStrTest(op, val)
		if err != nil {
			return pred{}, err
		}
		var get func(*metlog.Message) string
		switch v.Kind {
		case VarType:
			if op == Eq {
				lit := val.Str
				return pred{fn: func(m *metlog.Message) bool { return m.Type == lit }}, nil
			}
			get = func(m *metlog.Message) string { return m.Type }
		case VarLogger:
			get = func(m *metlog.Message) string { return m.Logger }
		case VarPayload:
			get = func(m *metlog.Message) string { return m.Payload }
		case VarEnvVersion:
			get = func(m *metlog.Message) string { return m.EnvVersion }
		default:
			get = func(m *metlog.Message) string { return m.Hostname }
		}
		return pred{fn: func(m *metlog.Message) bool { return t.str(get(m)) }}, nil
	case v.Kind.IsNumeric() && op.relational() &&
		(val.Kind == ValueNumber || val.Kind == ValueTime && v.Kind == VarTimestamp):
		n := numberOf(val)
		switch v.Kind {
		case VarTimestamp:
			return pred{fn: func(m *metlog.Message) bool { return opResult(op, cmpInt(m.Timestamp, &n)) }}, nil
		case VarSeverity:
			if n.isInt && op == Le {
				return pred{fn: func(m *metlog.Message) bool { return int64(m.Severity) <= n.i }}, nil
			}
			return pred{fn: func(m *metlog.Message) bool { return opResult(op, cmpInt(int64(m.Severity), &n)) }}, nil
		default:
			return pred{fn: func(m *metlog.Message) bool { return opResult(op, cmpInt(int64(m.Pid), &n)) }}, nil
		}
	}
	return pred{}, fmt.Errorf("match: cannot compile %s", c)
}

// fieldPred tests Fields[name][i][j]. A missing field or value is only
// ever equal to NIL; a value of a type the literal cannot compare with
// makes the comparison false, whatever the operator.
func fieldPred(v Var, op Op, val Value) (pred, error) {
	name, fi, ai := v.Field, v.FieldIndex, v.ArrayIndex
	switch val.Kind {
	case ValueNil:
		want := op == Ne // exists
		return pred{fn: func(m *metlog.Message) bool {
			f := m.FieldN(name, fi)
			return (f != nil && ai < f.Len()) == want
		}}, nil
	case ValueString, ValueRegexp:
		t, err := newStrTest(op, val)
		if err != nil {
			return pred{}, err
		}
		return pred{fn: func(m *metlog.Message) bool {
			f := m.FieldN(name, fi)
			if f == nil {
				return false
			}
			switch f.Type {
			case metlog.TypeString:
				return ai < len(f.Strings) && t.str(f.Strings[ai])
			case metlog.TypeBytes:
				return ai < len(f.Bytes) && t.bytes(f.Bytes[ai])
			}
			return false
		}}, nil
	case ValueNumber:
		if !op.relational() {
			break
		}
		n := numberOf(val)
		return pred{fn: func(m *metlog.Message) bool {
			f := m.FieldN(name, fi)
			if f == nil {
				return false
			}
			switch f.Type {
			case metlog.TypeInteger:
				return ai < len(f.Integers) && opResult(op, cmpInt(f.Integers[ai], &n))
			case metlog.TypeDouble:
				return ai < len(f.Doubles) && opResult(op, cmpFloat(f.Doubles[ai], &n))
			}
			return false
		}}, nil
	case ValueBool:
		if op != Eq && op != Ne {
			break
		}
		want, eq := val.Bool, op == Eq
		return pred{fn: func(m *metlog.Message) bool {
			f := m.FieldN(name, fi)
			return f != nil && f.Type == metlog.TypeBool && ai < len(f.Bools) && (f.Bools[ai] == want) == eq
		}}, nil
	}
	return pred{}, fmt.Errorf("match: cannot compile %s %s %s", v, op, val)
}

// uuidBufs holds buffers for the text of a UUID handed to a regexp, which
// would otherwise escape to the heap on every match.
var uuidBufs = sync.Pool{New: func() any { return new([36]byte) }}

// uuidPred tests the canonical text of the UUID. Equality with a literal
// that is a canonical UUID compares the 16 bytes; equality with anything
// else is known to fail.
func uuidPred(op Op, val Value) (pred, error) {
	if op == Eq || op == Ne {
		u, err := metlog.ParseUUID(val.Str)
		if err != nil || u.String() != val.Str {
			return constPred(op == Ne), nil
		}
		eq := op == Eq
		return pred{fn: func(m *metlog.Message) bool { return (m.UUID == u) == eq }}, nil
	}
	t, err := newStrTest(op, val)
	if err != nil {
		return pred{}, err
	}
	if t.re != nil {
		neg := op == NotMatch
		return pred{fn: func(m *metlog.Message) bool {
			buf := uuidBufs.Get().(*[36]byte)
			ok := t.re.Match(m.UUID.AppendText(buf[:0]))
			uuidBufs.Put(buf)
			return ok != neg
		}}, nil
	}
	return pred{fn: func(m *metlog.Message) bool {
		var buf [36]byte
		return t.text(m.UUID.AppendText(buf[:0]))
	}}, nil
}

// shape is how a regular expression is run.
type shape uint8

const (
	shapeRegexp   shape = iota // run the regexp
	shapeContains              // an unanchored literal
	shapePrefix                // ^literal
	shapeSuffix                // literal$
	shapeEqual                 // ^literal$
)

// strTest compares a string (or the bytes of a bytes field) with a literal
// or regular expression.
type strTest struct {
	op    Op
	lit   string         // the string literal, or a regexp's literal
	litb  []byte         // lit, for bytes values
	shape shape          // for =~ and !~
	re    *regexp.Regexp // for shapeRegexp
}

func newStrTest(op Op, val Value) (*strTest, error) {
	t := &strTest{op: op, lit: val.Str}
	if val.Kind == ValueRegexp {
		t.shape, t.lit = regexpShape(val.Str)
		if t.shape == shapeRegexp {
			re, err := regexp.Compile(val.Str)
			if err != nil {
				return nil, fmt.Errorf("match: %w", err)
			}
			t.re = re
		}
	}
	t.litb = []byte(t.lit)
	return t, nil
}

// regexpShape recognises regular expressions that are a plain literal,
// optionally anchored at the start or end of the text, which are matched
// without running the regexp.
func regexpShape(src string) (shape, string) {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return shapeRegexp, ""
	}
	subs := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		subs = re.Sub
	}
	begin := len(subs) > 0 && subs[0].Op == syntax.OpBeginText
	if begin {
		subs = subs[1:]
	}
	end := len(subs) > 0 && subs[len(subs)-1].Op == syntax.OpEndText
	if end {
		subs = subs[:len(subs)-1]
	}
	lit := ""
	switch len(subs) {
	case 0:
	case 1:
		s := subs[0]
		if s.Op != syntax.OpLiteral || s.Flags&syntax.FoldCase != 0 {
			return shapeRegexp, ""
		}
		lit = string(s.Rune)
		if strings.ContainsRune(lit, utf8.RuneError) {
			// The regexp also matches invalid UTF-8 with U+FFFD.
			return shapeRegexp, ""
		}
	default:
		return shapeRegexp, ""
	}
	switch {
	case begin && end:
		return shapeEqual, lit
	case begin:
		return shapePrefix, lit
	case end:
		return shapeSuffix, lit
	}
	return shapeContains, lit
}

func (t *strTest) str(s string) bool {
	switch t.op {
	case Eq:
		return s == t.lit
	case Ne:
		return s != t.lit
	case Lt:
		return s < t.lit
	case Le:
		return s <= t.lit
	case Gt:
		return s > t.lit
	case Ge:
		return s >= t.lit
	}
	var ok bool
	switch t.shape {
	case shapeRegexp:
		ok = t.re.MatchString(s)
	case shapeContains:
		ok = strings.Contains(s, t.lit)
	case shapePrefix:
		ok = strings.HasPrefix(s, t.lit)
	case shapeSuffix:
		ok = strings.HasSuffix(s, t.lit)
	case shapeEqual:
		ok = s == t.lit
	}
	return ok != (t.op == NotMatch)
}

func (t *strTest) bytes(b []byte) bool {
	if t.shape == shapeRegexp && t.re != nil {
		return t.re.Match(b) != (t.op == NotMatch)
	}
	return t.text(b)
}

// text is bytes without the regexp case, so that b does not escape and a
// caller's stack buffer stays on the stack.
func (t *strTest) text(b []byte) bool {
	switch t.op {
	case Eq:
		return string(b) == t.lit
	case Ne:
		return string(b) != t.lit
	case Lt:
		return bytes.Compare(b, t.litb) < 0
	case Le:
		return bytes.Compare(b, t.litb) <= 0
	case Gt:
		return bytes.Compare(b, t.litb) > 0
	case Ge:
		return bytes.Compare(b, t.litb) >= 0
	}
	var ok bool
	switch t.shape {
	case shapeContains:
		ok = bytes.Contains(b, t.litb)
	case shapePrefix:
		ok = bytes.HasPrefix(b, t.litb)
	case shapeSuffix:
		ok = bytes.HasSuffix(b, t.litb)
	case shapeEqual:
		ok = string(b) == t.lit
	}
	return ok != (t.op == NotMatch)
}

// number is a numeric literal (or a time, as nanoseconds).
type number struct {
	i     int64
	f     float64
	isInt bool
}

func numberOf(v Value) number {
	if v.Kind == ValueTime {
		return number{i: v.Int, f: float64(v.Int), isInt: true}
	}
	return number{i: v.Int, f: v.Float, isInt: v.IsInt}
}

// unordered is the outcome of comparing with NaN.
const unordered = 2

// cmpInt compares v with n exactly: -1, 0, +1 or unordered.
func cmpInt(v int64, n *number) int {
	if n.isInt {
		switch {
		case v < n.i:
			return -1
		case v > n.i:
			return 1
		}
		return 0
	}
	return cmpIntFloat(v, n.f)
}

// cmpFloat compares v with n exactly: -1, 0, +1 or unordered.
func cmpFloat(v float64, n *number) int {
	if n.isInt {
		c := cmpIntFloat(n.i, v)
		if c == unordered {
			return c
		}
		return -c
	}
	switch {
	case v < n.f:
		return -1
	case v > n.f:
		return 1
	case v == n.f:
		return 0
	}
	return unordered
}

// cmpIntFloat compares an int64 with a float64 without the rounding of
// converting either to the other's type.
func cmpIntFloat(i int64, f float64) int {
	const two63 = 9223372036854775808.0
	switch {
	case f != f:
		return unordered
	case f >= two63:
		return -1
	case f < -two63:
		return 1
	}
	t := int64(f) // exact: |f| < 2^63, truncated toward zero
	switch {
	case i < t:
		return -1
	case i > t:
		return 1
	}
	frac := f - float64(t) // exact
	switch {
	case frac > 0:
		return -1
	case frac < 0:
		return 1
	}
	return 0
}

// opResult applies a relational operator to the outcome of a comparison.
func opResult(op Op, c int) bool {
	switch op {
	case Eq:
		return c == 0
	case Ne:
		return c != 0
	case Lt:
		return c == -1
	case Le:
		return c == -1 || c == 0
	case Gt:
		return c == 1
	case Ge:
		return c == 1 || c == 0
	}
	return false
}
