package metlogjson

import (
	"errors"
	"strconv"
)

// The kinds of bad input. Every error the decoders return for bad input is
// an *Error whose Kind is one of these, so callers can count rejects by kind
// with errors.Is.
var (
	// ErrSyntax: the input is not JSON: truncated, a bad escape, invalid
	// UTF-8, a raw control character in a string, data after the message.
	ErrSyntax = errors.New("syntax error")
	// ErrTooLarge: the message is longer than Limits.MaxSize.
	ErrTooLarge = errors.New("message too large")
	// ErrTooDeep: objects and arrays are nested deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("nested too deep")
	// ErrTooManyFields: the message has more than Limits.MaxFields fields.
	ErrTooManyFields = errors.New("too many fields")
	// ErrBadValue: valid JSON, but an envelope key holds a value of the
	// wrong type or out of range ("severity": "high", a pid beyond int32,
	// an unreadable timestamp or uuid), or the message is not an object.
	ErrBadValue = errors.New("bad value")
)

// Error describes bad input: what kind of problem (Kind, one of the Err
// variables), where (Offset, in bytes from the start of the input given to
// Decode, or from the start of the stream for a Decoder), and what exactly
// (Msg).
type Error struct {
	Offset int64
	Kind   error
	Msg    string
}

// Error returns "metlog json: <kind>: <msg> at offset <n>".
func (e *Error) Error() string {
	return "metlog json: " + e.Kind.Error() + ": " + e.Msg + " at offset " + strconv.FormatInt(e.Offset, 10)
}

// Unwrap returns Kind, so that errors.Is(err, ErrTooLarge) works.
func (e *Error) Unwrap() error { return e.Kind }
