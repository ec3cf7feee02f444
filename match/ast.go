package match

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Node is one node of a parsed expression: *Const, *And, *Or or *Compare.
// Nodes are plain data; a translator (to SQL, say) walks them with a type
// switch and falls back to Matcher.Match for anything it cannot express.
type Node interface {
	// String returns the node in the matcher language, with parentheses
	// only where precedence needs them. Parsing it yields an equal tree.
	String() string
	node()
}

// Const is TRUE or FALSE.
type Const struct {
	Value bool
}

// And is Left && Right. && binds tighter than ||, and is evaluated left to
// right with short circuit.
type And struct {
	Left, Right Node
}

// Or is Left || Right, evaluated left to right with short circuit.
type Or struct {
	Left, Right Node
}

// Compare tests one message variable against a literal: Var Op Value. The
// parser only builds combinations the language allows; see the package
// documentation for which those are.
type Compare struct {
	Var   Var
	Op    Op
	Value Value
}

func (*Const) node()   {}
func (*And) node()     {}
func (*Or) node()      {}
func (*Compare) node() {}

// String returns "TRUE" or "FALSE".
func (c *Const) String() string {
	if c.Value {
		return "TRUE"
	}
	return "FALSE"
}

// String returns the conjunction, parenthesising || operands and a right
// operand that is itself an && (so that the printed form parses back to
// the same tree).
func (a *And) String() string {
	var b strings.Builder
	writeNode(&b, a)
	return b.String()
}

// String returns the disjunction, parenthesising a right operand that is
// itself an ||.
func (o *Or) String() string {
	var b strings.Builder
	writeNode(&b, o)
	return b.String()
}

// String returns the comparison, such as "Fields[name] =~ /^db\./".
func (c *Compare) String() string {
	var b strings.Builder
	writeNode(&b, c)
	return b.String()
}

func writeNode(b *strings.Builder, n Node) {
	switch n := n.(type) {
	case *Const:
		b.WriteString(n.String())
	case *And:
		writeOperand(b, n.Left, false)
		b.WriteString(" && ")
		writeOperand(b, n.Right, true)
	case *Or:
		writeNode(b, n.Left)
		b.WriteString(" || ")
		if _, ok := n.Right.(*Or); ok {
			b.WriteByte('(')
			writeNode(b, n.Right)
			b.WriteByte(')')
		} else {
			writeNode(b, n.Right)
		}
	case *Compare:
		n.Var.write(b)
		b.WriteByte(' ')
		b.WriteString(n.Op.String())
		b.WriteByte(' ')
		n.Value.write(b)
	default:
		b.WriteString("<nil>")
	}
}

// writeOperand writes an operand of &&: an || always needs parentheses, and
// so does an && on the right, to keep the tree's shape.
func writeOperand(b *strings.Builder, n Node, right bool) {
	_, isOr := n.(*Or)
	_, isAnd := n.(*And)
	if isOr || (right && isAnd) {
		b.WriteByte('(')
		writeNode(b, n)
		b.WriteByte(')')
		return
	}
	writeNode(b, n)
}

// Op is a comparison operator.
type Op uint8

// The comparison operators.
const (
	Eq       Op = iota + 1 // ==
	Ne                     // !=
	Lt                     // <
	Le                     // <=
	Gt                     // >
	Ge                     // >=
	Match                  // =~ (regular expression match)
	NotMatch               // !~ (negated regular expression match)
)

var opNames = [...]string{"", "==", "!=", "<", "<=", ">", ">=", "=~", "!~"}

// String returns the operator as written: "==", "=~", ...
func (o Op) String() string {
	if int(o) < len(opNames) && o != 0 {
		return opNames[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// relational reports whether o is one of == != < <= > >=.
func (o Op) relational() bool { return o >= Eq && o <= Ge }

// VarKind says which message variable a Var names.
type VarKind uint8

// The message variables. The first six are strings, the next three
// numbers; VarField is an element of Fields.
const (
	VarUuid       VarKind = iota + 1 // Uuid, compared as its canonical 36-character string
	VarType                          // Type
	VarLogger                        // Logger
	VarPayload                       // Payload
	VarEnvVersion                    // EnvVersion
	VarHostname                      // Hostname
	VarTimestamp                     // Timestamp, nanoseconds since the Unix epoch
	VarSeverity                      // Severity
	VarPid                           // Pid
	VarField                         // Fields[name][i][j]
)

var varNames = [...]string{"", "Uuid", "Type", "Logger", "Payload", "EnvVersion",
	"Hostname", "Timestamp", "Severity", "Pid", "Fields"}

// String returns the variable's name in the language ("Type", "Fields").
func (k VarKind) String() string {
	if int(k) < len(varNames) && k != 0 {
		return varNames[k]
	}
	return "VarKind(" + strconv.Itoa(int(k)) + ")"
}

// IsString reports whether k is one of the string headers (Uuid, Type,
// Logger, Payload, EnvVersion, Hostname).
func (k VarKind) IsString() bool { return k >= VarUuid && k <= VarHostname }

// IsNumeric reports whether k is one of the numeric headers (Timestamp,
// Severity, Pid).
func (k VarKind) IsNumeric() bool { return k >= VarTimestamp && k <= VarPid }

// Var is the left-hand side of a comparison: a message header or one value
// of a field.
type Var struct {
	Kind VarKind
	// Field is the field name, for VarField. It may contain dots
	// ("headers.path", a flattened metlog JSON object) and may be empty.
	Field string
	// FieldIndex selects among fields that share the name (0 is the
	// first), for VarField.
	FieldIndex int
	// ArrayIndex selects the value within that field (0 is the first),
	// for VarField.
	ArrayIndex int
}

// String returns the variable as written in canonical form: "Severity",
// "Fields[name]", "Fields[name][1]", "Fields['a b'][0][2]".
func (v Var) String() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

func (v Var) write(b *strings.Builder) {
	b.WriteString(v.Kind.String())
	if v.Kind != VarField {
		return
	}
	b.WriteByte('[')
	if bareName(v.Field) {
		b.WriteString(v.Field)
	} else {
		writeQuoted(b, v.Field)
	}
	b.WriteByte(']')
	if v.FieldIndex != 0 || v.ArrayIndex != 0 {
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(v.FieldIndex))
		b.WriteByte(']')
	}
	if v.ArrayIndex != 0 {
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(v.ArrayIndex))
		b.WriteByte(']')
	}
}

// ValueKind says what kind of literal a Value is.
type ValueKind uint8

// The literal kinds.
const (
	ValueString ValueKind = iota + 1 // 'text' or "text"
	ValueNumber                      // 42, -1.5, 1e9
	ValueTime                        // a quoted RFC 3339 time compared with Timestamp
	ValueBool                        // TRUE or FALSE
	ValueNil                         // NIL
	ValueRegexp                      // /re2 source/
)

var valueKindNames = [...]string{"", "string", "number", "time", "bool", "nil", "regexp"}

// String returns "string", "number", "time", "bool", "nil" or "regexp".
func (k ValueKind) String() string {
	if int(k) < len(valueKindNames) && k != 0 {
		return valueKindNames[k]
	}
	return "ValueKind(" + strconv.Itoa(int(k)) + ")"
}

// Value is the literal on the right-hand side of a comparison.
type Value struct {
	Kind ValueKind
	// Str is the text of a ValueString (quotes removed, escapes resolved),
	// the RE2 source of a ValueRegexp (with "\/" resolved to "/"), or the
	// RFC 3339 text of a ValueTime as written.
	Str string
	// Int is the value of a ValueNumber when IsInt, and the time of a
	// ValueTime in nanoseconds since the Unix epoch.
	Int int64
	// IsInt reports that a ValueNumber was written as an integer that fits
	// in an int64; integer variables then compare exactly against Int.
	IsInt bool
	// Float is the value of a ValueNumber as a float64 (rounded, for an
	// integer beyond 2^53).
	Float float64
	// Bool is the value of a ValueBool.
	Bool bool
}

// String returns the literal as it would be written: a single-quoted
// string, a number, /regexp/, TRUE, FALSE or NIL.
func (v Value) String() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

func (v Value) write(b *strings.Builder) {
	switch v.Kind {
	case ValueString, ValueTime:
		writeQuoted(b, v.Str)
	case ValueNumber:
		if v.IsInt {
			b.WriteString(strconv.FormatInt(v.Int, 10))
			return
		}
		s := strconv.FormatFloat(v.Float, 'g', -1, 64)
		b.WriteString(s)
		if !strings.ContainsAny(s, ".eEnN") {
			b.WriteString(".0") // stays a float literal when parsed again
		}
	case ValueBool:
		if v.Bool {
			b.WriteString("TRUE")
		} else {
			b.WriteString("FALSE")
		}
	case ValueNil:
		b.WriteString("NIL")
	case ValueRegexp:
		writeRegexp(b, v.Str)
	default:
		b.WriteString("<invalid>")
	}
}

// writeQuoted writes s as a single-quoted literal that the lexer reads back
// as s: backslash, quote, control characters, non-printing runes and bytes
// of invalid UTF-8 are escaped.
func writeQuoted(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('\'')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&0xf])
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80 && !unicode.IsPrint(r):
			b.WriteString(`\x`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		case !unicode.IsPrint(r):
			if r > 0xffff {
				b.WriteString(`\U`)
				b.WriteString(leftPad(strconv.FormatInt(int64(r), 16), 8))
			} else {
				b.WriteString(`\u`)
				b.WriteString(leftPad(strconv.FormatInt(int64(r), 16), 4))
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('\'')
}

func leftPad(s string, n int) string {
	return strings.Repeat("0", n-len(s)) + s
}

// writeRegexp writes an RE2 source between slashes, escaping each slash
// that is not already part of a backslash escape.
func writeRegexp(b *strings.Builder, src string) {
	b.WriteByte('/')
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\\' && i+1 < len(src):
			b.WriteByte(c)
			i++
			b.WriteByte(src[i])
		case c == '/':
			b.WriteString(`\/`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('/')
}

// bareName reports whether a field name can be written without quotes.
func bareName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !bareRune(r) {
			return false
		}
	}
	return true
}

// bareRune reports whether r may appear in an unquoted field name.
func bareRune(r rune) bool {
	switch r {
	case '[', ']', '\'', '"', '\\', utf8.RuneError:
		return false
	}
	return unicode.IsPrint(r) && !unicode.IsSpace(r)
}
