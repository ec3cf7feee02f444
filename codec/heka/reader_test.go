package heka

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"testing/iotest"

	"github.com/metlog/metlog"
)

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// readAll reads every record of r, copying each, and returns them with
// the error that ended the stream.
func readAll(t testing.TB, r *Reader) ([][]byte, error) {
	t.Helper()
	var recs [][]byte
	for {
		rec, err := r.Next()
		if err != nil {
			return recs, err
		}
		if len(rec.Raw) != 3+int(rec.Raw[1])+len(rec.Message) || int(rec.Header.MessageLength) != len(rec.Message) {
			t.Fatalf("inconsistent record: %d raw bytes, header %+v, %d message bytes", len(rec.Raw), rec.Header, len(rec.Message))
		}
		recs = append(recs, bytes.Clone(rec.Raw))
	}
}

// TestReaderStreamVector reads 40-stream-with-garbage, captured from Heka's
// TCP client with garbage written between its records, in reads of several
// sizes, and expects exactly the records Heka's splitter found.
func TestReaderStreamVector(t *testing.T) {
	stream, err := os.ReadFile(filepath.Join("testdata", "40-stream-with-garbage.bin"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "40-stream-with-garbage.json"))
	if err != nil {
		t.Fatal(err)
	}
	var desc struct {
		Expected []string `json:"expected_records_in_order"`
		Layout   []struct {
			Kind   string `json:"kind"`
			Offset int    `json:"offset"`
			Length int    `json:"length"`
			Hex    string `json:"hex"`
		} `json:"layout"`
		Signers map[string]string `json:"signers_used_for_verification"`
	}
	if err := json.Unmarshal(raw, &desc); err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for _, id := range desc.Expected {
		b, err := os.ReadFile(filepath.Join("testdata", id+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, b)
	}
	// All garbage but the last span is skipped; the last is the truncated
	// record Heka never emits.
	var garbage, tail int64
	for _, l := range desc.Layout {
		if l.Kind != "garbage" {
			continue
		}
		if g, _ := hex.DecodeString(l.Hex); !bytes.Equal(g, stream[l.Offset:l.Offset+l.Length]) {
			t.Fatalf("layout garbage at %d disagrees with the stream", l.Offset)
		}
		garbage += tail
		tail = int64(l.Length)
	}

	var keys KeySet
	for name, key := range desc.Signers {
		i := bytes.LastIndexByte([]byte(name), '_')
		v, _ := strconv.Atoi(name[i+1:])
		keys.Add(name[:i], uint32(v), key)
	}

	readers := map[string]func() io.Reader{
		"1":     func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream)) },
		"7":     func() io.Reader { return &chunkReader{stream, 7} },
		"4096":  func() io.Reader { return &chunkReader{stream, 4096} },
		"whole": func() io.Reader { return bytes.NewReader(stream) },
		"data+EOF": func() io.Reader {
			return iotest.DataErrReader(&chunkReader{stream, 1000})
		},
	}
	for name, open := range readers {
		t.Run(name, func(t *testing.T) {
			r := NewReader(open(), 0)
			var got [][]byte
			for {
				rec, err := r.Next()
				if err != nil {
					if !errors.Is(err, ErrTruncatedRecord) {
						t.Errorf("stream ended with %v, want ErrTruncatedRecord", err)
					}
					break
				}
				if st := rec.Verify(&keys); st != Valid && st != Unsigned {
					t.Errorf("record %d: %v", len(got), st)
				}
				var m metlog.Message
				if err := Unmarshal(rec.Message, &m); err != nil {
					t.Errorf("record %d: %v", len(got), err)
				}
				got = append(got, bytes.Clone(rec.Raw))
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF", err)
			}
			if len(got) != len(want) {
				t.Fatalf("got %d records, want %d", len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("record %d (%s) differs", i, desc.Expected[i])
				}
			}
			if r.Skipped() != garbage || r.Truncated() != tail {
				t.Errorf("Skipped, Truncated = %d, %d; want %d, %d", r.Skipped(), r.Truncated(), garbage, tail)
			}
		})
	}
}

// TestReaderResync covers the splitter's rules one at a time.
func TestReaderResync(t *testing.T) {
	rec := func(msg string) []byte {
		b, err := AppendRecordBytes(nil, []byte(msg), nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	a, b := rec("a"), rec("bb")
	z40 := bytes.Repeat([]byte{'z'}, 40)
	signed, err := AppendRecordBytes(nil, []byte("s"), &Signer{Name: "router", Hash: MD5, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if signed[1] != RecordSeparator {
		t.Fatalf("a six-letter MD5 signer should give a 0x1E header length, got %#x", signed[1])
	}
	tests := []struct {
		name      string
		maxMsg    int
		in        []byte
		want      [][]byte
		skipped   int64
		truncated int64
	}{
		{name: "empty"},
		{name: "one", in: a, want: [][]byte{a}},
		{name: "back to back", in: cat(a, b, a), want: [][]byte{a, b, a}},
		{name: "garbage only", in: []byte("hello\x1fworld"), skipped: 11},
		{name: "garbage around", in: cat([]byte("xx"), a, []byte("yyy"), b, []byte("z")), want: [][]byte{a, b}, skipped: 6},
		{name: "header length 0x1E", in: cat([]byte("x"), signed, a), want: [][]byte{signed, a}, skipped: 1},
		// A stray separator followed by a record reads the record's own
		// separator as a header length of 30; once 33 bytes are there and
		// the 0x1F check fails, the stray byte is skipped.
		{name: "separator before a record", in: cat([]byte{RecordSeparator}, a, z40, a), want: [][]byte{a, a}, skipped: 41},
		{name: "double separator", in: cat([]byte{RecordSeparator, RecordSeparator}, a, z40, a), want: [][]byte{a, a}, skipped: 42},
		{name: "separator before a record at the end", in: cat([]byte{RecordSeparator}, a), truncated: 7},
		{name: "unit separator missing", in: cat([]byte{RecordSeparator, 2, 8, 1, 'x'}, a), want: [][]byte{a}, skipped: 5},
		{name: "header does not decode", in: cat([]byte{RecordSeparator, 2, 0xff, 0xff, UnitSeparator}, a), want: [][]byte{a}, skipped: 5},
		{name: "empty header is an empty message", in: []byte{RecordSeparator, 0, UnitSeparator}, want: [][]byte{{RecordSeparator, 0, UnitSeparator}}},
		{name: "decodable garbage is a record, as in Heka", in: []byte{'x', RecordSeparator, 2, 8, 1, UnitSeparator, 'q'}, want: [][]byte{{RecordSeparator, 2, 8, 1, UnitSeparator, 'q'}}, skipped: 1},
		{name: "message over the limit", maxMsg: 1, in: cat(b, a), want: [][]byte{a}, skipped: int64(len(b))},
		{name: "message at the limit", maxMsg: 2, in: cat(b, a), want: [][]byte{b, a}},
		{name: "truncated record", in: cat(a, b[:len(b)-1]), want: [][]byte{a}, truncated: int64(len(b) - 1)},
		{name: "truncated header", in: cat(a, []byte{RecordSeparator, 9, 8}), want: [][]byte{a}, truncated: 3},
		{name: "lone separator at the end", in: cat(a, []byte{RecordSeparator}), want: [][]byte{a}, truncated: 1},
		// Heka waits for the 0x40 header bytes the first separator claims
		// and never looks at the record inside them once the stream ends.
		{name: "long claim hides a record at the end", in: cat([]byte{RecordSeparator, 0x40}, a), truncated: int64(2 + len(a))},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 3, 1 << 20} {
			t.Run(tt.name+"/"+strconv.Itoa(chunk), func(t *testing.T) {
				r := NewReader(&chunkReader{tt.in, chunk}, tt.maxMsg)
				got, err := readAll(t, r)
				if tt.truncated > 0 && !errors.Is(err, ErrTruncatedRecord) || tt.truncated == 0 && err != io.EOF {
					t.Errorf("end of stream: %v", err)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("got %d records %x, want %d", len(got), got, len(tt.want))
				}
				for i := range got {
					if !bytes.Equal(got[i], tt.want[i]) {
						t.Errorf("record %d = %x, want %x", i, got[i], tt.want[i])
					}
				}
				if r.Skipped() != tt.skipped || r.Truncated() != tt.truncated {
					t.Errorf("Skipped, Truncated = %d, %d; want %d, %d", r.Skipped(), r.Truncated(), tt.skipped, tt.truncated)
				}
			})
		}
	}
}

func TestReaderLargeRecords(t *testing.T) {
	// Records at the size limit, back to back, so that the buffer has to
	// grow to its largest and compact.
	msg := bytes.Repeat([]byte{'M'}, MaxMessageSize)
	rec, err := AppendRecordBytes(nil, msg, &Signer{Name: "n", Hash: SHA256, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	in := bytes.Join([][]byte{[]byte("junk"), rec, rec, []byte{1}, rec}, nil)
	r := NewReader(&chunkReader{in, 10000}, 0)
	got, err := readAll(t, r)
	if err != io.EOF || len(got) != 3 || r.Skipped() != 5 {
		t.Fatalf("got %d records, %v, skipped %d", len(got), err, r.Skipped())
	}
	for _, g := range got {
		if !bytes.Equal(g, rec) {
			t.Fatal("record differs")
		}
	}
	if len(r.buf) > MaxRecordSize {
		t.Errorf("buffer grew to %d, beyond the largest record %d", len(r.buf), MaxRecordSize)
	}
}

func TestReaderErrors(t *testing.T) {
	a, _ := AppendRecordBytes(nil, []byte("a"), nil)
	boom := errors.New("boom")

	// Records before a read error come first, then the error.
	r := NewReader(io.MultiReader(bytes.NewReader(a), iotest.ErrReader(boom)), 0)
	if rec, err := r.Next(); err != nil || !bytes.Equal(rec.Raw, a) {
		t.Fatalf("Next = %v", err)
	}
	if _, err := r.Next(); err != boom {
		t.Errorf("Next = %v, want the read error", err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("Next after the error = %v, want io.EOF", err)
	}

	// Reset starts over, counters included.
	r.Reset(bytes.NewReader(append([]byte("xy"), a...)))
	if rec, err := r.Next(); err != nil || !bytes.Equal(rec.Raw, a) || r.Skipped() != 2 {
		t.Errorf("after Reset: Next = %v, skipped %d", err, r.Skipped())
	}

	// A reader that makes no progress.
	r = NewReader(zeroReader{}, 0)
	if _, err := r.Next(); err != io.ErrNoProgress {
		t.Errorf("Next = %v, want io.ErrNoProgress", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderAllocs(t *testing.T) {
	m := benchMessage()
	var stream []byte
	for range 64 {
		var err error
		stream, err = AppendRecord(stream, m, &Signer{Name: "app", Version: 1, Hash: SHA256, Key: "k"})
		if err != nil {
			t.Fatal(err)
		}
	}
	br := bytes.NewReader(stream)
	r := NewReader(br, 0)
	allocs := testing.AllocsPerRun(20, func() {
		br.Reset(stream)
		r.Reset(br)
		n := 0
		for {
			if _, err := r.Next(); err != nil {
				break
			}
			n++
		}
		if n != 64 {
			t.Fatalf("read %d records", n)
		}
	})
	// The signer's name is the only allocation, once per pass.
	if allocs > 1 {
		t.Errorf("reading 64 records allocates %v times", allocs)
	}
}
