// Package statsd reads and writes the statsd line protocol, with the
// DogStatsD extensions. It is a pure wire-format package: Parse splits a
// line into a Metric, Append writes one back, Lines iterates over the
// lines of a datagram or buffer. How a metric becomes a metlog message is
// the business of the statsd input (input/statsd).
//
// # Protocol
//
// One metric per line; a datagram or stream carries any number of lines
// separated by "\n" (a trailing newline is optional, "\r\n" is accepted,
// empty lines are skipped):
//
//	<name>:<value>|<type>[|@<rate>][|#<tag>[,<tag>…]][|T<unix seconds>][|c:<container id>]
//
// The types are
//
//	c   counter       value: a decimal number, usually an integer ("1", "-3", "2.5")
//	ms  timer         value: a decimal number of milliseconds
//	h   histogram     value: a decimal number (DogStatsD; a timer to metlog)
//	d   distribution  value: a decimal number (DogStatsD; a timer to metlog)
//	g   gauge         value: a decimal number; a leading "+" or "-" makes it a
//	                  delta to the current value instead of the new value
//	s   set           value: the member, any text
//
// A decimal number is an optional sign, digits with an optional fraction,
// and an optional exponent: "12", "-0.5", ".25", "1e3". NaN, infinities,
// hexadecimal and digit separators are not numbers here.
//
// The sections after the type may come in any order, each at most once:
//
//   - "@rate" is the sample rate, a decimal number in (0, 1]; without it the
//     rate is 1.
//   - "#tags" are DogStatsD tags, separated by commas: "key:value" or a bare
//     "key". A value may contain ":"; a key may not be empty.
//   - "T<seconds>" is the DogStatsD timestamp, in seconds since the Unix
//     epoch, positive.
//   - "c:<id>" is the DogStatsD container ID.
//
// Leading and trailing spaces and tabs around a line are ignored. Names,
// tags and container IDs are UTF-8 text without white space, control
// characters or "|"; set members are UTF-8 text without control characters
// (spaces are fine). Anything else is an Error saying which part of the
// line is wrong. The Etsy multi-value form
// ("name:1|c:2|ms") is not supported; such a line is rejected with
// ErrUnknownType.
package statsd
