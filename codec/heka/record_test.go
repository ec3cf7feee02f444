package heka

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/metlog/metlog"
)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		max    int
		n      int
		want   error
		msgLen int
	}{
		{name: "record", in: "1e 02 0801 1f 61", n: 6, msgLen: 1},
		{name: "record and more", in: "1e 02 0801 1f 61 1e", n: 6, msgLen: 1},
		{name: "empty header", in: "1e 00 1f", n: 3},
		{name: "empty", in: "", want: ErrShortRecord},
		{name: "not a separator", in: "1f 02 0801 1f 61", want: ErrNotRecord},
		{name: "JSON", in: "7b7d", want: ErrNotRecord},
		{name: "separator only", in: "1e", want: ErrShortRecord},
		{name: "short header", in: "1e 02 08", want: ErrShortRecord},
		{name: "no unit separator byte yet", in: "1e 02 0801", want: ErrShortRecord},
		{name: "short message", in: "1e 02 0802 1f 61", want: ErrShortRecord},
		{name: "wrong unit separator", in: "1e 02 0801 1e 61", want: ErrUnitSeparator},
		{name: "bad header", in: "1e 02 0880 1f 61", want: ErrTruncatedVarint},
		{name: "over the limit", in: "1e 02 0802 1f 6161", max: 1, want: ErrMessageTooLarge},
		{name: "over the default limit", in: "1e 04 08818004 1f", want: ErrMessageTooLarge},
		{name: "at the default limit needs the bytes", in: "1e 04 08808004 1f", want: ErrShortRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			n, err := ParseRecord(h(t, tt.in), &r, tt.max)
			if !errors.Is(err, tt.want) || n != tt.n {
				t.Fatalf("ParseRecord = %d, %v; want %d, %v", n, err, tt.n, tt.want)
			}
			if err == nil && (len(r.Message) != tt.msgLen || len(r.Raw) != n) {
				t.Errorf("record = %+v", r)
			}
		})
	}
}

func TestSplitDatagram(t *testing.T) {
	a, _ := AppendRecordBytes(nil, []byte("a"), nil)
	var r Record
	if err := SplitDatagram(a, &r); err != nil || string(r.Message) != "a" {
		t.Errorf("SplitDatagram = %v, %q", err, r.Message)
	}
	if err := SplitDatagram(append(a, '\n'), &r); !errors.Is(err, ErrTrailingBytes) {
		t.Errorf("trailing byte: %v", err)
	}
	if err := SplitDatagram(a[:len(a)-1], &r); !errors.Is(err, ErrShortRecord) {
		t.Errorf("short datagram: %v", err)
	}
	if err := SplitDatagram([]byte(" {}"), &r); !errors.Is(err, ErrNotRecord) {
		t.Errorf("JSON datagram: %v", err)
	}
}

func TestLooks(t *testing.T) {
	tests := []struct {
		in           string
		framed, json bool
	}{
		{"", false, false},
		{"\x1e\x02", true, false},
		{"{}", false, true},
		{" \t\r\n{\"a\":1}", false, true},
		{"[1]", false, false},
		{"   ", false, false},
		{"\x1f", false, false},
		{"x{", false, false},
	}
	for _, tt := range tests {
		if got := LooksFramed([]byte(tt.in)); got != tt.framed {
			t.Errorf("LooksFramed(%q) = %v", tt.in, got)
		}
		if got := LooksJSON([]byte(tt.in)); got != tt.json {
			t.Errorf("LooksJSON(%q) = %v", tt.in, got)
		}
	}
}

func TestAppendRecordLimits(t *testing.T) {
	m := &metlog.Message{}
	base := m.ProtobufSize()
	// A payload of p bytes adds 1 tag + 3 length bytes (p ≥ 16384).
	m.Payload = strings.Repeat("M", MaxMessageSize-base-4)
	if m.ProtobufSize() != MaxMessageSize {
		t.Fatalf("test message is %d bytes", m.ProtobufSize())
	}
	rec, err := AppendRecord(nil, m, &Signer{Name: "n", Hash: SHA1, Key: "k"})
	if err != nil {
		t.Fatalf("message of exactly %d bytes: %v", MaxMessageSize, err)
	}
	var r Record
	if err := SplitDatagram(rec, &r); err != nil || len(r.Message) != MaxMessageSize {
		t.Fatalf("SplitDatagram = %v, %d bytes", err, len(r.Message))
	}
	m.Payload += "M"
	dst := []byte("keep")
	if got, err := AppendRecord(dst, m, nil); !errors.Is(err, ErrMessageTooLarge) || string(got) != "keep" {
		t.Errorf("message of %d bytes: %q, %v", m.ProtobufSize(), got, err)
	}
	if got, err := AppendRecordBytes(dst, make([]byte, MaxMessageSize+1), nil); !errors.Is(err, ErrMessageTooLarge) || string(got) != "keep" {
		t.Errorf("AppendRecordBytes of %d bytes: %q, %v", MaxMessageSize+1, got, err)
	}
}

func TestAppendRecordAllocs(t *testing.T) {
	m := benchMessage()
	buf := make([]byte, 0, 4096)
	if allocs := testing.AllocsPerRun(100, func() { buf, _ = AppendRecord(buf[:0], m, nil) }); allocs != 0 {
		t.Errorf("unsigned AppendRecord allocates %v times", allocs)
	}
}

func TestParseHeader(t *testing.T) {
	want := Header{MessageLength: 300, Hash: SHA256, Signer: "router", KeyVersion: 7, HMAC: bytes.Repeat([]byte{0xab}, 32)}
	b := want.AppendProtobuf(nil)
	if len(b) != want.Size() {
		t.Errorf("Size = %d, AppendProtobuf wrote %d", want.Size(), len(b))
	}
	var got Header
	if err := ParseHeader(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.MessageLength != want.MessageLength || got.Hash != want.Hash || got.Signer != want.Signer ||
		got.KeyVersion != want.KeyVersion || !bytes.Equal(got.HMAC, want.HMAC) {
		t.Errorf("ParseHeader = %+v, want %+v", got, want)
	}
	// Parsing the same signer again reuses the string.
	if allocs := testing.AllocsPerRun(100, func() { _ = ParseHeader(b, &got) }); allocs != 0 {
		t.Errorf("ParseHeader with an unchanged signer allocates %v times", allocs)
	}
	// Heka's unsigned header is message_length alone.
	if b := (&Header{MessageLength: 28}).AppendProtobuf(nil); !bytes.Equal(b, []byte{0x08, 28}) {
		t.Errorf("unsigned header = %x", b)
	}

	errs := []struct {
		name string
		in   string
		want error
	}{
		{"truncated", "08", ErrTruncatedVarint},
		{"signer as varint", "2001", ErrWireType},
		{"length as bytes", "0a00", ErrWireType},
		{"hmac beyond buffer", "3205 00", ErrLength},
		{"group", "0b", ErrWireType},
	}
	for _, tt := range errs {
		var hd Header
		err := ParseHeader(h(t, tt.in), &hd)
		var se *SyntaxError
		if !errors.Is(err, tt.want) || !errors.As(err, &se) || se.In != "Header" {
			t.Errorf("%s: err = %v, want a Header SyntaxError wrapping %v", tt.name, err, tt.want)
		}
	}
	// Unknown fields are skipped, wide varints truncated to 32 bits.
	var hd Header
	if err := ParseHeader(h(t, "08 8180808010 1001 7a0100"), &hd); err != nil || hd.MessageLength != 1 {
		t.Errorf("ParseHeader = %+v, %v", hd, err)
	}
}
