package heka

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/internal/cputime"
)

// benchMessage is a typical timer message of about 250 encoded bytes.
func benchMessage() *metlog.Message {
	return &metlog.Message{
		UUID: metlog.NewUUID(), Timestamp: 1700000000123456789, Type: "timer", Logger: "myapp.web",
		Severity: metlog.Info, Payload: "123", EnvVersion: metlog.EnvVersion, Pid: 4242, Hostname: "web-1.example.org",
		Fields: []metlog.Field{
			metlog.String("name", "db.query.users.select"),
			metlog.Float("rate", 1),
			metlog.String("method", "GET"),
			metlog.String("path", "/api/v1/users/12345/profile"),
			metlog.Int("status", 200),
			metlog.Int("bytes", 5123).WithRepresentation("B"),
			metlog.Bool("cached", false),
		},
	}
}

// routingMessage is a message of the routing benchmark's load
// (bench/harness) as the router journals it: an oldstyle message with one
// integer field and a UUID, whose metlog JSON line (without the UUID) is
// 250 bytes.
func routingMessage() *metlog.Message {
	m := &metlog.Message{
		UUID:      metlog.UUID{0x01, 0x93, 0x4b, 0x2a, 0x10, 0x00, 0x70, 0x00, 0x80, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc},
		Timestamp: 1767323045000000000, Type: "oldstyle", Logger: "bench",
		Severity: metlog.Info, EnvVersion: metlog.EnvVersion, Pid: 4242, Hostname: "web1",
		Fields:  []metlog.Field{metlog.Int("status", 200)},
		Payload: "#s=0000001234 @t=1767323045123456789 xxx",
	}
	return m
}

func benchVector(b *testing.B, id string) []byte {
	b.Helper()
	for _, v := range loadVectors(b) {
		if v.ID == id {
			return v.Msg
		}
	}
	b.Fatalf("no vector %s", id)
	return nil
}

func BenchmarkEncode(b *testing.B) {
	m := benchMessage()
	buf := m.AppendProtobuf(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendProtobuf(buf[:0])
	}
}

func BenchmarkDecode(b *testing.B) {
	inputs := []struct {
		name string
		data []byte
	}{
		{"typical", benchMessage().AppendProtobuf(nil)},
		{"routing", routingMessage().AppendProtobuf(nil)},
		{"02-all-scalars", benchVector(b, "02-all-scalars")},
		{"08-multi-value-arrays", benchVector(b, "08-multi-value-arrays")},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			var m metlog.Message
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			cpu := cputime.Now()
			for b.Loop() {
				if err := Unmarshal(in.data, &m); err != nil {
					b.Fatal(err)
				}
			}
			cpu.Report(b)
		})
	}
}

func BenchmarkAppendRecord(b *testing.B) {
	m := benchMessage()
	for _, s := range []*Signer{nil, {Name: "app", Version: 1, Hash: SHA256, Key: "0123456789abcdef"}} {
		name := "unsigned"
		if s != nil {
			name = "hmac-sha256"
		}
		b.Run(name, func(b *testing.B) {
			buf, _ := AppendRecord(nil, m, s)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = AppendRecord(buf[:0], m, s)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	s := &Signer{Name: "app", Version: 1, Hash: SHA256, Key: "0123456789abcdef"}
	buf, _ := AppendRecord(nil, benchMessage(), s)
	var r Record
	if err := SplitDatagram(buf, &r); err != nil {
		b.Fatal(err)
	}
	var keys KeySet
	keys.AddSigner(*s)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if r.Verify(&keys) != Valid {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkReader measures stream throughput: the garbage-laden Heka
// stream vector, and a stream of typical signed records.
func BenchmarkReader(b *testing.B) {
	garbage, err := os.ReadFile(filepath.Join("testdata", "40-stream-with-garbage.bin"))
	if err != nil {
		b.Fatal(err)
	}
	var typical []byte
	for range 1000 {
		typical, _ = AppendRecord(typical, benchMessage(), &Signer{Name: "app", Version: 1, Hash: SHA256, Key: "k"})
	}
	for _, in := range []struct {
		name string
		data []byte
	}{{"40-stream-with-garbage", garbage}, {"typical-signed", typical}} {
		b.Run(in.name, func(b *testing.B) {
			br := bytes.NewReader(in.data)
			r := NewReader(br, 0)
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				br.Reset(in.data)
				r.Reset(br)
				for {
					if _, err := r.Next(); err != nil {
						if err != io.EOF && !errors.Is(err, ErrTruncatedRecord) {
							b.Fatal(err)
						}
						break
					}
				}
			}
		})
	}
}
