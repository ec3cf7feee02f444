package match

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // a name: a variable, TRUE, FALSE, NIL
	tString         // a quoted string; text holds it unquoted
	tNumber         // a number; num holds it
	tRegexp         // /…/; text holds the source with \/ resolved
	tOp             // a comparison operator; op holds it
	tAnd            // &&
	tOr             // ||
	tLParen         // (
	tRParen         // )
	tLBrack         // [ (only valid after Fields, where the parser reads it)
)

// token is one lexical token of src[pos:end].
type token struct {
	kind     tokKind
	pos, end int
	op       Op
	text     string
	num      Value
}

// describe names the token for an error message: "end of expression",
// "'=='", "string 'x'", "Foo".
func (t token) describe(src string) string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tIdent:
		return clip(t.text)
	case tString:
		return "string " + clip(src[t.pos:t.end])
	case tNumber:
		return "number " + clip(src[t.pos:t.end])
	case tRegexp:
		return "regular expression " + clip(src[t.pos:t.end])
	}
	return "'" + src[t.pos:t.end] + "'"
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// lexer splits an expression into tokens.
type lexer struct {
	src string
	off int // offset of the next byte to read
}

func (l *lexer) errorf(off int, msg string) *Error { return errorAt(l.src, off, msg) }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' }

func isIdent(c byte) bool { return isIdentStart(c) || isDigit(c) }

func (l *lexer) skipSpace() {
	for l.off < len(l.src) && isSpace(l.src[l.off]) {
		l.off++
	}
}

// next returns the next token.
func (l *lexer) next() (token, error) {
	l.skipSpace()
	t := token{pos: l.off}
	if l.off >= len(l.src) {
		t.end = l.off
		return t, nil
	}
	c := l.src[l.off]
	two := ""
	if l.off+1 < len(l.src) {
		two = l.src[l.off : l.off+2]
	}
	switch {
	case isIdentStart(c):
		end := l.off + 1
		for end < len(l.src) && isIdent(l.src[end]) {
			end++
		}
		t.kind, t.text = tIdent, l.src[l.off:end]
		l.off = end
	case c == '\'' || c == '"':
		s, end, err := l.quoted(l.off)
		if err != nil {
			return t, err
		}
		t.kind, t.text = tString, s
		l.off = end
	case isDigit(c) || c == '-' || c == '.':
		return l.number()
	case c == '/':
		return l.regexp()
	case two == "==" || two == "!=" || two == "<=" || two == ">=" || two == "=~" || two == "!~":
		t.kind, t.op = tOp, twoCharOp(two)
		l.off += 2
	case c == '<' || c == '>':
		t.kind, t.op = tOp, Lt
		if c == '>' {
			t.op = Gt
		}
		l.off++
	case two == "&&":
		t.kind = tAnd
		l.off += 2
	case two == "||":
		t.kind = tOr
		l.off += 2
	case c == '(':
		t.kind = tLParen
		l.off++
	case c == ')':
		t.kind = tRParen
		l.off++
	case c == '[':
		t.kind = tLBrack
		l.off++
	default:
		return t, l.errorf(l.off, "unexpected "+describeChar(l.src[l.off:]))
	}
	t.end = l.off
	return t, nil
}

// twoCharOp returns the operator spelled by two characters.
func twoCharOp(s string) Op {
	switch s {
	case "==":
		return Eq
	case "!=":
		return Ne
	case "<=":
		return Le
	case ">=":
		return Ge
	case "=~":
		return Match
	}
	return NotMatch
}

// describeChar names the character at the start of s for an error, with a
// hint for the likely mistakes.
func describeChar(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	q := strconv.QuoteRune(r)
	switch r {
	case '=':
		return "character " + q + " (comparisons are written '==')"
	case '&':
		return "character " + q + " (did you mean '&&'?)"
	case '|':
		return "character " + q + " (did you mean '||'?)"
	case '!':
		return "character " + q + " (did you mean '!=' or '!~'?)"
	}
	if r == utf8.RuneError {
		return "byte " + strconv.QuoteToASCII(s[:1])
	}
	return "character " + q
}

// quoted reads the quoted string starting at src[start] (a ' or ") and
// returns its value and the offset after the closing quote.
func (l *lexer) quoted(start int) (string, int, error) {
	q := l.src[start]
	var b []byte
	i := start + 1
	for {
		if i >= len(l.src) {
			return "", i, l.errorf(i, "expected closing "+string(q)+" of the string that starts at column "+
				strconv.Itoa(errorAt(l.src, start, "").Column)+" (got end of expression)")
		}
		c := l.src[i]
		if c == q {
			if b == nil {
				return l.src[start+1 : i], i + 1, nil
			}
			return string(b), i + 1, nil
		}
		if c != '\\' {
			if b != nil {
				b = append(b, c)
			}
			i++
			continue
		}
		if b == nil {
			b = append([]byte(nil), l.src[start+1:i]...)
		}
		var err error
		b, i, err = l.escape(b, i)
		if err != nil {
			return "", i, err
		}
	}
}

// escape resolves the escape sequence at src[i] (a backslash), appending
// its value to b, and returns the offset after it.
func (l *lexer) escape(b []byte, i int) ([]byte, int, error) {
	if i+1 >= len(l.src) {
		return b, i, l.errorf(i+1, "expected an escaped character after '\\' (got end of expression)")
	}
	c := l.src[i+1]
	switch c {
	case '\\', '\'', '"':
		return append(b, c), i + 2, nil
	case 'n':
		return append(b, '\n'), i + 2, nil
	case 'r':
		return append(b, '\r'), i + 2, nil
	case 't':
		return append(b, '\t'), i + 2, nil
	case 'x', 'u', 'U':
		n := 2
		switch c {
		case 'u':
			n = 4
		case 'U':
			n = 8
		}
		if i+2+n > len(l.src) {
			return b, i, l.errorf(i, "expected "+strconv.Itoa(n)+" hex digits after \\"+string(c))
		}
		v, err := strconv.ParseUint(l.src[i+2:i+2+n], 16, 32)
		if err != nil || strings.ContainsAny(l.src[i+2:i+2+n], "+-_") {
			return b, i, l.errorf(i, "expected "+strconv.Itoa(n)+" hex digits after \\"+string(c)+
				" (got "+strconv.Quote(l.src[i+2:i+2+n])+")")
		}
		if c == 'x' {
			return append(b, byte(v)), i + 2 + n, nil
		}
		if v > utf8.MaxRune || v >= 0xd800 && v < 0xe000 {
			return b, i, l.errorf(i, "escape "+l.src[i:i+2+n]+" is not a valid Unicode code point")
		}
		return utf8.AppendRune(b, rune(v)), i + 2 + n, nil
	}
	return b, i, l.errorf(i, "unknown escape sequence "+strconv.Quote(l.src[i:i+2])+
		" (escapes are \\\\ \\' \\\" \\n \\r \\t \\xHH \\uHHHH \\UHHHHHHHH)")
}

// number reads a number literal:
//
//	[ "-" ] ( digits [ "." [ digits ] ] | "." digits ) [ ("e"|"E") [ "+"|"-" ] digits ]
func (l *lexer) number() (token, error) {
	start := l.off
	t := token{kind: tNumber, pos: start}
	i := start
	s := l.src
	digits := func() int {
		n := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			n++
		}
		return n
	}
	if s[i] == '-' {
		i++
	}
	isInt := true
	n := digits()
	if i < len(s) && s[i] == '.' {
		i++
		isInt = false
		n += digits()
	}
	if n == 0 {
		if i == start+1 && s[start] == '-' {
			return t, l.errorf(start, "expected a digit after '-'")
		}
		return t, l.errorf(start, "unexpected "+describeChar(s[start:]))
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		isInt = false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return t, l.errorf(start, "malformed number "+strconv.Quote(s[start:i])+" (expected digits after the exponent)")
		}
	}
	if i < len(s) && (isIdent(s[i]) || s[i] == '.') {
		end := i
		for end < len(s) && (isIdent(s[end]) || s[end] == '.') {
			end++
		}
		return t, l.errorf(start, "malformed number "+strconv.Quote(clip(s[start:end])))
	}
	text := s[start:i]
	l.off = i
	t.end = i
	t.num.Kind = ValueNumber
	if isInt {
		if v, err := strconv.ParseInt(text, 10, 64); err == nil {
			t.num.Int, t.num.IsInt, t.num.Float = v, true, float64(v)
			return t, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return t, l.errorf(start, "number "+clip(text)+" is out of range")
	}
	t.num.Float = f
	return t, nil
}

// regexp reads /…/, resolving \/ to / and keeping every other escape for
// RE2.
func (l *lexer) regexp() (token, error) {
	start := l.off
	t := token{kind: tRegexp, pos: start}
	var b []byte
	i := start + 1
	for {
		if i >= len(l.src) {
			return t, l.errorf(i, "expected closing '/' of the regular expression that starts at column "+
				strconv.Itoa(errorAt(l.src, start, "").Column)+" (got end of expression)")
		}
		c := l.src[i]
		if c == '/' {
			break
		}
		if c == '\\' && i+1 < len(l.src) {
			if l.src[i+1] == '/' {
				if b == nil {
					b = append([]byte(nil), l.src[start+1:i]...)
				}
				b = append(b, '/')
			} else if b != nil {
				b = append(b, c, l.src[i+1])
			}
			i += 2
			continue
		}
		if b != nil {
			b = append(b, c)
		}
		i++
	}
	if b == nil {
		t.text = l.src[start+1 : i]
	} else {
		t.text = string(b)
	}
	l.off = i + 1
	t.end = l.off
	return t, nil
}

// fieldName reads the name inside Fields[…], after the '[' and any space:
// a quoted string, or a run of characters other than space, brackets,
// quotes and backslash. It returns the name and the offset after it.
func (l *lexer) fieldName() (string, error) {
	start := l.off
	if start < len(l.src) && (l.src[start] == '\'' || l.src[start] == '"') {
		s, end, err := l.quoted(start)
		if err != nil {
			return "", err
		}
		l.off = end
		return s, nil
	}
	i := start
	for i < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[i:])
		if !bareRune(r) {
			if r == ']' || isSpace(l.src[i]) {
				break
			}
			got := describeChar(l.src[i:])
			return "", l.errorf(i, "expected ']' closing the field name (got "+got+"); quote names with unusual characters, as in Fields['a b']")
		}
		i += n
	}
	if i == start {
		got := "end of expression"
		if i < len(l.src) {
			got = describeChar(l.src[i:])
		}
		return "", l.errorf(i, "expected a field name (got "+got+"); write Fields[''] for a field with an empty name")
	}
	l.off = i
	return l.src[start:i], nil
}

// index reads the decimal index inside Fields[name][…].
func (l *lexer) index() (int, error) {
	start := l.off
	i := start
	for i < len(l.src) && isDigit(l.src[i]) {
		i++
	}
	if i == start {
		got := "end of expression"
		if i < len(l.src) {
			got = describeChar(l.src[i:])
		}
		return 0, l.errorf(i, "expected an index (a number from 0) (got "+got+")")
	}
	v, err := strconv.ParseInt(l.src[start:i], 10, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, l.errorf(start, "index "+clip(l.src[start:i])+" is too large")
		}
		return 0, l.errorf(start, err.Error())
	}
	l.off = i
	return int(v), nil
}
