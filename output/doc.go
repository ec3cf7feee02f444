// Package output holds what every output plugin shares: the message
// formats they write (metlog JSON lines, Heka stream records, and Text, a
// line per message from a template), the reading of metric messages
// (MetricName, MetricValue, SampleRate), and LineConn, the connection of
// outputs that speak a plaintext line protocol such as carbon's or
// statsd's. Each output plugin lives in its own subpackage (output/file,
// output/stdout, output/tcp, …) and is, at heart, a Write(ctx, batch)
// method; batching, matching, retries and cursors are the router's.
package output
