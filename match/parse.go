package match

import (
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
)

// Parse parses expr into its syntax tree, checking everything Compile
// checks: syntax, the types on either side of each comparison, regular
// expressions and the limits. The tree is as written (only parentheses are
// gone); Matcher.Expr returns the simplified tree a Matcher runs.
//
// Errors are *Error, naming the column and what was expected.
func Parse(expr string) (Node, error) {
	if len(expr) > MaxLen {
		return nil, &Error{
			Msg: "expression is " + strconv.Itoa(len(expr)) + " bytes long; the limit is " + strconv.Itoa(MaxLen),
			Err: ErrLimit,
		}
	}
	p := &parser{lx: lexer{src: expr}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	n, err := p.or("")
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		hint := ""
		if p.tok.kind == tIdent && (strings.EqualFold(p.tok.text, "and") || strings.EqualFold(p.tok.text, "or")) {
			hint = spellingHint(p.tok.text)
		}
		return nil, p.expected(p.tok, "'&&', '||' or end of expression", hint)
	}
	return n, nil
}

// parser is a recursive-descent parser over the lexer's tokens:
//
//	or      = and { "||" and }
//	and     = operand { "&&" operand }
//	operand = "(" or ")" | "TRUE" | "FALSE" | compare
type parser struct {
	lx    lexer
	tok   token // the current token
	depth int   // parentheses open around the current token
	insts int   // instructions of the regular expressions so far
	terms int   // comparisons, TRUE and FALSE so far
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// expected reports that want was expected where t was found.
func (p *parser) expected(t token, want, hint string) *Error {
	msg := "expected " + want + " (got " + t.describe(p.lx.src) + ")"
	if hint != "" {
		msg += "; " + hint
	}
	return errorAt(p.lx.src, t.pos, msg)
}

func (p *parser) or(after string) (Node, error) {
	left, err := p.and(after)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tOr {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := p.and(" after '||'")
		if err != nil {
			return nil, err
		}
		left = &Or{Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) and(after string) (Node, error) {
	left, err := p.operand(after)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tAnd {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := p.operand(" after '&&'")
		if err != nil {
			return nil, err
		}
		left = &And{Left: left, Right: right}
	}
	return left, nil
}

// operand parses a parenthesised expression, TRUE, FALSE or a comparison;
// after says where it stands, for the error message.
func (p *parser) operand(after string) (Node, error) {
	t := p.tok
	switch t.kind {
	case tLParen:
		if p.depth >= MaxDepth {
			err := errorAt(p.lx.src, t.pos, "parentheses nest deeper than "+strconv.Itoa(MaxDepth)+" levels")
			err.Err = ErrLimit
			return nil, err
		}
		p.depth++
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.or(" after '('")
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			col := errorAt(p.lx.src, t.pos, "").Column
			return nil, p.expected(p.tok, "')' closing the '(' at column "+strconv.Itoa(col), "")
		}
		p.depth--
		return n, p.advance()
	case tIdent:
		if p.terms++; p.terms > MaxTerms {
			err := errorAt(p.lx.src, t.pos, "more than "+strconv.Itoa(MaxTerms)+" comparisons; split the expression or use a regular expression")
			err.Err = ErrLimit
			return nil, err
		}
		switch t.text {
		case "TRUE", "FALSE":
			return &Const{Value: t.text == "TRUE"}, p.advance()
		case "NIL":
			return nil, p.expected(t, "an expression"+after, "NIL goes on the right of a comparison, as in Fields[name] == NIL")
		}
		return p.compare()
	}
	return nil, p.expected(t, "an expression"+after, "")
}

var varKinds = map[string]VarKind{
	"Uuid": VarUuid, "Type": VarType, "Logger": VarLogger, "Payload": VarPayload,
	"EnvVersion": VarEnvVersion, "Hostname": VarHostname, "Timestamp": VarTimestamp,
	"Severity": VarSeverity, "Pid": VarPid, "Fields": VarField,
}

// compare parses Var Op Value, starting at the variable's name.
func (p *parser) compare() (Node, error) {
	name := p.tok
	kind, ok := varKinds[name.text]
	if !ok {
		return nil, p.expected(name, "a message variable (Uuid, Type, Logger, Payload, EnvVersion, "+
			"Hostname, Timestamp, Severity, Pid or Fields[name]), TRUE, FALSE or '('", spellingHint(name.text))
	}
	v := Var{Kind: kind}
	if kind == VarField {
		if err := p.fieldRef(&v); err != nil {
			return nil, err
		}
	}
	varText := clip(strings.TrimSpace(p.lx.src[name.pos:p.lx.off]))
	if err := p.advance(); err != nil {
		return nil, err
	}
	op := p.tok
	if op.kind != tOp {
		hint := ""
		if op.kind == tLBrack && kind == VarField {
			hint = "a field takes at most two indexes, Fields[name][field index][array index]"
		} else if op.kind == tLBrack {
			hint = "only Fields takes an index"
		}
		return nil, p.expected(op, "a comparison operator (== != < <= > >= =~ !~) after "+varText, hint)
	}
	if (op.op == Match || op.op == NotMatch) && kind.IsNumeric() {
		return nil, errorAt(p.lx.src, op.pos, "operator '"+op.op.String()+"' needs a string, but "+
			kind.String()+" is a number")
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	val, err := p.value(v, op)
	if err != nil {
		return nil, err
	}
	return &Compare{Var: v, Op: op.op, Value: val}, p.advance()
}

// spellingHint suggests the keyword or variable a misspelt name may mean.
func spellingHint(s string) string {
	for _, k := range []string{"TRUE", "FALSE", "NIL"} {
		if strings.EqualFold(s, k) {
			return "did you mean " + k + "?"
		}
	}
	for k := range varKinds {
		if strings.EqualFold(s, k) {
			return "did you mean " + k + "?"
		}
	}
	if strings.EqualFold(s, "and") {
		return "did you mean '&&'?"
	}
	if strings.EqualFold(s, "or") {
		return "did you mean '||'?"
	}
	return "names are case-sensitive"
}

// fieldRef parses the [name][i][j] after Fields, reading the lexer's
// input directly since field names are not ordinary tokens.
func (p *parser) fieldRef(v *Var) error {
	lx := &p.lx
	want := func(c byte, what string) error {
		lx.skipSpace()
		if lx.off < len(lx.src) && lx.src[lx.off] == c {
			lx.off++
			lx.skipSpace()
			return nil
		}
		got := "end of expression"
		if lx.off < len(lx.src) {
			got = describeChar(lx.src[lx.off:])
		}
		return lx.errorf(lx.off, "expected "+what+" (got "+got+")")
	}
	if err := want('[', "'[' after Fields, as in Fields[name]"); err != nil {
		return err
	}
	name, err := lx.fieldName()
	if err != nil {
		return err
	}
	v.Field = name
	if err := want(']', "']' closing the field name"); err != nil {
		return err
	}
	for i := range 2 {
		save := lx.off
		lx.skipSpace()
		if lx.off >= len(lx.src) || lx.src[lx.off] != '[' {
			lx.off = save
			return nil
		}
		lx.off++
		lx.skipSpace()
		n, err := lx.index()
		if err != nil {
			return err
		}
		if i == 0 {
			v.FieldIndex = n
		} else {
			v.ArrayIndex = n
		}
		if err := want(']', "']' closing the index"); err != nil {
			return err
		}
	}
	return nil
}

// value parses the literal after op and checks that it suits v and op.
func (p *parser) value(v Var, op token) (Value, error) {
	t := p.tok
	after := " after '" + op.op.String() + "'"
	var val Value
	switch t.kind {
	case tString:
		val = Value{Kind: ValueString, Str: t.text}
	case tNumber:
		val = t.num
	case tRegexp:
		val = Value{Kind: ValueRegexp, Str: t.text}
	case tIdent:
		switch t.text {
		case "TRUE", "FALSE":
			val = Value{Kind: ValueBool, Bool: t.text == "TRUE"}
		case "NIL":
			val = Value{Kind: ValueNil}
		default:
			return val, p.expected(t, "a value"+after, "quote strings, as in '"+clip(t.text)+"'")
		}
	default:
		return val, p.expected(t, "a value"+after, "")
	}

	// What the variable accepts, for the messages below.
	var want, is string
	switch {
	case v.Kind == VarField:
		want = "a value"
	case v.Kind.IsString():
		want, is = "a quoted string", v.Kind.String()+" is a string"
	case v.Kind == VarTimestamp:
		want, is = "a number or an RFC 3339 time", "Timestamp is a number"
	default:
		want, is = "a number", v.Kind.String()+" is a number"
	}
	regexpOp := op.op == Match || op.op == NotMatch
	switch {
	case regexpOp && val.Kind != ValueRegexp:
		return val, p.expected(t, "a /regular expression/"+after, "")
	case !regexpOp && val.Kind == ValueRegexp:
		return val, p.expected(t, want+after, "use =~ or !~ to match a regular expression")
	case val.Kind == ValueNil && v.Kind != VarField:
		return val, p.expected(t, want+after, "only Fields[...] can be tested against NIL; "+is)
	case val.Kind == ValueNil && op.op != Eq && op.op != Ne:
		return val, p.expected(t, "a string or number"+after, "NIL is compared only with == and !=")
	case val.Kind == ValueBool && v.Kind != VarField:
		return val, p.expected(t, want+after, is)
	case val.Kind == ValueBool && op.op != Eq && op.op != Ne:
		return val, p.expected(t, "a string or number"+after, "TRUE and FALSE are compared only with == and !=")
	case val.Kind == ValueNumber && v.Kind.IsString():
		return val, p.expected(t, want+after, is+"; quote the value, as in '"+clip(p.lx.src[t.pos:t.end])+"'")
	case val.Kind == ValueString && v.Kind == VarTimestamp:
		tm, err := time.Parse(time.RFC3339, val.Str)
		if err != nil {
			return val, p.expected(t, "a number or an RFC 3339 time such as '2016-05-24T21:51:00Z'"+after, "")
		}
		ns := tm.UnixNano()
		if !time.Unix(0, ns).Equal(tm) {
			return val, p.expected(t, "a time between the years 1678 and 2262"+after, "Timestamp counts nanoseconds in an int64")
		}
		val = Value{Kind: ValueTime, Str: val.Str, Int: ns}
	case val.Kind == ValueString && v.Kind.IsNumeric():
		return val, p.expected(t, want+after, is)
	case val.Kind == ValueRegexp:
		n, msg := regexpSize(val.Str)
		if msg != "" {
			return val, errorAt(p.lx.src, t.pos, msg)
		}
		p.insts += n
		if p.insts > MaxRegexpSize {
			e := errorAt(p.lx.src, t.pos, "regular expressions compile to "+strconv.Itoa(p.insts)+
				" instructions in all; the limit is "+strconv.Itoa(MaxRegexpSize))
			e.Err = ErrLimit
			return val, e
		}
	}
	return val, nil
}

// regexpSize parses an RE2 expression the way regexp.Compile does and
// returns the number of instructions it compiles to, or what is wrong
// with it.
func regexpSize(src string) (n int, msg string) {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return 0, "invalid regular expression: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0, "invalid regular expression: " + err.Error()
	}
	return len(prog.Inst), ""
}
