// Package chaos is metlog's fault-injection suite: tests that start real
// router processes and break things around them — SIGKILL mid-stream, an
// endpoint that goes away, a journal on a full filesystem, torn and
// corrupted segment files, overload, slow and flooding clients, SIGHUP
// reloads under load — and check that nothing acknowledged is lost and
// that every loss that is allowed is counted.
//
// The package holds tests only. Each scenario logs its figures in one
// fixed format, a line starting with "chaos:", which docs/reliability.md
// quotes. Durations and counts have two scales:
//
//	go test ./chaos/                     the short form (about two minutes), run by CI
//	METLOG_CHAOS=full go test ./chaos/   the full form (`make chaos`, about 25 minutes)
//
// The tests build the metlog binary once per run with `go build`, or use
// the one named by METLOG_CHAOS_BIN.
package chaos
