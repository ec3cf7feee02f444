package statsd

import "strconv"

// Error says why a line does not parse. The values are comparable
// sentinels (errors.Is(err, ErrBadRate)); a type switch or assertion on
// Error gives the kind, and Label a name for counting rejections by kind.
// Returning an Error does not allocate.
type Error uint8

// The kinds of bad line.
const (
	// ErrEmptyName: the line starts with ":".
	ErrEmptyName Error = iota + 1
	// ErrBadName: the name holds white space, a control character, "|" or
	// invalid UTF-8.
	ErrBadName
	// ErrNoValue: the line has no ":" after the name.
	ErrNoValue
	// ErrBadValue: the value is not a decimal number (or, for a set, is
	// empty, holds a control character or is invalid UTF-8).
	ErrBadValue
	// ErrNoType: the line has no "|type" after the value, or an empty one.
	ErrNoType
	// ErrUnknownType: the type is not one of c, ms, h, d, g, s.
	ErrUnknownType
	// ErrBadRate: the sample rate is not a decimal number in (0, 1].
	ErrBadRate
	// ErrBadTags: a tag is empty, has an empty key, holds white space or a
	// control character, or is invalid UTF-8.
	ErrBadTags
	// ErrBadSection: a section after the type is empty, unknown, repeated,
	// or a bad timestamp or container ID.
	ErrBadSection
	numErrors
)

var errorText = [numErrors]string{
	ErrEmptyName:   "empty metric name",
	ErrBadName:     "bad metric name",
	ErrNoValue:     "no value",
	ErrBadValue:    "bad value",
	ErrNoType:      "no metric type",
	ErrUnknownType: "unknown metric type",
	ErrBadRate:     "bad sample rate",
	ErrBadTags:     "bad tags",
	ErrBadSection:  "bad section",
}

var errorLabels = [numErrors]string{
	ErrEmptyName:   "empty_name",
	ErrBadName:     "bad_name",
	ErrNoValue:     "no_value",
	ErrBadValue:    "bad_value",
	ErrNoType:      "no_type",
	ErrUnknownType: "unknown_type",
	ErrBadRate:     "bad_rate",
	ErrBadTags:     "bad_tags",
	ErrBadSection:  "bad_section",
}

// Error returns a lowercase description, such as "statsd: bad sample rate".
func (e Error) Error() string {
	if e > 0 && e < numErrors {
		return "statsd: " + errorText[e]
	}
	return "statsd: error " + strconv.Itoa(int(e))
}

// Label returns the kind as a metric label, such as "bad_rate".
func (e Error) Label() string {
	if e > 0 && e < numErrors {
		return errorLabels[e]
	}
	return "unknown"
}

// Errors lists every kind of Error, for exporting counters.
func Errors() []Error {
	out := make([]Error, 0, numErrors-1)
	for e := Error(1); e < numErrors; e++ {
		out = append(out, e)
	}
	return out
}
