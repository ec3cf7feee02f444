package metlog_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

// directMessages are messages AppendJSONProtobuf must write directly (and
// the same bytes as AppendJSON), whatever their values.
func directMessages() []*metlog.Message {
	u := metlog.UUID{0x01, 0x93, 0x4b, 0x2a, 0x10, 0x00, 0x70, 0x00, 0x80, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}
	return []*metlog.Message{
		{},
		{UUID: u, Timestamp: 1767323045000000000, Type: "oldstyle", Logger: "bench", Severity: metlog.Info,
			EnvVersion: metlog.EnvVersion, Pid: 4242, Hostname: "web1",
			Fields: []metlog.Field{metlog.Int("status", 200)}, Payload: "#s=0000001234 @t=1767323045123456789 xxx"},
		{UUID: u, Timestamp: -1, Severity: -3, Pid: -1, Type: "é\x00\"\\\t", Logger: "\xff\xfe", Payload: "😀 line\n",
			Hostname: "h", EnvVersion: "0.8", Fields: []metlog.Field{
				metlog.String("s", "v"), metlog.Strings("ss", "a", "b\u2028"), {Name: "none", Type: metlog.TypeString},
				metlog.Bytes("b", []byte{0, 1, 2, 255}), metlog.Int("i", math.MinInt64), metlog.Ints("is", 1, -2, 3),
				metlog.Float("d", 0.1), metlog.Floats("ds", 1e16, 1.5e-05, math.NaN(), math.Inf(-1), math.Copysign(0, -1)),
				metlog.Bool("t", true), metlog.Bools("bs", true, false), metlog.Int("i", 2), metlog.String("", "empty name"),
				{Name: "no ints", Type: metlog.TypeInteger},
			}},
		{Timestamp: 1767323045123456789, Severity: metlog.Debug, Fields: []metlog.Field{metlog.Int("rate", 1)}},
	}
}

// fallbackMessages are messages AppendJSONProtobuf leaves to AppendJSON.
func fallbackMessages() []*metlog.Message {
	raw := metlog.String("obj", `{"a":1}`)
	raw.Representation = metlog.RepresentationJSON
	ms := metlog.Int("latency", 12)
	ms.Representation = "ms"
	many := &metlog.Message{}
	for range 33 {
		many.Fields = append(many.Fields, metlog.Int("n", 1))
	}
	return []*metlog.Message{
		{Fields: []metlog.Field{metlog.String("headers.path", "/")}},
		{Fields: []metlog.Field{raw}},
		{Fields: []metlog.Field{ms}},
		many,
	}
}

// checkJSONProtobuf checks AppendJSONProtobuf on pb against decoding pb
// with heka.Unmarshal and encoding it with AppendJSON, and returns whether
// it wrote pb directly.
func checkJSONProtobuf(t *testing.T, pb []byte) bool {
	t.Helper()
	prefix := []byte("prefix")
	got, ok := metlog.AppendJSONProtobuf(prefix, pb)
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("dst's contents changed: %q", got)
	}
	var m metlog.Message
	err := heka.Unmarshal(pb, &m)
	if !ok {
		if len(got) != len(prefix) {
			t.Fatalf("reported false after writing %q", got[len(prefix):])
		}
		return false
	}
	if err != nil {
		t.Fatalf("wrote %q for a message heka.Unmarshal rejects (%v)\n%x", got[len(prefix):], err, pb)
	}
	if want := m.AppendJSON(nil); !bytes.Equal(got[len(prefix):], want) {
		t.Fatalf("AppendJSONProtobuf differs from AppendJSON\n got %s\nwant %s\npb %x", got[len(prefix):], want, pb)
	}
	return true
}

func TestAppendJSONProtobuf(t *testing.T) {
	for i, m := range directMessages() {
		if !checkJSONProtobuf(t, m.AppendProtobuf(nil)) {
			t.Errorf("message %d not written directly: %+v", i, m)
		}
	}
	for i, m := range fallbackMessages() {
		if checkJSONProtobuf(t, m.AppendProtobuf(nil)) {
			t.Errorf("fallback message %d written directly", i)
		}
	}
	// Heka's own encoding: unpacked values, 10-byte varints, short uuids.
	for _, pb := range hekaVectors(t) {
		checkJSONProtobuf(t, pb)
	}
	unpacked := []byte{
		0x52, 0x16, // fields, 22 bytes
		0x0a, 0x01, 'n', // name
		0x10, 0x02, // value_type integer
		0x30, 0x05, 0x30, 0x7f, // value_integer 5, 127, unpacked
		0x32, 0x02, 0x01, 0x02, // packed 1, 2
		0x1a, 0x00, // empty representation
		0x10, 0x02, // value_type again
		0x30, 0xff, 0x01, // 255
		0x30, 0x00,
	}
	if !checkJSONProtobuf(t, unpacked) {
		t.Error("unpacked integers not written directly")
	}
}

func TestAppendJSONProtobufMalformed(t *testing.T) {
	pb := directMessages()[2].AppendProtobuf(nil)
	for n := range len(pb) {
		checkJSONProtobuf(t, pb[:n])
	}
	for i := range pb {
		for _, b := range []byte{0x00, 0x07, 0x80, 0xff} {
			c := bytes.Clone(pb)
			c[i] = b
			checkJSONProtobuf(t, c)
		}
	}
}

// hekaVectors returns the protobuf messages of codec/heka's conformance
// vectors, records produced by Heka's own encoder.
func hekaVectors(t testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("codec", "heka", "testdata", "*.bin"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Heka vectors: %v", err)
	}
	var msgs [][]byte
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		r := heka.NewReader(bytes.NewReader(data), heka.MaxMessageSize)
		for {
			rec, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				break // the vectors with garbage end in it
			}
			msgs = append(msgs, bytes.Clone(rec.Message))
		}
	}
	return msgs
}

func FuzzAppendJSONProtobuf(f *testing.F) {
	for _, m := range append(directMessages(), fallbackMessages()...) {
		f.Add(m.AppendProtobuf(nil))
	}
	for _, pb := range hekaVectors(f) {
		if len(pb) < 4096 {
			f.Add(pb)
		}
	}
	f.Fuzz(func(t *testing.T, pb []byte) {
		checkJSONProtobuf(t, pb)
	})
}

// likeRecords returns records of messages that share an envelope, some
// also their fields, as a stream's mostly do, and near misses between
// them.
func likeRecords() [][]byte {
	u := metlog.UUID{0x01, 0x93, 0x4b, 0x2a, 0x10, 0x00, 0x70, 0x00, 0x80, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc}
	base := metlog.Message{UUID: u, Timestamp: 1767323045123456000, Type: "oldstyle", Logger: "bench",
		Severity: metlog.Info, Payload: "hello", EnvVersion: "0.8", Pid: 4242, Hostname: "web1",
		Fields: []metlog.Field{metlog.Int("status", 200), metlog.String("path", "/a")}}
	var recs [][]byte
	add := func(edit func(m *metlog.Message)) {
		m := base
		m.Fields = append([]metlog.Field(nil), base.Fields...)
		edit(&m)
		recs = append(recs, m.AppendProtobuf(nil))
	}
	for i := range 5 {
		add(func(m *metlog.Message) {
			m.UUID[15] = byte(i)
			m.Timestamp += int64(i) * 1e9
			m.Payload = string(bytes.Repeat([]byte{'x'}, i*40)) + "\"\n\u00e9"
		})
	}
	add(func(m *metlog.Message) { m.Payload = "" })
	add(func(m *metlog.Message) { m.Payload = "p" })
	add(func(m *metlog.Message) { m.UUID = metlog.UUID{} })
	add(func(m *metlog.Message) { m.Fields[0].Integers = []int64{201} })
	add(func(m *metlog.Message) { m.Fields[0].Integers = []int64{202} })
	add(func(m *metlog.Message) { m.Severity = metlog.Error })
	add(func(m *metlog.Message) { m.Timestamp = 0 })
	add(func(m *metlog.Message) { m.Pid = 0 })
	add(func(m *metlog.Message) {})
	// A record with its payload twice: the last one counts.
	twice := append(append([]byte(nil), recs[len(recs)-1]...), 0x32, 1, 'z')
	recs = append(recs, twice, recs[len(recs)-1])
	return recs
}

// TestJSONProtobufEncoder checks that the encoder writes what
// AppendJSONProtobuf writes, record after record, and that it writes the
// records like the one before by comparison.
func TestJSONProtobufEncoder(t *testing.T) {
	var e metlog.JSONProtobufEncoder
	recs := likeRecords()
	for _, pb := range recs {
		sameEncoding(t, &e, pb)
	}
	if e.LikeHits() < 4 {
		t.Errorf("%d of %d records written by comparison, want at least 4", e.LikeHits(), len(recs))
	}
}

// sameEncoding fails t unless e writes pb as AppendJSONProtobuf does.
func sameEncoding(t *testing.T, e *metlog.JSONProtobufEncoder, pb []byte) {
	t.Helper()
	want, wok := metlog.AppendJSONProtobuf([]byte("prefix"), pb)
	got, gok := e.Append([]byte("prefix"), pb)
	if gok != wok || !bytes.Equal(got, want) {
		t.Fatalf("record %x:\nencoder %v %s\nfunction %v %s", pb, gok, got, wok, want)
	}
}

// FuzzJSONProtobufEncoder feeds an encoder a sequence of records, each
// prefixed with its length in one byte, and checks each against
// AppendJSONProtobuf.
func FuzzJSONProtobufEncoder(f *testing.F) {
	var all []byte
	for _, pb := range likeRecords() {
		if len(pb) < 256 {
			all = append(append(all, byte(len(pb))), pb...)
		}
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, data []byte) {
		var e metlog.JSONProtobufEncoder
		for len(data) > 0 {
			n := min(int(data[0]), len(data)-1)
			sameEncoding(t, &e, data[1:1+n])
			data = data[1+n:]
		}
	})
}

// After a run of records each unlike the one before, the encoder
// remembers seldom, and starts writing by comparison again within 64
// records of a run of like ones.
func TestJSONProtobufEncoderBackoff(t *testing.T) {
	m := metlog.Message{UUID: metlog.UUID{1}, Timestamp: 1e18, Type: "t", Payload: "p", Hostname: "h"}
	var e metlog.JSONProtobufEncoder
	for i := range 100 {
		m.Fields = []metlog.Field{metlog.Int("n", int64(i))}
		sameEncoding(t, &e, m.AppendProtobuf(nil))
	}
	if e.LikeHits() != 0 {
		t.Fatalf("%d records unlike the one before written by comparison", e.LikeHits())
	}
	for i := range 100 {
		m.Payload = fmt.Sprint("line ", i)
		sameEncoding(t, &e, m.AppendProtobuf(nil))
	}
	if e.LikeHits() < 100-64 {
		t.Errorf("%d of 100 like records written by comparison, want at least 36", e.LikeHits())
	}
}
