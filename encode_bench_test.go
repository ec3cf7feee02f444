package metlog

import (
	"testing"

	"github.com/metlog/metlog/internal/cputime"
)

// routingMessage is a message of the routing benchmark's load
// (bench/harness) as the router journals it: an oldstyle message with one
// integer field and a UUID, whose metlog JSON line (without the UUID) is
// 250 bytes.
func routingMessage() *Message {
	m := &Message{
		UUID:      UUID{0x01, 0x93, 0x4b, 0x2a, 0x10, 0x00, 0x70, 0x00, 0x80, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc},
		Timestamp: 1767323045000000000, Type: "oldstyle", Logger: "bench",
		Severity: Info, EnvVersion: EnvVersion, Pid: 4242, Hostname: "web1",
		Fields:  []Field{Int("status", 200)},
		Payload: "#s=0000001234 @t=1767323045123456789 xxx",
	}
	return m
}

// BenchmarkEncodeRouting encodes a routing message as the router does: as a
// protobuf record into the journal, and as a metlog JSON line into the file
// output, from the message or straight from its journal record.
func BenchmarkEncodeRouting(b *testing.B) {
	m := routingMessage()
	b.Run("protobuf", func(b *testing.B) {
		buf := m.AppendProtobuf(nil)
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		cpu := cputime.Now()
		for b.Loop() {
			buf = m.AppendProtobuf(buf[:0])
		}
		cpu.Report(b)
	})
	b.Run("json", func(b *testing.B) {
		buf := m.AppendJSON(nil)
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		cpu := cputime.Now()
		for b.Loop() {
			buf = m.AppendJSON(buf[:0])
		}
		cpu.Report(b)
	})
	b.Run("json-from-protobuf", func(b *testing.B) {
		pb := m.AppendProtobuf(nil)
		buf, _ := AppendJSONProtobuf(nil, pb)
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		cpu := cputime.Now()
		for b.Loop() {
			buf, _ = AppendJSONProtobuf(buf[:0], pb)
		}
		cpu.Report(b)
	})
}
