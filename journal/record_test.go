package journal

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden journal in testdata/v1")

func TestFrame(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, MaxRecordSize} {
		r := recN(n, n)
		b := appendFrame([]byte("x"), r)[1:]
		if len(b) != frameLen(n) {
			t.Errorf("%d bytes: frame of %d, frameLen says %d", n, len(b), frameLen(n))
		}
		if int(b[1]) > maxHeaderLen {
			t.Errorf("%d bytes: header of %d", n, b[1])
		}
		got, m, res := scanFrame(b)
		if res != frameOK || m != len(b) || !bytes.Equal(got, r) {
			t.Errorf("%d bytes: scan = %d, %d", n, res, m)
		}
		for cut := range len(b) {
			if _, _, res := scanFrame(b[:cut]); res != frameShort {
				t.Fatalf("%d bytes cut at %d: %d, want short", n, cut, res)
			}
		}
	}
}

// header builds a Header protobuf from raw fields.
func header(fields ...[]byte) []byte { return bytes.Join(fields, nil) }

func frameWith(h, body []byte) []byte {
	b := append([]byte{recordSeparator, byte(len(h))}, h...)
	b = append(b, unitSeparator)
	return append(b, body...)
}

func TestScanFrame(t *testing.T) {
	body := []byte("hello")
	sum := binary.LittleEndian.AppendUint32(nil, crcOf(body))
	lenField := []byte{tagLength, byte(len(body))}
	crcField := append([]byte{tagCRC}, sum...)
	cases := []struct {
		name string
		in   []byte
		want scanResult
	}{
		{"valid", frameWith(header(lenField, crcField), body), frameOK},
		{"fields reversed", frameWith(header(crcField, lenField), body), frameOK},
		{"heka hmac fields skipped", frameWith(header(lenField, []byte{0x18, 0x01, 0x22, 0x02, 'h', 'i', 0x28, 0x00, 0x32, 0x01, 0xAA}, crcField), body), frameOK},
		{"unknown fixed64 skipped", frameWith(header(lenField, []byte{0x11, 1, 2, 3, 4, 5, 6, 7, 8}, crcField), body), frameOK},
		{"no crc (plain heka)", frameWith(header(lenField), body), frameBad},
		{"no length", frameWith(header(crcField), body), frameBad},
		{"wrong crc", frameWith(header(lenField, []byte{tagCRC, 0, 0, 0, 0}), body), frameBad},
		{"crc as varint", frameWith(header(lenField, []byte{15 << 3, 1}), body), frameBad},
		{"length over the limit", frameWith(header([]byte{tagLength, 0x81, 0x80, 0x04}, crcField), body), frameBad},
		{"length as fixed32", frameWith(header([]byte{1<<3 | 5, 5, 0, 0, 0}, crcField), body), frameBad},
		{"group wire type", frameWith(header(lenField, []byte{0x13}, crcField), body), frameBad},
		{"truncated varint", frameWith(header([]byte{tagLength, 0x80}), body), frameBad},
		{"truncated bytes field", frameWith(header(lenField, []byte{0x22, 0x09, 'x'}), body), frameBad},
		{"zero header length", []byte{recordSeparator, 0, unitSeparator}, frameBad},
		{"no unit separator", append(frameWith(header(lenField, crcField), body)[:9], 'x'), frameBad},
		{"not a separator", []byte("garbage"), frameBad},
		{"lone byte", []byte{'x'}, frameBad},
		{"empty", nil, frameShort},
		{"separator only", []byte{recordSeparator}, frameShort},
		{"body short", frameWith(header(lenField, crcField), body[:4]), frameShort},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, n, res := scanFrame(c.in)
			if res != c.want {
				t.Fatalf("got %d, want %d", res, c.want)
			}
			if res == frameOK && (n != len(c.in) || !bytes.Equal(rec, body)) {
				t.Fatalf("got %q, %d bytes", rec, n)
			}
		})
	}
}

func crcOf(b []byte) uint32 {
	f := appendFrame(nil, b)
	return binary.LittleEndian.Uint32(f[2+int(f[1])-4:])
}

// TestHekaVectors scans Heka's own streams: records without the journal's
// checksum are corrupt to the journal, and every byte is accounted for.
func TestHekaVectors(t *testing.T) {
	for _, name := range []string{"01-minimal.bin", "19-separator-bytes-in-payload.bin", "40-stream-with-garbage.bin"} {
		b, err := os.ReadFile(filepath.Join("testdata", "heka", name))
		if err != nil {
			t.Fatal(err)
		}
		recs, spans := scanAll(t, b)
		if len(recs) != 0 || len(spans) == 0 {
			t.Errorf("%s: %d records, %d spans", name, len(recs), len(spans))
		}
	}
}

// scanAll scans b as a sealed segment. It checks that every byte is in a
// record or in a corrupt span.
func scanAll(t testing.TB, b []byte) (recs [][]byte, spans []span) {
	f := &memFile{data: b}
	var s segScanner
	s.reset(f, 0)
	covered := int64(0)
	for {
		from, nspans := s.pos, len(s.spans)
		rec, ev := s.scan(s.next() == int64(len(b)))
		switch ev {
		case evRecord:
			recs = append(recs, append([]byte(nil), rec...))
			covered += s.pos - from
			for _, sp := range s.spans[nspans:] {
				covered -= sp.n
			}
			continue
		case evNeed:
			if _, err := s.fill(int64(len(b))); err != nil {
				t.Fatal(err)
			}
			continue
		}
		break
	}
	for _, sp := range s.spans {
		covered += sp.n
	}
	if covered != int64(len(b)) {
		t.Fatalf("records and corrupt spans cover %d of %d bytes", covered, len(b))
	}
	return recs, s.spans
}

// TestGoldenJournal opens a journal directory written by an earlier version
// of this package: the on-disk format must stay readable. Run with -update
// to rewrite it (only when the format changes on purpose).
func TestGoldenJournal(t *testing.T) {
	golden := filepath.Join("testdata", "v1")
	if *update {
		os.RemoveAll(golden)
		j := openDir(t, golden, Options{})
		r, _ := j.Reader("out")
		appendRange(t, j, 0, 100, 10)
		if err := r.Commit(readN(t, r, 0, 40, 40)); err != nil {
			t.Fatal(err)
		}
		j.Close()
		os.Remove(filepath.Join(golden, lockName))
	}
	dir := copyDir(t, golden)
	j := openDir(t, dir, Options{})
	s := j.Stats()
	if s.Head.Seq != 100 || s.Torn != 0 || s.Corrupt != 0 || len(s.Readers) != 1 || s.Readers[0].Committed.Seq != 40 {
		t.Fatalf("golden journal: %+v", s)
	}
	r, err := j.Reader("out")
	if err != nil {
		t.Fatal(err)
	}
	readN(t, r, 40, 60, 100)
}

// FuzzScan feeds arbitrary bytes to the segment scanner: it must never
// panic, every byte must end up in a record or a corrupt span, and every
// record must frame back into bytes that scan to it.
func FuzzScan(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, spans := scanAll(t, b)
		for _, r := range recs {
			fr := appendFrame(nil, r)
			got, n, res := scanFrame(fr)
			if res != frameOK || n != len(fr) || !bytes.Equal(got, r) {
				t.Fatalf("record does not round-trip: %q", r)
			}
		}
		for _, sp := range spans {
			if sp.n <= 0 || sp.off < 0 || sp.off+sp.n > int64(len(b)) {
				t.Fatalf("span %+v out of %d bytes", sp, len(b))
			}
		}
	})
}

// addSeeds adds every file under testdata as a seed, and a few segments
// built here.
func addSeeds(f interface{ Add(args ...any) }) {
	filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	var seg []byte
	for i := range 5 {
		seg = appendFrame(seg, recN(i, 10*i))
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-3])
	bad := append([]byte(nil), seg...)
	bad[20] ^= 0xFF
	f.Add(bad)
}
