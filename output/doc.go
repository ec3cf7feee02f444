// Package output holds what every output plugin shares: the message
// formats they write (metlog JSON lines, Heka stream records, and Text, a
// line per message from a template). Each output plugin lives in its own
// subpackage (output/file, output/stdout, output/tcp, …) and is, at heart,
// a Write(ctx, batch) method; batching, matching, retries and cursors are
// the router's.
package output
