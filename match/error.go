package match

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits against hostile or runaway expressions. Expressions come from
// config files, but also from the web UI, the API and `metlog tail`, so
// compiling one must stay cheap whatever its text.
const (
	// MaxLen is the longest expression accepted, in bytes.
	MaxLen = 8192
	// MaxDepth is the deepest nesting of parentheses accepted.
	MaxDepth = 64
	// MaxRegexpSize bounds the regular expressions of one expression,
	// counted in instructions of their compiled RE2 programs (roughly one
	// per literal character or character class, after repetitions are
	// expanded), all regular expressions together.
	MaxRegexpSize = 10000
	// MaxTerms is the most comparisons (and TRUE or FALSE) one expression
	// may hold: the nodes of its tree, and so the work of matching one
	// message, are bounded by it.
	MaxTerms = 1024
)

// ErrLimit is wrapped by an *Error that reports an expression exceeding
// MaxLen, MaxDepth, MaxRegexpSize or MaxTerms.
var ErrLimit = errors.New("limit exceeded")

// Error is a problem with an expression's text, located by line and
// column. Compile and Parse return it for every syntax or type error; its
// message reads like
//
//	match: column 14: expected a value after '==' (got end of expression)
type Error struct {
	// Line is the 1-based line of the problem; expressions are usually a
	// single line, and the message mentions the line only when there are
	// several.
	Line int
	// Column is the 1-based position of the problem within its line,
	// counted in characters (runes). It is 0 when the problem concerns the
	// whole expression (it is too long).
	Column int
	// Offset is the byte offset of the problem in the expression.
	Offset int
	// Msg says what was expected and what was found instead.
	Msg string
	// Err is ErrLimit when a limit was exceeded, else nil.
	Err error

	multiline bool
}

// Error returns "match: column N: msg", or "match: line L, column N: msg"
// for an expression of several lines.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("match: ")
	switch {
	case e.Column == 0:
	case e.multiline:
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(", column ")
		b.WriteString(strconv.Itoa(e.Column))
		b.WriteString(": ")
	default:
		b.WriteString("column ")
		b.WriteString(strconv.Itoa(e.Column))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns Err, so errors.Is(err, ErrLimit) works.
func (e *Error) Unwrap() error { return e.Err }

// errorAt builds an *Error for byte offset off of src.
func errorAt(src string, off int, msg string) *Error {
	off = min(max(off, 0), len(src))
	start := strings.LastIndexByte(src[:off], '\n') + 1
	return &Error{
		Line:      1 + strings.Count(src[:off], "\n"),
		Column:    1 + utf8.RuneCountInString(src[start:off]),
		Offset:    off,
		Msg:       msg,
		multiline: strings.IndexByte(src, '\n') >= 0,
	}
}
