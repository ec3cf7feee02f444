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
	// The encoder an output keeps, over records that differ in their
	// UUID, timestamp and payload (like), or also in a field, each its own
	// (distinct).
	encoder := func(distinct bool) func(b *testing.B) {
		return func(b *testing.B) {
			var recs [][]byte
			for i := range 64 {
				r := *m
				r.UUID[15], r.Timestamp = byte(i), m.Timestamp+int64(i)*1e6
				r.Payload = m.Payload + string(rune('a'+i%26))
				if distinct {
					r.Fields = []Field{Int("status", int64(200+i))}
				}
				recs = append(recs, r.AppendProtobuf(nil))
			}
			var e JSONProtobufEncoder
			buf, _ := e.Append(nil, recs[0])
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			cpu := cputime.Now()
			i := 0
			for b.Loop() {
				buf, _ = e.Append(buf[:0], recs[i%len(recs)])
				i++
			}
			cpu.Report(b)
		}
	}
	b.Run("json-from-protobuf-like", encoder(false))
	b.Run("json-from-protobuf-distinct", encoder(true))
}
