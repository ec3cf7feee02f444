package metlog

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func vectorUUID(n byte) UUID {
	u, _ := ParseUUID("f47ac10b-58cc-4372-a567-0e02b2c3d400")
	u[15] = n
	return u
}

// TestAppendProtobufHekaBytes checks the encoder against message bytes that
// Heka's own encoder produced (the heka conformance vectors of the same
// names); codec/heka compares against every vector.
func TestAppendProtobufHekaBytes(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
		want string
	}{
		{
			name: "02-all-scalars",
			msg: Message{
				UUID: vectorUUID(0x02), Timestamp: 1700000000123456791,
				Type: "heka.test.all_scalars", Logger: "genvec", Severity: Error,
				Payload: "hello heka", EnvVersion: "0.8", Pid: 4242, Hostname: "node-1.example.org",
			},
			want: "0a10f47ac10b58cc4372a5670e02b2c3d40210979a97ece39fe7cb171a1568656b612e746573742e616c6c5f7363616c617273220667656e7665632803320a68656c6c6f2068656b613a03302e384092214a126e6f64652d312e6578616d706c652e6f7267",
		},
		{
			name: "14-negative-severity-pid",
			msg:  Message{UUID: vectorUUID(0x0e), Timestamp: 1700000000123456803, Severity: -1, Pid: math.MinInt32},
			want: "0a10f47ac10b58cc4372a5670e02b2c3d40e10a39a97ece39fe7cb1728ffffffff0f408080808008",
		},
		{
			// Heka wrote no severity here (absent means 7); metlog always
			// writes it, so the expected bytes carry 28 07 after the timestamp.
			name: "08-multi-value-arrays+severity",
			msg: Message{
				UUID: vectorUUID(0x08), Timestamp: 1700000000123456797, Type: "multi", Severity: Debug,
				Fields: []Field{
					Strings("strs", "a", "bb", ""),
					{Name: "blobs", Type: TypeBytes, Representation: "raw", Bytes: [][]byte{{0, 1}, {}, {0xff, 0x1e, 0x1f}}},
					Ints("ints", 0, 1, -1, 300, math.MaxInt64).WithRepresentation("count"),
					Floats("doubles", 0.5, -2.25, 1e100).WithRepresentation("ms"),
					Bools("bools", true, false, true),
				},
			},
			want: "0a10f47ac10b58cc4372a5670e02b2c3d408109d9a97ece39fe7cb171a056d756c74692807" +
				"52130a047374727310001a0022016122026262220052190a05626c6f627310011a037261772a0200012a002a03ff1e1f52280a04696e747310021a05636f756e7432170001ffffffffffffffffff01ac02ffffffffffffffff7f52290a07646f75626c657310031a026d733a18000000000000e03f00000000000002c07dc39425ad49b25452100a05626f6f6c7310041a004203010001",
		},
		{
			name: "zero message",
			msg:  Message{},
			want: "0a1000000000000000000000000000000000" + "1000" + "2800",
		},
		{
			name: "empty value slices write no values",
			msg:  Message{Fields: []Field{{Name: "n", Type: TypeInteger, Representation: "count"}, {Name: "d", Type: TypeDouble}, {Name: "b", Type: TypeBool}}},
			want: "0a1000000000000000000000000000000000" + "1000" + "2800" +
				"520c0a016e10021a05636f756e74" + "52070a016410031a00" + "52070a016210041a00",
		},
		{
			name: "only the typed slice is written",
			msg:  Message{Fields: []Field{{Name: "x", Type: TypeString, Strings: []string{"s"}, Integers: []int64{5}}}},
			want: "0a1000000000000000000000000000000000" + "1000" + "2800" + "520a0a017810001a00220173",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := mustHex(t, tt.want)
			if n := tt.msg.ProtobufSize(); n != len(want) {
				t.Errorf("ProtobufSize = %d, want %d", n, len(want))
			}
			prefix := []byte("prefix")
			got := tt.msg.AppendProtobuf(prefix)
			if !bytes.Equal(got[:len(prefix)], []byte("prefix")) || !bytes.Equal(got[len(prefix):], want) {
				t.Errorf("AppendProtobuf\n got %x\nwant %x", got[len(prefix):], want)
			}
		})
	}
}

func TestAppendProtobufNoAlloc(t *testing.T) {
	m := Message{
		UUID: NewUUID(), Timestamp: 1, Type: "timer", Logger: "app", Severity: Info, Payload: "12",
		EnvVersion: EnvVersion, Pid: 1, Hostname: "h",
		Fields: []Field{String("name", "db.query"), Float("rate", 1), Ints("a", 1, 2), Bools("b", true), Bytes("c", []byte{1})},
	}
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() { buf = m.AppendProtobuf(buf[:0]) })
	if allocs != 0 {
		t.Errorf("AppendProtobuf allocates %v times into a large enough buffer", allocs)
	}
}

func TestUvarintSize(t *testing.T) {
	tests := []struct {
		v    uint64
		want int
	}{{0, 1}, {127, 1}, {128, 2}, {1<<14 - 1, 2}, {1 << 14, 3}, {1<<63 - 1, 9}, {1 << 63, 10}, {math.MaxUint64, 10}}
	for _, tt := range tests {
		if got := uvarintSize(tt.v); got != tt.want {
			t.Errorf("uvarintSize(%d) = %d, want %d", tt.v, got, tt.want)
		}
	}
}

func BenchmarkAppendProtobuf(b *testing.B) {
	m := Message{
		UUID: NewUUID(), Timestamp: 1700000000123456789, Type: "timer", Logger: "myapp.web",
		Severity: Info, Payload: "123", EnvVersion: EnvVersion, Pid: 4242, Hostname: "web-1.example.org",
		Fields: []Field{
			String("name", "db.query.users.select"), Float("rate", 1), String("method", "GET"),
			String("path", "/api/v1/users/12345/profile"), Int("status", 200), Int("bytes", 5123).WithRepresentation("B"),
			Bool("cached", false), String("remote_addr", "192.0.2.10:51234"),
			String("user_agent", "Mozilla/5.0 (X11; Linux x86_64) metlog-bench/1.0"),
		},
	}
	buf := m.AppendProtobuf(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendProtobuf(buf[:0])
	}
}

// TestAppendProtobufFieldLengths checks the field lengths AppendProtobuf
// writes after the bodies against the sizes computed beforehand, for
// bodies around the lengths where their varint grows.
func TestAppendProtobufFieldLengths(t *testing.T) {
	for _, n := range []int{0, 100, 110, 111, 112, 113, 120, 16370, 16371, 16372, 16373, 16380, 70000} {
		m := Message{
			Timestamp: 1, Type: "t", Payload: "p",
			Fields: []Field{Int("a", 1), String("s", strings.Repeat("x", n)), Strings("b", "c", strings.Repeat("y", n/3))},
		}
		want := m.appendProtobufSized(nil)
		got := m.AppendProtobuf([]byte("prefix"))
		if string(got[:6]) != "prefix" || !bytes.Equal(got[6:], want) {
			t.Errorf("value of %d bytes: AppendProtobuf differs from the encoding with sizes first", n)
		}
		if len(want) != m.ProtobufSize() {
			t.Errorf("value of %d bytes: %d bytes, ProtobufSize %d", n, len(want), m.ProtobufSize())
		}
		buf := make([]byte, 0, m.ProtobufSize())
		if allocs := testing.AllocsPerRun(10, func() { buf = m.AppendProtobuf(buf[:0]) }); allocs != 0 {
			t.Errorf("value of %d bytes: AppendProtobuf allocates %v times into a buffer of ProtobufSize", n, allocs)
		}
	}
}

// appendProtobufSized is AppendProtobuf computing each field's size before
// writing it.
func (m *Message) appendProtobufSized(dst []byte) []byte {
	fields := m.Fields
	m.Fields = nil
	dst = m.AppendProtobuf(dst)
	m.Fields = fields
	for i := range fields {
		dst = append(dst, tagFields)
		dst = binary.AppendUvarint(dst, uint64(fields[i].protobufSize()))
		dst = fields[i].appendProtobuf(dst)
	}
	return dst
}
