// Package bench measures metlog against its peers on one machine, in one
// run, so that every figure can be read as a ratio to metlog's.
//
// The package itself holds only the client-cost benchmarks (workload 1):
//
//	go test -run '^$' -bench . -benchmem
//
// compares emitting a counter, a timer and a log line with three fields
// through metlog's client, zap, zerolog, log/slog, and the DataDog and
// cactus statsd clients, each to a discarding sink and to a UDP socket.
//
// The harness package runs every workload (client cost, log routing, statsd
// aggregation and a sustained run) against real peer daemons and writes
// docs/performance.md; cmd/perf is its command line. It lives in its own
// module so that the peers' libraries never enter metlog's.
package bench
