// Package cputime measures the CPU time of the process, so that benchmarks
// can report what an operation costs per CPU-second rather than in wall
// time, which other work on a shared machine inflates.
package cputime

import (
	"testing"
	"time"
)

// Mark is the process's CPU time at some moment.
type Mark time.Duration

// Now returns the process's CPU time so far (user and system, all threads:
// the garbage collector's work included), or 0 where it is not known.
func Now() Mark { return Mark(process()) }

// Report reports the process's CPU time since m divided by b.N as the
// metric cpu-ns/op. Call it after the benchmark loop.
func (m Mark) Report(b *testing.B) {
	now := process()
	if now == 0 || b.N == 0 {
		return
	}
	b.ReportMetric(float64(now-time.Duration(m))/float64(b.N), "cpu-ns/op")
}
