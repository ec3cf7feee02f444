package heka

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/metlog/metlog"
)

// h decodes hex, ignoring spaces.
func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUnmarshalAccepts covers inputs Heka's decoder accepts that Heka's
// encoder does not write.
func TestUnmarshalAccepts(t *testing.T) {
	uuid16 := "0a10 000102030405060708090a0b0c0d0e0f"
	u := metlog.UUID{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	tests := []struct {
		name string
		in   string
		want metlog.Message
	}{
		{"empty message", "", metlog.Message{Severity: metlog.Debug}},
		{"10-byte negative severity and pid", "28 ffffffffffffffffff01 40 feffffffffffffffff01",
			metlog.Message{Severity: -1, Pid: -2}},
		{"5-byte negative severity", "28 ffffffff0f", metlog.Message{Severity: -1}},
		{"int32 truncates a wide varint", "28 8180808010", metlog.Message{Severity: 1}},
		{"short uuid is zero-padded", "0a04 aabbccdd", metlog.Message{UUID: metlog.UUID{0xaa, 0xbb, 0xcc, 0xdd}, Severity: metlog.Debug}},
		{"long uuid is cut", "0a11 000102030405060708090a0b0c0d0e0fff", metlog.Message{UUID: u, Severity: metlog.Debug}},
		{"empty uuid", "0a00", metlog.Message{Severity: metlog.Debug}},
		{"last scalar wins", "1a0161 1a0162 2801 2802", metlog.Message{Type: "b", Severity: 2}},
		{"unknown fields of every wire type", uuid16 + " 58 96 01  61 0102030405060708  6a 03 616263  75 01020304  5a00",
			metlog.Message{UUID: u, Severity: metlog.Debug}},
		{"high field number", "f8ffffff0f 01 2803", metlog.Message{Severity: 3}},
		{"negative timestamp", "10 ffffffffffffffffff01", metlog.Message{Timestamp: -1, Severity: metlog.Debug}},
		{"unpacked integers", "52 12 0a0169 1002 3001 30ffffffffffffffffff01",
			metlog.Message{Severity: metlog.Debug, Fields: []metlog.Field{metlog.Ints("i", 1, -1)}}},
		{"packed integers in two runs", "52 0c 0a0169 1002 320101 32020203",
			metlog.Message{Severity: metlog.Debug, Fields: []metlog.Field{metlog.Ints("i", 1, 2, 3)}}},
		{"unpacked doubles", "52 17 0a0164 1003 39 000000000000f03f 39 0000000000000040",
			metlog.Message{Severity: metlog.Debug, Fields: []metlog.Field{metlog.Floats("d", 1, 2)}}},
		{"unpacked bools, any non-zero is true", "52 0b 0a0162 1004 4001 4000 4002",
			metlog.Message{Severity: metlog.Debug, Fields: []metlog.Field{metlog.Bools("b", true, false, true)}}},
		{"value_type after the values", "52 08 0a0169 320105 1002",
			metlog.Message{Severity: metlog.Debug, Fields: []metlog.Field{metlog.Ints("i", 5)}}},
		{"values of another type are dropped", "52 0e 0a0173 1000 220176 320105 4201 01",
			metlog.Message{Severity: metlog.Debug, Fields: []metlog.Field{metlog.String("s", "v")}}},
		{"no value_type means STRING", "52 06 0a016e 220176",
			metlog.Message{Severity: metlog.Debug, Fields: []metlog.Field{metlog.String("n", "v")}}},
		{"unknown field inside a field", "52 0b 0a016e 220176 7801 5a0100",
			metlog.Message{Severity: metlog.Debug, Fields: []metlog.Field{metlog.String("n", "v")}}},
		{"empty field", "5200", metlog.Message{Severity: metlog.Debug, Fields: []metlog.Field{{}}}},
		{"empty packed run", "52 05 0a0169 3200", metlog.Message{Severity: metlog.Debug, Fields: []metlog.Field{{Name: "i"}}}},
		{"bytes values", "52 0b 0a0162 1001 2a020102 2a00",
			metlog.Message{Severity: metlog.Debug, Fields: []metlog.Field{{Name: "b", Type: metlog.TypeBytes, Bytes: [][]byte{{1, 2}, {}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m metlog.Message
			if err := Unmarshal(h(t, tt.in), &m); err != nil {
				t.Fatal(err)
			}
			if !m.Equal(&tt.want) {
				t.Errorf("\n got %+v\nwant %+v", m, tt.want)
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   error
		in_    string // SyntaxError.In
		offset int
	}{
		{"truncated tag", "80", ErrTruncatedVarint, "Message", 0},
		{"truncated varint value", "10 8080", ErrTruncatedVarint, "Message", 1},
		{"11-byte varint", "10 ffffffffffffffffffff01", ErrVarintOverflow, "Message", 1},
		{"field number 0", "00 01", ErrFieldNumber, "Message", 0},
		{"field number too large", "80808080 80 01", ErrWireType, "Message", 0},
		{"uuid beyond buffer", "0a 11 00", ErrLength, "Message", 1},
		{"huge length", "32 ffffffffffffffffff01", ErrLength, "Message", 1},
		{"string as varint", "18 01", ErrWireType, "Message", 1},
		{"severity as bytes", "2a 00", ErrWireType, "Message", 1},
		{"group start", "1b", ErrWireType, "Message", 1},
		{"group end", "5c", ErrWireType, "Message", 1},
		{"wire type 6", "5e", ErrWireType, "Message", 1},
		{"truncated fixed64", "59 010203", ErrLength, "Message", 1},
		{"truncated fixed32", "5d 0102", ErrLength, "Message", 1},
		{"unknown value type", "52 02 1005", ErrValueType, "Field", 3},
		{"value type as bytes", "52 02 1200", ErrWireType, "Field", 3},
		{"packed doubles not a multiple of 8", "52 05 3a03 010203", ErrPackedLength, "Field", 3},
		{"truncated double", "52 04 39 010203", ErrLength, "Field", 3},
		{"truncated packed varint", "52 03 3201 80", ErrTruncatedVarint, "Field", 3},
		{"integers as fixed32", "52 05 35 01020304", ErrWireType, "Field", 3},
		{"field name beyond field", "52 02 0a05 61616161", ErrLength, "Field", 3},
		{"field beyond message", "52 05 0a01", ErrLength, "Message", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m metlog.Message
			err := Unmarshal(h(t, tt.in), &m)
			var se *SyntaxError
			if !errors.Is(err, tt.want) || !errors.As(err, &se) {
				t.Fatalf("err = %v, want a SyntaxError wrapping %v", err, tt.want)
			}
			if se.In != tt.in_ || se.Offset != tt.offset {
				t.Errorf("err = %v (in %q at %d), want in %q at %d", err, se.In, se.Offset, tt.in_, tt.offset)
			}
			if !strings.HasPrefix(err.Error(), "heka: ") {
				t.Errorf("err = %q", err)
			}
		})
	}
}

func TestUnmarshalReusesMessage(t *testing.T) {
	first := benchMessage()
	second := &metlog.Message{Type: "x", Fields: []metlog.Field{metlog.Int("n", 1)}}
	var m metlog.Message
	if err := Unmarshal(first.AppendProtobuf(nil), &m); err != nil {
		t.Fatal(err)
	}
	fields := &m.Fields[:1][0]
	if err := Unmarshal(second.AppendProtobuf(nil), &m); err != nil {
		t.Fatal(err)
	}
	want := *second
	want.Severity = metlog.Emergency // written as 0, so read as 0
	if !m.Equal(&want) {
		t.Errorf("\n got %+v\nwant %+v", m, want)
	}
	if &m.Fields[0] != fields {
		t.Error("the Fields backing array was not reused")
	}
	if old := m.Fields[:2][1]; old.Name != "" || old.Strings != nil {
		t.Errorf("a stale field survived past len(Fields): %+v", old)
	}
}

func TestUnmarshalDoesNotAlias(t *testing.T) {
	in := benchMessage()
	in.Fields = append(in.Fields, metlog.Bytes("blob", []byte{1, 2, 3}), metlog.Bytes("blob2", []byte{4}))
	data := in.AppendProtobuf(nil)
	var m metlog.Message
	if err := Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	clear(data)
	if !m.Equal(in) {
		t.Errorf("decoded message changed with its input:\n got %+v\nwant %+v", m, in)
	}
	// Appending to one field's values leaves the others alone.
	b := m.Field("blob")
	b.Bytes[0] = append(b.Bytes[0], 9)
	b.Bytes = append(b.Bytes, []byte{7})
	if got := m.Field("blob2").Bytes; !bytes.Equal(got[0], []byte{4}) || len(got) != 1 {
		t.Errorf("blob2 = %v after appending to blob", got)
	}
	n := m.Field("name")
	n.Strings = append(n.Strings, "more")
	if got := m.Field("method").Strings; len(got) != 1 || got[0] != "GET" {
		t.Errorf("method = %v after appending to name", got)
	}
}

func TestUnmarshalAllocs(t *testing.T) {
	data := benchMessage().AppendProtobuf(nil)
	var m metlog.Message
	allocs := testing.AllocsPerRun(100, func() {
		if err := Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
	})
	// One string copy and one arena each for strings, integers, doubles
	// and bools; Fields is reused.
	if allocs > 5 {
		t.Errorf("Unmarshal allocates %v times", allocs)
	}
}

// TestRoundTripEdges encodes messages whose values sit at the edges and
// expects them back unchanged.
func TestRoundTripEdges(t *testing.T) {
	tests := []metlog.Message{
		{},
		{Severity: metlog.Emergency},
		{Severity: math.MinInt32, Pid: math.MaxInt32, Timestamp: math.MinInt64},
		{UUID: metlog.NewUUID(), Timestamp: math.MaxInt64, Payload: strings.Repeat("p", 70000)},
		{Fields: []metlog.Field{
			metlog.Floats("f", math.NaN(), math.Inf(-1), math.Copysign(0, -1), math.SmallestNonzeroFloat64),
			metlog.Ints("i", math.MinInt64, math.MaxInt64, 0),
			{Name: "", Type: metlog.TypeBytes, Bytes: [][]byte{{}, {0}}},
			{Name: "empty", Type: metlog.TypeBool},
			metlog.String("\x00\xff", "\x1e\x1f").WithRepresentation("json"),
		}},
	}
	for i, want := range tests {
		var m metlog.Message
		if err := Unmarshal(want.AppendProtobuf(nil), &m); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if !m.Equal(&want) {
			t.Errorf("%d:\n got %+v\nwant %+v", i, m, want)
		}
	}
}
