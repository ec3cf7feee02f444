// Package hekajson reads Heka-era JSON logs: one JSON object per message
// whose keys are the capitalised names of Heka's message fields, as written
// by mozlog (the npm library that "outputs records for Heka") and by
// Heka's own JSON encoders.
//
//	{"Timestamp": 1795312169187000000, "Logger": "fxa-auth", "Type": "request.summary",
//	 "Severity": 6, "Pid": 4242, "EnvVersion": "2.0", "Hostname": "web1",
//	 "Fields": {"path": "/v1/account", "status": 200, "t": 17}}
//
// Such an object is valid metlog JSON: the metlog JSON decoder keeps each
// key it does not know as a field named "@" + key (an object under it
// flattening to "@Key.sub"). This package lifts those fields into the
// envelope, so a Heka JSON message and a metlog JSON message share one
// decoder, one set of limits and one mapping of nested values; the inputs
// decode a line as metlog JSON and call Detect and Lift on the result,
// which costs the metlog JSON fast path nothing but a comparison.
//
// # Mapping
//
//   - Uuid: canonical 8-4-4-4-12 or 32 hex digits → UUID.
//   - Timestamp: a number (mozlog writes nanoseconds since the epoch; the
//     unit is chosen by magnitude: below 1e11 seconds, below 1e14
//     milliseconds, below 1e17 microseconds, else nanoseconds) or an
//     RFC 3339 string → Timestamp.
//   - Type, Logger, EnvVersion, Hostname: strings → the same envelope
//     fields.
//   - Severity, Pid: integers fitting int32.
//   - Payload: a string is the Payload; an integer, a bool or raw JSON
//     (an array, say) becomes Payload holding its JSON text, marked with
//     the metlog.PayloadTypeField field as metlog JSON does.
//   - Fields: each member is a field of the same name; nested objects
//     flatten to dotted names and arrays map as in metlog JSON.
//   - null means absent. A value of any other type for an envelope key,
//     and any other key, stays a field named "@" + key, so nothing is lost.
//
// Lowercase metlog JSON keys ("type", "payload", …) in a Heka JSON object
// are read as metlog keys, and such a message is not detected as Heka JSON
// (inputs configured with format = "heka-json" lift it anyway).
package hekajson
