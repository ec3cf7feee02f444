package match

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// errorCases are expressions that must not compile: the column the error
// names and a fragment of its message.
var errorCases = []struct {
	expr string
	col  int
	msg  string
}{
	// Heka's own malformed expressions.
	{``, 1, "expected an expression (got end of expression)"},
	{`bogus`, 1, "expected a message variable"},
	{`Type = 'test'`, 6, "unexpected character '=' (comparisons are written '==')"},
	{`Pid == 'test='`, 8, "expected a number after '==' (got string 'test='); Pid is a number"},
	{`Type == 'test' && (Severity==7 || Payload == 'Test Payload'`, 60, "expected ')' closing the '(' at column 19 (got end of expression)"},
	{`Invalid == 'bogus'`, 1, "(got Invalid); names are case-sensitive"},
	{`Fields[]`, 8, "expected a field name (got character ']'); write Fields[''] for a field with an empty name"},
	{`Fields[test][]`, 14, "expected an index (a number from 0) (got character ']')"},
	{`Fields[test][a]`, 14, "expected an index (a number from 0) (got character 'a')"},
	{`Fields[test][0][]`, 17, "expected an index"},
	{`Fields[test][0][a]`, 17, "expected an index"},
	{`Fields[test][0][0][]`, 19, "expected a comparison operator (== != < <= > >= =~ !~) after Fields[test][0][0] (got '['); a field takes at most two indexes"},
	{`Fields[test][xxxx`, 14, "expected an index"},
	{`Pid =~ /6/`, 5, "operator '=~' needs a string, but Pid is a number"},
	{`Pid !~ /6/`, 5, "operator '!~' needs a string, but Pid is a number"},
	{`Type =~ /test`, 14, "expected closing '/' of the regular expression that starts at column 9 (got end of expression)"},
	{`Type == /test/`, 9, "expected a quoted string after '==' (got regular expression /test/); use =~ or !~ to match a regular expression"},
	{`Type =~ 'test'`, 9, "expected a /regular expression/ after '=~' (got string 'test')"},
	{`Type =~ /\ytest/`, 9, "invalid regular expression: invalid escape sequence: `\\y`"},
	{`Type != 'test"`, 15, "expected closing ' of the string that starts at column 9 (got end of expression)"},
	{`Pid =~ 6`, 5, "operator '=~' needs a string"},
	{`NIL`, 1, "expected an expression (got NIL); NIL goes on the right of a comparison"},
	{`Type == NIL`, 9, "expected a quoted string after '==' (got NIL); only Fields[...] can be tested against NIL; Type is a string"},
	{`Fields[test] > NIL`, 16, "expected a string or number after '>' (got NIL); NIL is compared only with == and !="},

	// The brief's example.
	{`EnvVersion ==`, 14, "expected a value after '==' (got end of expression)"},

	// Structure.
	{`   `, 4, "expected an expression (got end of expression)"},
	{`Type`, 5, "expected a comparison operator (== != < <= > >= =~ !~) after Type (got end of expression)"},
	{`Type 'x'`, 6, "expected a comparison operator (== != < <= > >= =~ !~) after Type (got string 'x')"},
	{`Type == 'a' &&`, 15, "expected an expression after '&&' (got end of expression)"},
	{`Type == 'a' ||`, 15, "expected an expression after '||' (got end of expression)"},
	{`Type == 'a' && || Type == 'b'`, 16, "expected an expression after '&&' (got '||')"},
	{`Type == 'a' Type == 'b'`, 13, "expected '&&', '||' or end of expression (got Type)"},
	{`Type == 'a')`, 12, "expected '&&', '||' or end of expression (got ')')"},
	{`()`, 2, "expected an expression after '(' (got ')')"},
	{`(Type == 'a'`, 13, "expected ')' closing the '(' at column 1 (got end of expression)"},
	{`TRUE FALSE`, 6, "expected '&&', '||' or end of expression (got FALSE)"},
	{`TRUE == TRUE`, 6, "expected '&&', '||' or end of expression (got '==')"},
	{`Type == 'a' & Type == 'b'`, 13, "unexpected character '&' (did you mean '&&'?)"},
	{`Type == 'a' | Type == 'b'`, 13, "unexpected character '|' (did you mean '||'?)"},
	{`Type == 'a' and Type == 'b'`, 13, "(got and); did you mean '&&'?"},
	{`Type == 'a' OR Type == 'b'`, 13, "(got OR); did you mean '||'?"},
	{`!Type == 'a'`, 1, "unexpected character '!' (did you mean '!=' or '!~'?)"},
	{`Type === 'a'`, 8, "unexpected character '='"},
	{`Type == 'a' ; Type == 'b'`, 13, "unexpected character ';'"},
	{"Type == 'a' \xff", 13, `unexpected byte "\xff"`},
	{`Type[0] == 'a'`, 5, "only Fields takes an index"},

	// Names.
	{`type == 'a'`, 1, "did you mean Type?"},
	{`true`, 1, "did you mean TRUE?"},
	{`Fields[x] == nil`, 14, "expected a value after '==' (got nil); quote strings, as in 'nil'"},
	{`Fields`, 7, "expected '[' after Fields, as in Fields[name] (got end of expression)"},
	{`Fields == 'a'`, 8, "expected '[' after Fields"},
	{`Fields[a`, 9, "expected ']' closing the field name (got end of expression)"},
	{`Fields[a b] == 1`, 10, "expected ']' closing the field name (got character 'b')"},
	{`Fields[a'b] == 1`, 9, "quote names with unusual characters, as in Fields['a b']"},
	{`Fields['a] == 1`, 16, "expected closing ' of the string that starts at column 8"},
	{`Fields[a][99999999999] == 1`, 11, "index 99999999999 is too large"},
	{`Fields[a][-1] == 1`, 11, "expected an index (a number from 0) (got character '-')"},
	{`Fields[a][0 == 1`, 13, "expected ']' closing the index (got character '='"},

	// Values and types.
	{`Type == 5`, 9, "expected a quoted string after '==' (got number 5); Type is a string; quote the value, as in '5'"},
	{`Type == TRUE`, 9, "(got TRUE); Type is a string"},
	{`Type == Type`, 9, "expected a value after '==' (got Type)"},
	{`Severity == 'WARNING'`, 13, "expected a number after '==' (got string 'WARNING'); Severity is a number"},
	{`Severity == TRUE`, 13, "Severity is a number"},
	{`Severity =~ /4/`, 10, "operator '=~' needs a string, but Severity is a number"},
	{`Severity == NIL`, 13, "only Fields[...] can be tested against NIL"},
	{`Timestamp > 'yesterday'`, 13, "expected a number or an RFC 3339 time such as '2016-05-24T21:51:00Z' after '>' (got string 'yesterday')"},
	{`Timestamp > '2016-05-24'`, 13, "RFC 3339 time"},
	{`Timestamp > '3000-01-01T00:00:00Z'`, 13, "expected a time between the years 1678 and 2262"},
	{`Timestamp =~ /2016/`, 11, "operator '=~' needs a string, but Timestamp is a number"},
	{`Fields[b] < TRUE`, 13, "expected a string or number after '<' (got TRUE); TRUE and FALSE are compared only with == and !="},
	{`Fields[b] >= FALSE`, 14, "TRUE and FALSE are compared only with == and !="},
	{`Fields[b] =~ TRUE`, 14, "expected a /regular expression/ after '=~' (got TRUE)"},
	{`Fields[b] == /x/`, 14, "use =~ or !~ to match a regular expression"},
	{`Fields[b] ==`, 13, "expected a value after '==' (got end of expression)"},
	{`Fields[b] == )`, 14, "expected a value after '==' (got ')')"},
	{`Fields[b] == (1)`, 14, "expected a value after '==' (got '(')"},

	// Numbers.
	{`Severity == -`, 13, "expected a digit after '-'"},
	{`Severity == - 1`, 13, "expected a digit after '-'"},
	{`Severity == --1`, 13, "expected a digit after '-'"},
	{`Severity == .`, 13, "unexpected character '.'"},
	{`Severity == 1e`, 13, `malformed number "1e" (expected digits after the exponent)`},
	{`Severity == 1e+`, 13, "malformed number"},
	{`Severity == 1.2.3`, 13, `malformed number "1.2.3"`},
	{`Severity == 12abc`, 13, `malformed number "12abc"`},
	{`Severity == 0x10`, 13, `malformed number "0x10"`},
	{`Severity == 1e999`, 13, "number 1e999 is out of range"},
	{`Severity == -1e999`, 13, "is out of range"},

	// Strings.
	{`Type == 'a`, 11, "expected closing ' of the string that starts at column 9 (got end of expression)"},
	{`Type == "a'`, 12, `expected closing " of the string`},
	{`Type == 'a\'`, 13, "expected closing '"},
	{`Type == 'a\`, 12, "expected an escaped character after '\\' (got end of expression)"},
	{`Type == 'a\q'`, 11, `unknown escape sequence "\\q"`},
	{`Type == '\x4'`, 10, `expected 2 hex digits after \x (got "4'")`},
	{`Type == '\xzz'`, 10, "expected 2 hex digits after \\x"},
	{`Type == '\u+041'`, 10, "expected 4 hex digits after \\u"},
	{`Type == '\ud800'`, 10, "escape \\ud800 is not a valid Unicode code point"},
	{`Type == '\U00110000'`, 10, "is not a valid Unicode code point"},

	// Regular expressions.
	{`Type =~ /a(b/`, 9, "invalid regular expression: missing closing ): `a(b`"},
	{`Type =~ /a**/`, 9, "invalid regular expression: invalid nested repetition operator: `**`"},
	{`Type =~ /\/`, 12, "expected closing '/'"},
	{`Type =~ /[/`, 9, "invalid regular expression: missing closing ]"},
	{`Type =~ /a{1001}/`, 9, "invalid regular expression: invalid repeat count"},

	// Long tokens are shortened in messages.
	{`Pid == 'ééééééééééééééééééééééééééééééééééééééééééééééé'`, 8, "(got string 'ééééééééééééééééééé…); Pid is a number"},

	// Lines and columns count characters, not bytes.
	{"Type == 'é' &&", 15, "expected an expression after '&&'"},
	{"Type == '☕☕' && Typo == 'x'", 17, "(got Typo)"},
}

func TestParseErrors(t *testing.T) {
	for _, c := range errorCases {
		_, err := Compile(c.expr)
		if err == nil {
			t.Errorf("Compile(%q) succeeded, want an error at column %d", c.expr, c.col)
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Compile(%q) error %T %v, want *Error", c.expr, err, err)
			continue
		}
		if e.Column != c.col || e.Line != 1 {
			t.Errorf("Compile(%q) error at line %d column %d, want column %d: %v", c.expr, e.Line, e.Column, c.col, err)
		}
		if !strings.Contains(e.Msg, c.msg) {
			t.Errorf("Compile(%q) error %q, want it to contain %q", c.expr, e.Msg, c.msg)
		}
		if want := "match: column "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Compile(%q) error %q, want prefix %q", c.expr, err, want)
		}
		if errors.Is(err, ErrLimit) {
			t.Errorf("Compile(%q) error %v is ErrLimit", c.expr, err)
		}
		if _, perr := Parse(c.expr); perr == nil || perr.Error() != err.Error() {
			t.Errorf("Parse(%q) error %v, Compile error %v", c.expr, perr, err)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Compile("EnvVersion ==")
	if got, want := err.Error(), "match: column 14: expected a value after '==' (got end of expression)"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	_, err = Compile("Type == 'a' &&\n  Severity <= 'x'")
	if got, want := err.Error(), "match: line 2, column 15: expected a number after '<=' (got string 'x'); Severity is a number"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Line != 2 || e.Column != 15 || e.Offset != 29 {
		t.Errorf("error %#v, want line 2 column 15 offset 29", e)
	}
}

func TestLimits(t *testing.T) {
	cases := []struct {
		name, expr string
		col        int
		msg        string
	}{
		{"length", "Type == '" + strings.Repeat("x", MaxLen) + "'", 0, "bytes long; the limit is 8192"},
		{"depth", strings.Repeat("(", MaxDepth+1) + "TRUE" + strings.Repeat(")", MaxDepth+1), MaxDepth + 1, "parentheses nest deeper than 64 levels"},
		{"regexp size", "Type =~ /(abcdefghij){1000}/", 9, "instructions in all; the limit is 10000"},
		{"regexps in all", strings.Repeat("Type =~ /c{1000}/ || ", 10) + "TRUE", 198, "the limit is 10000"},
		{"regexp classes", "Type =~ /[a-z]{1000}[0-9]{1000}x{1000}(ab){1000}(cd){1000}(ef){1000}(gh){1000}/", 9, "the limit is 10000"},
		{"terms", strings.Repeat("TRUE||", MaxTerms) + "TRUE", MaxTerms*6 + 1, "more than 1024 comparisons"},
	}
	for _, c := range cases {
		_, err := Compile(c.expr)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: error %v, want *Error", c.name, err)
			continue
		}
		if !errors.Is(err, ErrLimit) || e.Column != c.col || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%s: error %v (column %d), want ErrLimit at column %d containing %q", c.name, err, e.Column, c.col, c.msg)
		}
	}
	// Just inside the limits compiles.
	ok := []string{
		strings.Repeat("(", MaxDepth) + "TRUE" + strings.Repeat(")", MaxDepth),
		strings.Repeat("Pid==1||", MaxTerms-1) + "TRUE",
		"Type == '" + strings.Repeat("x", MaxLen-10) + "'",
		"Type =~ /(abcdefghij){800}/",
		strings.Repeat("(TRUE) && ", 500) + "TRUE",
	}
	for _, expr := range ok {
		if _, err := Compile(expr); err != nil {
			t.Errorf("Compile(%.40q…): %v", expr, err)
		}
	}
}

// stringCases give the canonical form String returns.
var stringCases = []struct{ expr, want string }{
	{`TRUE`, `TRUE`},
	{`FALSE`, `FALSE`},
	{`Type=="a"`, `Type == 'a'`},
	{`Type == "it's"`, `Type == 'it\'s'`},
	{`Type == '\\'`, `Type == '\\'`},
	{"Type == 'tab\there\n'", `Type == 'tab\there\n'`},
	{`Type == '\x00\x7f\xff'`, `Type == '\x00\x7f\xff'`},
	{`Type == '\u00e9\u2028\U0001F600'`, `Type == 'é\u2028😀'`},
	{`Type == '\U000e0001'`, `Type == '\U000e0001'`},
	{`(Type == 'a' || Type == 'b') && Severity < 3`, `(Type == 'a' || Type == 'b') && Severity < 3`},
	{`Type == 'a' || (Type == 'b' && Severity < 3)`, `Type == 'a' || Type == 'b' && Severity < 3`},
	{`(Type == 'a' || Type == 'b') || Type == 'c'`, `Type == 'a' || Type == 'b' || Type == 'c'`},
	{`Type == 'a' || (Type == 'b' || Type == 'c')`, `Type == 'a' || (Type == 'b' || Type == 'c')`},
	{`Type == 'a' && (Type == 'b' && Type == 'c')`, `Type == 'a' && (Type == 'b' && Type == 'c')`},
	{`((Type == 'a'))`, `Type == 'a'`},
	{`Fields[foo][0][0] == 1`, `Fields[foo] == 1`},
	{`Fields[foo][1][0] == 1`, `Fields[foo][1] == 1`},
	{`Fields[foo][0][2] == 1`, `Fields[foo][0][2] == 1`},
	{`Fields["foo"] == 1`, `Fields[foo] == 1`},
	{`Fields[ headers.path ] == 1`, `Fields[headers.path] == 1`},
	{`Fields["a b"] == 1`, `Fields['a b'] == 1`},
	{`Fields['a]'] == 1`, `Fields['a]'] == 1`},
	{`Fields[''] == NIL`, `Fields[''] == NIL`},
	{`Fields[é.ü] != NIL`, `Fields[é.ü] != NIL`},
	{`Fields[x] == TRUE`, `Fields[x] == TRUE`},
	{`Fields[x] != FALSE`, `Fields[x] != FALSE`},
	{`Fields[x] == 1.0`, `Fields[x] == 1.0`},
	{`Fields[x] == 1e3`, `Fields[x] == 1000.0`},
	{`Fields[x] == 1.5e300`, `Fields[x] == 1.5e+300`},
	{`Fields[x] == -0`, `Fields[x] == 0`},
	{`Fields[x] == -0.0`, `Fields[x] == -0.0`},
	{`Fields[x] == .25`, `Fields[x] == 0.25`},
	{`Fields[x] == 9223372036854775808`, `Fields[x] == 9.223372036854776e+18`},
	{`Fields[x] == -9223372036854775808`, `Fields[x] == -9223372036854775808`},
	{`Type =~ /^a\/b$/`, `Type =~ /^a\/b$/`},
	{`Type =~ /a\\\/b/`, `Type =~ /a\\\/b/`},
	{`Type =~ /\d+\.\w/`, `Type =~ /\d+\.\w/`},
	{`Timestamp >= "2016-05-24T00:00:00Z"`, `Timestamp >= '2016-05-24T00:00:00Z'`},
	{`TRUE && Type == 'a'`, `Type == 'a'`},
	{`Type == 'a' && FALSE`, `FALSE`},
	{`Type == 'a' || TRUE`, `TRUE`},
	{`FALSE || Type == 'a' && TRUE`, `Type == 'a'`},
	{`(TRUE || Type == 'a') && Type == 'b'`, `Type == 'b'`},
}

func TestString(t *testing.T) {
	for _, c := range stringCases {
		m, err := Compile(c.expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.expr, err)
			continue
		}
		if got := m.String(); got != c.want {
			t.Errorf("Compile(%q).String() = %q, want %q", c.expr, got, c.want)
		}
		if m.Source() != c.expr {
			t.Errorf("Source() = %q, want %q", m.Source(), c.expr)
		}
		again, err := Compile(m.String())
		if err != nil {
			t.Errorf("Compile(%q): %v", m.String(), err)
			continue
		}
		if !reflect.DeepEqual(again.Expr(), m.Expr()) {
			t.Errorf("%q parses to %v, want %v", m.String(), again.Expr(), m.Expr())
		}
	}
}

func TestParseTree(t *testing.T) {
	n, err := Parse(`Type == 'timer' && Severity <= 4 && Fields[name] =~ /^db\./ && Fields[rate] != NIL || TRUE`)
	if err != nil {
		t.Fatal(err)
	}
	want := &Or{
		Left: &And{
			Left: &And{
				Left: &And{
					Left:  &Compare{Var: Var{Kind: VarType}, Op: Eq, Value: Value{Kind: ValueString, Str: "timer"}},
					Right: &Compare{Var: Var{Kind: VarSeverity}, Op: Le, Value: Value{Kind: ValueNumber, Int: 4, IsInt: true, Float: 4}},
				},
				Right: &Compare{Var: Var{Kind: VarField, Field: "name"}, Op: Match, Value: Value{Kind: ValueRegexp, Str: `^db\.`}},
			},
			Right: &Compare{Var: Var{Kind: VarField, Field: "rate"}, Op: Ne, Value: Value{Kind: ValueNil}},
		},
		Right: &Const{Value: true},
	}
	if !reflect.DeepEqual(n, want) {
		t.Errorf("Parse = %v, want %v", n, want)
	}
	if got := Simplify(n); !reflect.DeepEqual(got, &Const{Value: true}) {
		t.Errorf("Simplify = %v, want TRUE", got)
	}

	n, err = Parse(`Fields['a b'][2][3] == -1.5 && Timestamp < '1970-01-01T00:00:01Z'`)
	if err != nil {
		t.Fatal(err)
	}
	want2 := &And{
		Left:  &Compare{Var: Var{Kind: VarField, Field: "a b", FieldIndex: 2, ArrayIndex: 3}, Op: Eq, Value: Value{Kind: ValueNumber, Float: -1.5}},
		Right: &Compare{Var: Var{Kind: VarTimestamp}, Op: Lt, Value: Value{Kind: ValueTime, Str: "1970-01-01T00:00:01Z", Int: 1e9}},
	}
	if !reflect.DeepEqual(n, want2) {
		t.Errorf("Parse = %v, want %v", n, want2)
	}
}

func TestNames(t *testing.T) {
	for k := VarUuid; k <= VarField; k++ {
		if _, ok := varKinds[k.String()]; !ok {
			t.Errorf("VarKind %d has name %q, unknown to the parser", k, k)
		}
		if k.IsString() == k.IsNumeric() && k != VarField {
			t.Errorf("%v is both or neither string and numeric", k)
		}
	}
	for op := Eq; op <= NotMatch; op++ {
		m, err := Compile("Fields[x] " + op.String() + " " + map[bool]string{true: "/x/", false: "1"}[op >= Match])
		if err != nil || m.Expr().(*Compare).Op != op {
			t.Errorf("operator %v does not parse back: %v", op, err)
		}
	}
	v := Var{Kind: VarField, Field: "a b", ArrayIndex: 2}
	if got, want := v.String(), `Fields['a b'][0][2]`; got != want {
		t.Errorf("Var.String() = %q, want %q", got, want)
	}
	if got, want := (Var{Kind: VarPid}).String(), "Pid"; got != want {
		t.Errorf("Var.String() = %q, want %q", got, want)
	}
	if got := Op(0).String() + VarKind(99).String() + ValueKind(0).String(); got != "Op(0)VarKind(99)ValueKind(0)" {
		t.Errorf("invalid names = %q", got)
	}
}

func TestMarshalText(t *testing.T) {
	var m Matcher
	if err := m.UnmarshalText([]byte(`Type == "timer"`)); err != nil {
		t.Fatal(err)
	}
	if !m.Match(timerMessage()) || m.Match(hekaMessage()) {
		t.Error("unmarshalled matcher matches wrongly")
	}
	b, _ := m.MarshalText()
	if string(b) != `Type == "timer"` {
		t.Errorf("MarshalText = %q", b)
	}
	if err := m.UnmarshalText([]byte(`Type ==`)); err == nil {
		t.Error("UnmarshalText accepted a bad expression")
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustCompile did not panic")
		}
	}()
	MustCompile("Type ==")
}
