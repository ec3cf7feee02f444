package hekajson

import (
	"os"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
)

// BenchmarkDecode decodes a mozlog line.
func BenchmarkDecode(b *testing.B) {
	data, err := os.ReadFile("testdata/01-mozlog-request.json")
	if err != nil {
		b.Fatal(err)
	}
	var m metlog.Message
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(data, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDetectMetlog is the cost Detect adds to a metlog JSON message.
func BenchmarkDetectMetlog(b *testing.B) {
	var m metlog.Message
	if err := metlogjson.Decode([]byte(`{"type":"oldstyle","logger":"app","payload":"x","fields":{"a":1}}`), &m); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if Detect(&m) {
			b.Fatal("detected")
		}
	}
}
