// Package metlogjson decodes metlog JSON, the wire format of metlog-py and
// metlog-node: one JSON object per message, sent as a UDP datagram or as a
// line of a TCP or HTTP stream.
//
//	{"severity": 6, "timestamp": "2026-11-22T01:49:29.187659Z", "metlog_hostname": "vm",
//	 "fields": {"a": 1, "nested": {"b": [1, 2.5, null, true]}}, "metlog_pid": 18208,
//	 "logger": "interop-app", "type": "custom", "payload": "hello world", "env_version": "0.8"}
//
// Decode reads one message (a datagram); a Decoder reads consecutive
// messages from a stream. The encoder is Message.AppendJSON in package
// metlog, because the client needs it; it writes what metlog-py writes, byte
// for byte, so a message decoded here and encoded again is the message that
// was received. Decoding, encoding and decoding again always gives an equal
// Message.
//
// # Envelope
//
// The keys may come in any order. Each known key must hold the right type
// (a wrong one is an ErrBadValue error); null counts as absent.
//
//   - severity: an integer that fits int32; absent means Info (6).
//   - timestamp: an RFC 3339 string: "T", "t" or a space between date and
//     time, 0 to 9 fraction digits, "Z", "z", ±hh:mm, ±hhmm or no zone
//     (meaning UTC). It may also be a JSON number: metlog-node passes any
//     non-Date timestamp through as given, and Heka writes nanoseconds. The
//     unit is chosen by magnitude: below 1e11 seconds (up to the year
//     5138), below 1e14 milliseconds, below 1e17 microseconds, else
//     nanoseconds; the decimal text is converted exactly, not through a
//     float. Times must fit int64 nanoseconds (1677-09-21 to 2262-04-11).
//     Absent means 0 (a router may stamp it with the time of receipt). The
//     encoder always writes a string, so a numeric timestamp reads back
//     the same but is written differently.
//   - metlog_hostname, logger, type, env_version: strings.
//   - metlog_pid: an integer that fits int32.
//   - payload: a string is the Payload. Any other value (metlog-py sends
//     what the caller gave it, such as the number in a procinfo message)
//     becomes Payload holding its JSON text, normalised as described under
//     Raw JSON, and the message gets a last field PayloadTypeField
//     ("payload_type", value "json", representation "json") that tells the
//     encoder to write the payload back unquoted.
//   - fields: an object, mapped as described below.
//   - uuid (a metlog extension the encoder writes for a non-zero UUID):
//     canonical 8-4-4-4-12 or 32 hex digits, either case.
//   - representations (a metlog extension; see Message.AppendJSON): an
//     object mapping a field name to its representation, either a string
//     for every field of that name or an array of strings, one per field of
//     that name in order. Names that match no field are ignored.
//
// Unknown top-level keys are kept, so that nothing a sender said is lost:
// key k becomes the field "@k" (an object under it flattens to "@k.sub"),
// after the fields decoded so far. The encoder writes such fields inside
// "fields", where they read back as the same fields.
//
// A repeated known key is taken from its last occurrence, as Python's json
// module does; a repeated "fields" object adds its fields to the earlier
// ones.
//
// # Fields
//
// Nested objects flatten to dotted names: {"headers": {"path": "/"}} is the
// field "headers.path", in the order the values appear. A key containing a
// dot reads as the same name as the equivalent nesting. Repeated keys are
// kept as repeated fields, in order, as Heka keeps repeated names.
//
//   - A string is a TypeString field, true and false a TypeBool field.
//   - An integer that fits int64 is a TypeInteger field.
//   - A number with a fraction or exponent, or Python's NaN, Infinity or
//     -Infinity, is a TypeDouble field.
//   - An array of two or more values, all strings, all int64 integers, all
//     doubles or all bools, is a typed array field of that type. [1, 2.5]
//     is not: Python tells integers from floats, and writing it back as
//     [1.0, 2.5] would change it.
//   - Anything else is a TypeString field with RepresentationJSON whose
//     value is the JSON text: null, an empty, one-element or mixed array,
//     an array holding null, objects or arrays, an integer beyond int64
//     (2**70), a number beyond float64 range (1e400), an empty object.
//
// # Raw JSON
//
// JSON text kept as is (RepresentationJSON fields, non-string payloads) is
// normalised to what Python's json.dumps writes with its default
// separators: no white space between tokens except ", " after a comma and
// ": " after a key, so that the encoder writes it back byte for byte even
// when it arrived in the indented format of metlog-py's StreamSender.
// Strings and numbers inside are kept exactly as written.
//
// # Strings
//
// Every JSON escape is understood, \u escapes including surrogate pairs. A
// lone surrogate half (\ud800 not followed by a low half) decodes as U+FFFD,
// as in Go's encoding/json: Go strings hold UTF-8, and the Heka protobuf
// encoding and every output need valid UTF-8. Invalid UTF-8 and raw control
// characters in the input are syntax errors: metlog-py cannot send them
// (Python's json.dumps fails first), so they mean a broken sender.
//
// # Encoding
//
// Message.AppendJSON writes the envelope keys in CPython 2.7's order with
// Python's separators, ensure_ascii escaping and repr floats, and the
// timestamp as metlog-py does (six fraction digits and "Z"; nine when the
// time has nanoseconds below the microsecond). What JSON cannot say directly
// is written so that it reads back as the same message:
//
//   - Dotted names nest into objects, siblings grouped in the order they
//     first appear. A name that would clash with an earlier key at its level,
//     or reorder the fields ("a" = 1 then "a.b" = 2; "n.a", "x", "n.b"), is
//     written as a literal dotted key ({"a": 1, "a.b": 2}), which reads
//     back as the same name. Beyond 16 levels the rest of a name is one
//     literal key.
//   - Repeated names are written as repeated keys, read back as repeated
//     fields (Python's json module would keep only the last).
//   - A representation the fields object cannot carry (any, except "json"
//     on a field written as raw JSON) goes in the top-level
//     "representations" object (see above); metlog-py routers ignore it.
//   - A RepresentationJSON field is written as raw JSON only if it is valid
//     and reads back as the same raw field (null, a mixed array, a big
//     integer...); otherwise ("5", an object with members, invalid text) it
//     is written as a string, with "json" in "representations".
//   - Bytes are written as standard base64 strings and read back as string
//     fields holding that base64 text: the value is kept, the type is not.
//   - A field with no values is written as [] and reads back as the raw
//     JSON field "[]".
//   - Strings holding invalid UTF-8 (possible in Go, never from the decoder)
//     are written with U+FFFD in place of each bad byte.
//
// The encoding can be longer than the input it was decoded from (\u escapes
// take six bytes), so a message near Limits.MaxSize may not fit once
// re-encoded.
//
// # Limits and errors
//
// Limits bound the size of a message (64 KiB by default: every UDP datagram
// fits), the nesting depth and the number of fields. Every kind of bad input
// is an *Error carrying its Kind (ErrSyntax, ErrTooLarge, ErrTooDeep,
// ErrTooManyFields, ErrBadValue), the byte offset where it was found, and a
// message. The decoders never panic, whatever the input.
//
// # Streams
//
// A Decoder reads messages one after another from an io.Reader: one per line
// (newline-delimited JSON, as TCP and HTTP senders write them), or spread
// over several lines as metlog-py's StreamSender, StdOutSender and
// FileSender write them (json.dumps(msg, indent=4) and a newline). Messages
// are delimited by matching braces, not by lines. When a message is bad the
// Decoder returns its error and carries on with the next one: if the bad
// message was a complete object it resumes after it, otherwise (truncated,
// too large, garbage) at the next line that starts with '{', which is how
// every message starts in both formats; messages after a bad one are not
// lost.
package metlogjson
