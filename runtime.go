package metlog

import (
	"context"
	"math"
	"runtime/metrics"
	"time"
)

// RuntimeReporter periodically reports the Go runtime's statistics
// through a Client; see Client.ReportRuntime.
type RuntimeReporter struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Runtime metrics read by the reporter.
const (
	metricGoroutines = "/sched/goroutines:goroutines"
	metricHeap       = "/memory/classes/heap/objects:bytes"
	metricTotal      = "/memory/classes/total:bytes"
	metricGCCycles   = "/gc/cycles/total:gc-cycles"
	metricGCPauses   = "/sched/pauses/total/gc:seconds"
)

// ReportRuntime reports the runtime's statistics now and then every
// interval (at least one second; default a minute when interval is 0 or
// less), until ctx is done or Stop is called. It sends:
//
//	runtime.goroutines     gauge    goroutines alive
//	runtime.heap_bytes     gauge    bytes of live and not yet swept heap objects
//	runtime.memory_bytes   gauge    all memory the runtime has mapped
//	runtime.gc_cycles      counter  GC cycles since the previous report
//	runtime.gc_pauses      counter  stop-the-world GC pauses since the previous report
//	runtime.gc_pause_ms    gauge    their total length, in milliseconds (estimated
//	                                from the runtime's pause histogram)
//
// The reporter owns one goroutine; Stop (or cancelling ctx and then
// calling Stop) ends it and waits for it.
func (c *Client) ReportRuntime(ctx context.Context, interval time.Duration) *RuntimeReporter {
	if interval <= 0 {
		interval = time.Minute
	}
	interval = max(interval, time.Second)
	ctx, cancel := context.WithCancel(ctx)
	r := &RuntimeReporter{cancel: cancel, done: make(chan struct{})}
	s := newRuntimeSampler()
	s.report(c) // the first report is synchronous: callers see it at once
	go func() {
		defer close(r.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s.report(c)
			}
		}
	}()
	return r
}

// Stop ends the reports and waits for the reporter's goroutine to return.
func (r *RuntimeReporter) Stop() {
	r.cancel()
	<-r.done
}

// runtimeSampler reads the runtime metrics and remembers the counters of
// the previous report.
type runtimeSampler struct {
	samples    []metrics.Sample
	lastCycles uint64
	lastPauses []uint64 // pause histogram counts at the previous report
}

func newRuntimeSampler() *runtimeSampler {
	s := &runtimeSampler{samples: []metrics.Sample{
		{Name: metricGoroutines},
		{Name: metricHeap},
		{Name: metricTotal},
		{Name: metricGCCycles},
		{Name: metricGCPauses},
	}}
	return s
}

func (s *runtimeSampler) report(c *Client) {
	metrics.Read(s.samples)
	if v := s.samples[0].Value; v.Kind() == metrics.KindUint64 {
		c.Gauge("runtime.goroutines", float64(v.Uint64()))
	}
	if v := s.samples[1].Value; v.Kind() == metrics.KindUint64 {
		c.Gauge("runtime.heap_bytes", float64(v.Uint64()))
	}
	if v := s.samples[2].Value; v.Kind() == metrics.KindUint64 {
		c.Gauge("runtime.memory_bytes", float64(v.Uint64()))
	}
	if v := s.samples[3].Value; v.Kind() == metrics.KindUint64 {
		cycles := v.Uint64()
		c.Count("runtime.gc_cycles", int64(cycles-s.lastCycles))
		s.lastCycles = cycles
	}
	if v := s.samples[4].Value; v.Kind() == metrics.KindFloat64Histogram {
		n, secs := s.pausesSince(v.Float64Histogram())
		c.Count("runtime.gc_pauses", int64(n))
		c.Gauge("runtime.gc_pause_ms", math.Round(secs*1e6)/1e3)
	}
}

// pausesSince returns how many pauses the histogram gained since the last
// call and their estimated total length in seconds (each at its bucket's
// midpoint, or its finite edge for the open-ended buckets).
func (s *runtimeSampler) pausesSince(h *metrics.Float64Histogram) (uint64, float64) {
	if len(s.lastPauses) != len(h.Counts) {
		s.lastPauses = make([]uint64, len(h.Counts))
	}
	var n uint64
	var secs float64
	for i, count := range h.Counts {
		d := count - s.lastPauses[i]
		s.lastPauses[i] = count
		if d == 0 {
			continue
		}
		lo, hi := h.Buckets[i], h.Buckets[i+1]
		mid := (lo + hi) / 2
		switch {
		case math.IsInf(lo, -1):
			mid = hi
		case math.IsInf(hi, 1):
			mid = lo
		}
		n += d
		secs += float64(d) * mid
	}
	return n, secs
}
