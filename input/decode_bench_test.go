package input

import (
	"testing"

	"github.com/metlog/metlog"
)

// BenchmarkDatagramJSON decodes a metlog JSON datagram, the UDP fast path.
func BenchmarkDatagramJSON(b *testing.B) {
	p := []byte(`{"severity": 6, "timestamp": "2026-11-22T01:49:29.187659Z", "metlog_hostname": "vm", "fields": {"name": "db.query", "rate": 1.0}, "metlog_pid": 18208, "logger": "app", "type": "timer", "payload": "17", "env_version": "0.8"}`)
	d := Decoder{MaxSize: 64 << 10}
	var m metlog.Message
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Datagram(p, &m); err != nil {
			b.Fatal(err)
		}
	}
}
