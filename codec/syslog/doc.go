// Package syslog reads and writes syslog messages: RFC 5424 and RFC 3164
// (the BSD format), with the variants real senders use.
//
// # Reading
//
// Parser.Parse turns one message (one datagram, or one frame of a stream;
// framing is the caller's) into a metlog.Message:
//
//	syslog                        metlog
//	PRI severity                  Severity (both are 0..7)
//	PRI facility                  field "facility", its name ("local4")
//	TIMESTAMP                     Timestamp; "-" or none leaves it 0 (the router stamps it)
//	HOSTNAME                      Hostname
//	APP-NAME, or the 3164 TAG     Logger
//	PROCID, or the 3164 [pid]     Pid when it is a decimal int32, else field "procid"
//	MSGID                         field "msgid"
//	STRUCTURED-DATA               one string field "SD-ID.PARAM-NAME" per parameter, in order
//	MSG                           Payload (a leading UTF-8 BOM is dropped)
//
// Every message gets Type Parser.Type ("syslog" by default) and EnvVersion
// "0.8". Nil values ("-") set nothing.
//
// RFC 3164 timestamps ("Nov 22 05:00:00") carry neither year nor zone. The
// zone is Parser.Location (UTC when nil); the year is the latest that puts
// the time no more than a week after now (senders' clocks may run a little
// ahead), so a December message read in January is from last year, and a
// January message read on December 31st is from the next.
// RFC 3164 variants accepted: a one-digit day with or without its padding
// space, fractional seconds, a year after the time ("Nov 22 05:00:00 2026"),
// an RFC 3339 timestamp in place of the BSD one (rsyslog's forwarding
// formats), no hostname (what local senders write to /dev/log: the word
// after the timestamp is taken as the tag when it ends in ':' or holds a
// '['), no timestamp, and no tag (the rest is all payload).
//
// A line that does not parse is never lost: Parse returns an Error and
// leaves in m the whole line as Payload, a "parse_error" field saying what
// was wrong, and, when the PRI was readable, its severity and facility
// (else Notice, as RFC 3164 prescribes for messages without a PRI).
//
// Parse allocates one string per line, for the line itself, which every
// string of the message shares; a message with structured data allocates
// one more for the field names, and values with escapes one each.
// Reusing m reuses its Fields.
//
// # Writing
//
// AppendRFC5424 and AppendRFC3164 write a Header and a message text; the
// caller frames them. HeaderOf takes the header from a metlog.Message,
// inverting the mapping above.
package syslog
