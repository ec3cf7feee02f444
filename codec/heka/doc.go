// Package heka reads and writes Heka's wire format: the protobuf Message of
// Heka's message.proto, framed into a stream of records with an optional
// HMAC signature. Metlog uses it on TCP, UDP, in files and in its journal,
// and speaks it with Heka routers and clients.
//
// The encoder is metlog.Message.AppendProtobuf in the root package, because
// the client library needs it; this package decodes (Unmarshal), frames
// (AppendRecord, ParseRecord, SplitDatagram, Reader) and signs (Signer,
// KeySet).
//
// # Framing
//
// Every record is a header and a message:
//
//	 1 byte   1 byte        L bytes            1 byte   N bytes
//	┌──────┬──────────┬─────────────────────┬──────┬──────────────────────┐
//	│ 0x1E │ L (≤255) │ Header protobuf     │ 0x1F │ Message protobuf     │
//	└──────┴──────────┴─────────────────────┴──────┴──────────────────────┘
//	                   message_length = N (≤ 65536)   └── HMAC covers these bytes only
//	                   hmac_hash_function  (3) MD5=0 SHA1=1 SHA256=2*
//	                   hmac_signer         (4)
//	                   hmac_key_version    (5)
//	                   hmac                (6)
//
// The framing is positional: L may itself be 0x1E (an MD5 header with a
// six-letter signer is 30 bytes long), and message bytes may contain 0x1E
// and 0x1F. A stream Reader resynchronises after garbage one byte at a time
// exactly as Heka's splitter does (see Reader).
//
// # Signing
//
// A Signer signs with HMAC-MD5, HMAC-SHA1 or HMAC-SHA256 over the Message
// bytes; a KeySet verifies records against the keys of several signers
// and key versions at once and reports a Status for each. Headers are
// written as Heka writes them: hmac_hash_function only when it is not MD5,
// hmac_signer and hmac_key_version (even 0) whenever the record is signed.
//
// Extensions (*): hmac_hash_function = 2 is HMAC-SHA256, which Heka lacks;
// a Heka router cannot verify such records. Hash names in configuration are
// parsed case-insensitively and unknown names are errors, where Heka signs
// with MD5 for any name other than the exact string "sha1".
//
// # Differences from Heka's bytes
//
// Decoding accepts everything Heka's decoder accepts (unknown fields,
// packed and unpacked numbers, 5- and 10-byte negative int32, missing
// "required" fields, invalid UTF-8) with these exceptions, each an error:
// deprecated protobuf groups, a value_type other than 0..4 (which Heka
// would keep but could not interpret), and packed doubles whose length is
// not a multiple of 8 (not a valid encoding).
//
// Encoding gives Heka's bytes for the same content: field-number order,
// negative severity and pid as 5-byte varints, packed numbers even for one
// value, and value_type and representation written for every field as
// Heka's NewField does. A metlog.Message has no notion of a field being
// absent rather than zero, so where a Heka message distinguishes the two
// the bytes differ:
//
//   - Severity is always written. Heka leaves it out unless set and reads
//     its absence as 7 (Debug), so a Heka record without severity decodes
//     to Debug and re-encodes with "28 07" after the timestamp. Writing it
//     keeps 0 (Emergency) from ever reading as "unset".
//   - uuid and timestamp are always written, as 16 bytes and a varint,
//     because message.proto declares them required and strict protobuf
//     decoders reject a message without them. Heka's encoder does not
//     check, so a Heka record may lack them; metlog decodes the absence as
//     zero and writes zeros.
//   - type, logger, payload, env_version and hostname are written only when
//     not empty, and pid only when not 0. Heka writes a string it was given
//     even when empty, and a pid of 0 when set.
//   - A field without value_type or representation on the wire (Heka's
//     NewField always writes both, other producers may not) re-encodes with
//     both, as value_type STRING and representation "" when absent.
//   - Only the values of a field's value_type are kept and written; Heka
//     would carry values of the other types along, unused.
//   - Unknown fields are dropped, 10-byte negative int32 become 5 bytes,
//     and unpacked numbers become packed.
//   - A uuid of other than 16 bytes becomes 16, zero-padded or cut, as
//     Heka's SetUuid stores one.
//
// Where bytes must be preserved (for an HMAC, or to forward a record
// unchanged) keep the Record's bytes rather than re-encoding the message.
//
// # Limits
//
// Messages are at most MaxMessageSize (65536) bytes, inclusive, as in Heka;
// Reader and ParseRecord accept a lower limit. Headers are at most 255
// bytes. Nothing in this package panics on any input.
package heka
