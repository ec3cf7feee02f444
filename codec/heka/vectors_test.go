package heka

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metlog/metlog"
)

// The vectors in testdata were produced by Heka's own encoder; their .json
// files describe the message as Heka decodes it (see testdata/README.md).

// vector is one conformance vector: its description and its bytes.
type vector struct {
	ID    string
	Bin   []byte // the framed record
	Msg   []byte // the Message protobuf
	Desc  vectorDesc
	Want  metlog.Message // what Desc.Message says Heka decoded
	Extra map[string]json.RawMessage
}

type vectorDesc struct {
	ID            string `json:"id"`
	FramedLen     int    `json:"framed_len"`
	HeaderLenByte int    `json:"header_len_byte"`
	HeaderHex     string `json:"header_hex"`
	Header        struct {
		MessageLength    uint32  `json:"message_length"`
		HmacHashFunction string  `json:"hmac_hash_function"`
		HmacSigner       *string `json:"hmac_signer"`
		HmacKeyVersion   *uint32 `json:"hmac_key_version"`
		HmacHex          string  `json:"hmac_hex"`
	} `json:"header"`
	MessageOffset int             `json:"message_offset"`
	MessageLen    int             `json:"message_len"`
	Signing       *vectorSigning  `json:"signing"`
	Message       json.RawMessage `json:"message"`
}

type vectorSigning struct {
	SignerName    string `json:"signer_name"`
	EffectiveHash string `json:"effective_hash"`
	HmacKey       string `json:"hmac_key"`
	KeyVersion    uint32 `json:"key_version"`
}

// loadVectors reads every framed vector in testdata (not the stream).
func loadVectors(t testing.TB) []vector {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "[0-3][0-9]-*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no vectors in testdata: %v", err)
	}
	var vs []vector
	for _, name := range names {
		v := vector{ID: strings.TrimSuffix(filepath.Base(name), ".json")}
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v.Desc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v.Bin, err = os.ReadFile(filepath.Join("testdata", v.ID+".bin")); err != nil {
			t.Fatal(err)
		}
		if len(v.Bin) != v.Desc.FramedLen || v.Desc.MessageOffset+v.Desc.MessageLen != len(v.Bin) {
			t.Fatalf("%s: framing sizes in .json do not match the .bin", v.ID)
		}
		v.Msg = v.Bin[v.Desc.MessageOffset:]
		if pb, err := os.ReadFile(filepath.Join("testdata", v.ID+".pb")); err == nil && !bytes.Equal(pb, v.Msg) {
			t.Fatalf("%s: .pb differs from the message in .bin", v.ID)
		}
		v.Want = parseVectorMessage(t, v.ID, v.Desc.Message)
		vs = append(vs, v)
	}
	return vs
}

// parseVectorMessage turns the "message" object of a vector description
// into the metlog.Message it describes.
func parseVectorMessage(t testing.TB, id string, raw json.RawMessage) metlog.Message {
	t.Helper()
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		t.Fatalf("%s: message: %v", id, err)
	}
	var m metlog.Message
	if u := jsonString(t, id, obj["uuid_hex"]); u != "" {
		b, err := hex.DecodeString(u)
		if err != nil || len(b) != 16 {
			t.Fatalf("%s: uuid_hex %q", id, u)
		}
		copy(m.UUID[:], b)
	}
	m.Timestamp = jsonInt(t, id, obj["timestamp_ns"])
	m.Type = jsonString(t, id, obj["type"])
	m.Logger = jsonString(t, id, obj["logger"])
	m.Severity = metlog.Severity(jsonInt(t, id, obj["severity_effective"]))
	m.Payload = jsonString(t, id, obj["payload"])
	m.EnvVersion = jsonString(t, id, obj["env_version"])
	m.Pid = int32(jsonInt(t, id, obj["pid"]))
	m.Hostname = jsonString(t, id, obj["hostname"])
	if n := jsonInt(t, id, obj["payload_len"]); obj["payload_len"] != nil && int(n) != len(m.Payload) {
		t.Fatalf("%s: payload_len %d but payload has %d bytes", id, n, len(m.Payload))
	}

	var fields []struct {
		Name           json.RawMessage   `json:"name"`
		ValueTypeNum   int               `json:"value_type_num"`
		Representation json.RawMessage   `json:"representation"`
		Values         []json.RawMessage `json:"values"`
		DoubleBitsHex  []string          `json:"double_bits_hex"`
	}
	if err := json.Unmarshal(obj["fields"], &fields); err != nil {
		t.Fatalf("%s: fields: %v", id, err)
	}
	for _, jf := range fields {
		f := metlog.Field{
			Name:           jsonString(t, id, jf.Name),
			Type:           metlog.ValueType(jf.ValueTypeNum),
			Representation: jsonString(t, id, jf.Representation),
		}
		for i, jv := range jf.Values {
			switch f.Type {
			case metlog.TypeString:
				f.Strings = append(f.Strings, jsonString(t, id, jv))
			case metlog.TypeBytes:
				b, err := hex.DecodeString(jsonString(t, id, jv))
				if err != nil {
					t.Fatalf("%s: bytes value: %v", id, err)
				}
				f.Bytes = append(f.Bytes, b)
			case metlog.TypeInteger:
				f.Integers = append(f.Integers, jsonInt(t, id, jv))
			case metlog.TypeDouble:
				f.Doubles = append(f.Doubles, jsonDouble(t, id, jv, jf.DoubleBitsHex[i]))
			case metlog.TypeBool:
				var b bool
				if err := json.Unmarshal(jv, &b); err != nil {
					t.Fatalf("%s: bool value: %v", id, err)
				}
				f.Bools = append(f.Bools, b)
			}
		}
		m.Fields = append(m.Fields, f)
	}
	return m
}

// jsonString reads a JSON string, {"invalid_utf8_hex": ...}, or an absent
// or null value as "".
func jsonString(t testing.TB, id string, raw json.RawMessage) string {
	t.Helper()
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if raw[0] == '{' {
		var o struct {
			Hex string `json:"invalid_utf8_hex"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatalf("%s: %s: %v", id, raw, err)
		}
		b, err := hex.DecodeString(o.Hex)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return string(b)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %s: %v", id, raw, err)
	}
	return s
}

// jsonInt reads an exact JSON integer; absent or null is 0.
func jsonInt(t testing.TB, id string, raw json.RawMessage) int64 {
	t.Helper()
	if len(raw) == 0 || string(raw) == "null" {
		return 0
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatalf("%s: %s: %v", id, raw, err)
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("%s: %s: %v", id, raw, err)
	}
	return v
}

// jsonDouble reads a double from its exact bits, checking that the JSON
// value (a number, or "NaN", "+Inf", "-Inf") agrees with them.
func jsonDouble(t testing.TB, id string, raw json.RawMessage, bitsHex string) float64 {
	t.Helper()
	b, err := hex.DecodeString(bitsHex)
	if err != nil || len(b) != 8 {
		t.Fatalf("%s: double_bits_hex %q", id, bitsHex)
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(b))
	var ok bool
	switch string(raw) {
	case `"NaN"`:
		ok = math.IsNaN(v)
	case `"+Inf"`:
		ok = math.IsInf(v, 1)
	case `"-Inf"`:
		ok = math.IsInf(v, -1)
	default:
		var f float64
		ok = json.Unmarshal(raw, &f) == nil && f == v
	}
	if !ok {
		t.Fatalf("%s: double %s disagrees with its bits %s", id, raw, bitsHex)
	}
	return v
}

func hashByName(t testing.TB, name string) Hash {
	t.Helper()
	switch name {
	case "", "MD5":
		return MD5
	case "SHA1":
		return SHA1
	}
	t.Fatalf("unknown hash %q in vector", name)
	return 0
}

// TestVectorsDecode checks that every vector's record parses with the
// header its .json gives and decodes to the message its .json describes.
func TestVectorsDecode(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			var r Record
			n, err := ParseRecord(v.Bin, &r, 0)
			if err != nil || n != len(v.Bin) {
				t.Fatalf("ParseRecord = %d, %v; want %d, nil", n, err, len(v.Bin))
			}
			if int(v.Bin[1]) != v.Desc.HeaderLenByte || hex.EncodeToString(v.Bin[2:2+v.Bin[1]]) != v.Desc.HeaderHex {
				t.Fatalf("vector header bytes disagree with .json")
			}
			dh := v.Desc.Header
			if r.Header.MessageLength != dh.MessageLength || r.Header.Hash != hashByName(t, dh.HmacHashFunction) ||
				hex.EncodeToString(r.Header.HMAC) != dh.HmacHex {
				t.Errorf("header = %+v, want %+v", r.Header, dh)
			}
			if dh.HmacSigner != nil && (r.Header.Signer != *dh.HmacSigner || r.Header.KeyVersion != *dh.HmacKeyVersion) {
				t.Errorf("header signer = %q v%d, want %q v%d", r.Header.Signer, r.Header.KeyVersion, *dh.HmacSigner, *dh.HmacKeyVersion)
			}
			if !bytes.Equal(r.Message, v.Msg) {
				t.Errorf("Record.Message is not the vector's message bytes")
			}
			if got := r.Header.AppendProtobuf(nil); !bytes.Equal(got, v.Bin[2:2+v.Bin[1]]) {
				t.Errorf("Header.AppendProtobuf = %x, want Heka's %s", got, v.Desc.HeaderHex)
			}

			var m metlog.Message
			if err := Unmarshal(r.Message, &m); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if !m.Equal(&v.Want) {
				t.Errorf("Unmarshal\n got %+v\nwant %+v", m, v.Want)
			}
		})
	}
}

// hekaDifferences lists the vectors whose content our encoder cannot write
// with Heka's bytes, and why (see the package doc). Every vector Heka wrote
// without a severity also differs by the "28 07" metlog always writes;
// TestVectorsEncode inserts it into Heka's bytes before comparing.
var hekaDifferences = map[string]string{
	"10-empty-strings":               "present-but-empty type, logger, payload, env_version and hostname are not written",
	"15-zero-severity-pid":           "pid 0 is not written",
	"17-field-without-optional-tags": "value_type and representation are written for every field",
	"21-missing-required-fields":     "uuid and timestamp are always written",
}

// TestVectorsEncode re-encodes every vector's message and compares the
// bytes with Heka's: identical, apart from the differences documented in
// hekaDifferences. It also checks the encoder's output decodes back to the
// same message, and that AppendRecord frames it as Heka does.
func TestVectorsEncode(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			m := v.Want
			got := m.AppendProtobuf(nil)
			if len(got) != m.ProtobufSize() {
				t.Errorf("ProtobufSize = %d, AppendProtobuf wrote %d", m.ProtobufSize(), len(got))
			}
			var back metlog.Message
			if err := Unmarshal(got, &back); err != nil {
				t.Fatalf("Unmarshal(AppendProtobuf): %v", err)
			}
			if !back.Equal(&m) {
				t.Errorf("round trip\n got %+v\nwant %+v", back, m)
			}

			want := withSeverity(t, v.Msg)
			reason, differs := hekaDifferences[v.ID]
			switch {
			case !differs && !bytes.Equal(got, want):
				t.Errorf("bytes differ from Heka's\n got %x\nwant %x", got, want)
			case differs && bytes.Equal(got, want):
				t.Errorf("bytes are Heka's; remove the documented difference %q", reason)
			}

			// Framing our message bytes by hand and by AppendRecord agree.
			rec, err := AppendRecord(nil, &m, nil)
			if len(got) > MaxMessageSize {
				if !errors.Is(err, ErrMessageTooLarge) {
					t.Errorf("AppendRecord of %d bytes: err = %v, want ErrMessageTooLarge", len(got), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantRec, err := AppendRecordBytes(nil, got, nil)
			if err != nil || !bytes.Equal(rec, wantRec) {
				t.Errorf("AppendRecord = %x, AppendRecordBytes = %x, %v", rec, wantRec, err)
			}
		})
	}
}

// TestVectorsFrame frames each vector's message bytes, signed as the vector
// was, and expects Heka's record byte for byte.
func TestVectorsFrame(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			var s *Signer
			if sg := v.Desc.Signing; sg != nil {
				s = &Signer{Name: sg.SignerName, Version: sg.KeyVersion, Hash: hashByName(t, sg.EffectiveHash), Key: sg.HmacKey}
			}
			prefix := []byte("prefix")
			got, err := AppendRecordBytes(prefix, v.Msg, s)
			if err != nil {
				t.Fatal(err)
			}
			if string(got[:len(prefix)]) != "prefix" || !bytes.Equal(got[len(prefix):], v.Bin) {
				t.Errorf("AppendRecordBytes\n got %x\nwant %x", got[len(prefix):], v.Bin)
			}
		})
	}
}

// withSeverity returns Heka's message bytes with "28 07" inserted after
// the timestamp when Heka wrote no severity, which is what metlog writes
// for the same message. It walks the top-level tags of a valid message.
func withSeverity(t testing.TB, msg []byte) []byte {
	t.Helper()
	w := wire{b: msg}
	insertAt := 0
	for w.more() {
		num, typ, err := w.tag()
		if err != nil {
			t.Fatal(err)
		}
		if num == 5 {
			return msg
		}
		if num > 5 {
			break
		}
		if err := w.skip(typ); err != nil {
			t.Fatal(err)
		}
		insertAt = w.off
	}
	out := append([]byte(nil), msg[:insertAt]...)
	out = append(out, 5<<3|wireVarint, 7)
	return append(out, msg[insertAt:]...)
}
