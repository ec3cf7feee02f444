package metlog

import (
	"context"
	"runtime"
	"testing"
	"time"
)

func TestReportRuntime(t *testing.T) {
	c, mem := newTestClient(t)
	before := runtime.NumGoroutine()
	runtime.GC()
	r := c.ReportRuntime(context.Background(), time.Hour)
	r.Stop()
	waitGoroutines(t, before)
	got := map[string]*Message{}
	for _, m := range flushed(t, c, mem) {
		got[fieldValue(m, "name").(string)] = m
	}
	tests := []struct{ name, typ string }{
		{"runtime.goroutines", TypeGauge},
		{"runtime.heap_bytes", TypeGauge},
		{"runtime.memory_bytes", TypeGauge},
		{"runtime.gc_cycles", TypeCounter},
		{"runtime.gc_pauses", TypeCounter},
		{"runtime.gc_pause_ms", TypeGauge},
	}
	for _, tt := range tests {
		m := got[tt.name]
		if m == nil {
			t.Errorf("no %s", tt.name)
			continue
		}
		if m.Type != tt.typ {
			t.Errorf("%s has type %s, want %s", tt.name, m.Type, tt.typ)
		}
	}
	if m := got["runtime.gc_cycles"]; m != nil && m.Payload == "0" {
		t.Error("runtime.GC ran but the first report counts no GC cycle")
	}
	if m := got["runtime.goroutines"]; m != nil && (m.Payload == "0" || m.Payload == "") {
		t.Errorf("goroutines %q", m.Payload)
	}
}

func TestReportRuntimeStopsWithContext(t *testing.T) {
	c, _ := newTestClient(t)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	r := c.ReportRuntime(ctx, time.Second)
	cancel()
	<-r.done
	r.Stop() // after ctx: returns at once
	waitGoroutines(t, before)
}
