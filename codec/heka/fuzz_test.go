package heka

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/metlog/metlog"
)

// FuzzUnmarshal checks that Unmarshal never panics and that whatever it
// accepts survives encode → decode unchanged, with stable bytes.
func FuzzUnmarshal(f *testing.F) {
	for _, v := range loadVectors(f) {
		if len(v.Msg) < 4096 {
			f.Add(v.Msg)
		}
	}
	f.Add(benchMessage().AppendProtobuf(nil))
	f.Add([]byte{0x52, 0x05, 0x0a, 0x01, 0x69, 0x30, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m metlog.Message
		typ, typErr := MessageType(data)
		if err := Unmarshal(data, &m); err != nil {
			var se *SyntaxError
			if errors.As(err, &se) && se.In == "Message" && typErr == nil {
				t.Fatalf("Unmarshal: %v; MessageType found no error", err)
			}
			return
		}
		if typErr != nil || string(typ) != m.Type {
			t.Fatalf("MessageType = %q, %v; Unmarshal's type %q", typ, typErr, m.Type)
		}
		enc := m.AppendProtobuf(nil)
		if len(enc) != m.ProtobufSize() {
			t.Fatalf("ProtobufSize = %d, AppendProtobuf wrote %d", m.ProtobufSize(), len(enc))
		}
		var back metlog.Message
		if err := Unmarshal(enc, &back); err != nil {
			t.Fatalf("re-encoded message does not decode: %v\n%x", err, enc)
		}
		if !back.Equal(&m) {
			t.Fatalf("decode → encode → decode changed the message\nfirst  %+v\nsecond %+v", m, back)
		}
		if again := back.AppendProtobuf(nil); !bytes.Equal(again, enc) {
			t.Fatalf("encoding is not stable\n%x\n%x", enc, again)
		}
	})
}

// fuzzRecord is what FuzzReader remembers of a record.
type fuzzRecord struct {
	raw    []byte
	header Header
}

// FuzzReader checks that the stream Reader never panics, never yields a
// record beyond its limits, accounts for every input byte, and finds the
// same records however the input is split into reads.
func FuzzReader(f *testing.F) {
	var all []byte
	for _, v := range loadVectors(f) {
		if len(v.Bin) < 4096 {
			f.Add(v.Bin, uint8(0), uint16(0))
			all = append(all, v.Bin...)
			all = append(all, 'x')
		}
	}
	f.Add(all, uint8(7), uint16(200))
	if stream, err := os.ReadFile(filepath.Join("testdata", "40-stream-with-garbage.bin")); err == nil {
		f.Add(stream[:4096], uint8(1), uint16(0))
	}
	f.Add([]byte{RecordSeparator, RecordSeparator, 2, 8, 1, UnitSeparator, 'a'}, uint8(3), uint16(1))

	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, maxMsg uint16) {
		limit := int(maxMsg)
		if limit == 0 {
			limit = MaxMessageSize
		}
		read := func(n int) ([]fuzzRecord, *Reader, error) {
			r := NewReader(&chunkReader{data, n}, int(maxMsg))
			var recs []fuzzRecord
			for {
				rec, err := r.Next()
				if err != nil {
					return recs, r, err
				}
				if len(rec.Message) > limit || int(rec.Header.MessageLength) != len(rec.Message) ||
					len(rec.Raw) != 3+int(rec.Raw[1])+len(rec.Message) ||
					rec.Raw[0] != RecordSeparator || rec.Raw[2+int(rec.Raw[1])] != UnitSeparator {
					t.Fatalf("bad record: %d message bytes (limit %d), header %+v, raw %x", len(rec.Message), limit, rec.Header, rec.Raw)
				}
				var single Record
				if err := SplitDatagram(rec.Raw, &single); err != nil {
					t.Fatalf("a yielded record is not a datagram: %v", err)
				}
				recs = append(recs, fuzzRecord{bytes.Clone(rec.Raw), rec.Header})
			}
		}
		whole, rw, errWhole := read(len(data) + 1)
		split, rs, errSplit := read(int(chunk%16) + 1)

		n := rw.Skipped() + rw.Truncated()
		for _, r := range whole {
			n += int64(len(r.raw))
		}
		if n != int64(len(data)) {
			t.Fatalf("%d bytes in, %d accounted for (skipped %d, truncated %d)", len(data), n, rw.Skipped(), rw.Truncated())
		}
		if len(whole) != len(split) || rw.Skipped() != rs.Skipped() || rw.Truncated() != rs.Truncated() ||
			(errWhole == nil) != (errSplit == nil) {
			t.Fatalf("whole read: %d records, skipped %d, truncated %d, %v; split reads: %d, %d, %d, %v",
				len(whole), rw.Skipped(), rw.Truncated(), errWhole, len(split), rs.Skipped(), rs.Truncated(), errSplit)
		}
		for i := range whole {
			if !bytes.Equal(whole[i].raw, split[i].raw) {
				t.Fatalf("record %d differs between whole and split reads", i)
			}
		}
	})
}
