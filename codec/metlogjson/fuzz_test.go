package metlogjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/metlog/metlog"
)

// seedCaptures adds every capture, and a few hand-written oddities, to the
// corpus of f.
func seedCaptures(f *testing.F) {
	for _, file := range captures(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		`{"fields": {"a": 1, "a.b": 2, "a": {"c": [1, 2.5]}}, "x": {"y": null}}`,
		`{"payload": {"k": [1, "two", {}]}, "fields": {"payload_type": "json"}}`,
		`{"fields": {"n": {"a": 1}, "x": 2, "n.b": 3}, "representations": {"x": ["ms"], "n.a": "B"}}`,
		`{"timestamp": 1795312169.187659123, "uuid": "018f6b2e4c3a7d129abcdef012345678"}`,
		`{"fields": {"s": "\ud83d\ude00\ud800\u00e9\u0000", "d": [NaN, -Infinity], "e": -0.0}}`,
		`{"fields": {"": {"": {".": 1}}, "big": [1e400, 18446744073709551616]}}`,
		`{"payload": 5, "fields": {"payload_type": "json", "x": 1}, "representations": {"payload_type": "json"}}`,
	} {
		f.Add([]byte(s))
	}
}

// roundTrip checks that m encodes to JSON that decodes to an equal message
// and encodes to the same bytes again.
func roundTrip(t *testing.T, m *metlog.Message) {
	t.Helper()
	out := m.AppendJSON(nil)
	if !bytes.Contains(out, []byte("NaN")) && !bytes.Contains(out, []byte("Infinity")) && !json.Valid(out) {
		t.Fatalf("encoder wrote invalid JSON: %s", out)
	}
	var m2 metlog.Message
	// Encoding can be longer than the input (\u escapes), so no size limit.
	if err := (Limits{MaxSize: math.MaxInt}).Decode(out, &m2); err != nil {
		t.Fatalf("decoding the encoding: %v\n%s", err, out)
	}
	if !m.Equal(&m2) {
		t.Fatalf("decode→encode→decode differs:\n%s\nencoded as %s\ndecoded as\n%s", dump(m), out, dump(&m2))
	}
	if out2 := m2.AppendJSON(nil); !bytes.Equal(out, out2) {
		t.Fatalf("encoding is not stable:\n%s\n%s", out, out2)
	}
}

// FuzzDecode checks that Decode never panics, fails only with an *Error,
// and that whatever it decodes survives encode → decode unchanged.
func FuzzDecode(f *testing.F) {
	seedCaptures(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m metlog.Message
		err := Decode(data, &m)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			if e.Offset < 0 || e.Offset > int64(len(data)) {
				t.Fatalf("error offset %d outside the input of %d bytes", e.Offset, len(data))
			}
			return
		}
		for i := range m.Fields {
			for _, s := range m.Fields[i].Strings {
				if !utf8.ValidString(s) {
					t.Fatalf("decoded invalid UTF-8 %q", s)
				}
			}
		}
		roundTrip(t, &m)
	})
}

// FuzzDecoder checks that the stream Decoder never panics, always makes
// progress, and decodes the same messages as Decode.
func FuzzDecoder(f *testing.F) {
	seedCaptures(f)
	f.Add([]byte("{}\n{\"a\": \"b\n{\"type\": \"t\"}\ngarbage\n{\n  \"x\": 1\n}\n{\"y\""))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data))
		d.Limits.MaxSize = 4096
		var m metlog.Message
		for n := 0; ; n++ {
			if n > len(data)+1 {
				t.Fatalf("no progress after %d calls", n)
			}
			before, skipping := d.InputOffset(), d.resync
			err := d.Decode(&m)
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.As(err, new(*Error)) {
					t.Fatalf("error %v is not an *Error", err)
				}
				continue
			}
			if skipping {
				continue // junk was skipped before the message
			}
			// The message just read is data[before:after] plus white space.
			var single metlog.Message
			if err := Decode(data[before:d.InputOffset()], &single); err != nil {
				t.Fatalf("Decoder read a message Decode rejects: %v", err)
			}
			if !m.Equal(&single) {
				t.Fatalf("Decoder and Decode disagree:\n%s\n%s", dump(&m), dump(&single))
			}
		}
	})
}

// FuzzEncode builds messages with awkward fields (dotted names that collide,
// repeated names, representations, payload markers) and checks that they
// survive encode → decode, exactly when the encoder promises it.
func FuzzEncode(f *testing.F) {
	f.Add("a|a.b|a|n.a|x|n.b|n.a.c", []byte{0, 2, 3, 4, 1, 0, 2}, "ms", "payload", int64(7), 1.5)
	f.Add("..|.|a..b||a.|a", []byte{2, 2, 2, 2, 2, 2}, "", "{\"x\": [1, 2]}", int64(-1), math.Inf(1))
	f.Add("payload_type|x.y.z|x.y|x", []byte{5, 6, 7, 0}, "json", "12", int64(1)<<62, math.Copysign(0, -1))
	f.Fuzz(func(t *testing.T, names string, kinds []byte, rep, payload string, iv int64, fv float64) {
		if !utf8.ValidString(names) || !utf8.ValidString(rep) || !utf8.ValidString(payload) {
			return // strings from the decoder are always valid UTF-8
		}
		if math.IsNaN(fv) {
			fv = math.NaN() // the one NaN the decoder produces
		}
		m := &metlog.Message{Type: "t", Payload: payload, Severity: 3, EnvVersion: "0.8"}
		for i, name := range strings.Split(names, "|") {
			if i >= 64 {
				break
			}
			k := byte(0)
			if i < len(kinds) {
				k = kinds[i]
			}
			var fld metlog.Field
			switch k % 8 {
			case 0:
				fld = metlog.String(name, payload)
			case 1:
				fld = metlog.Ints(name, iv, iv/2)
			case 2:
				fld = metlog.Float(name, fv)
			case 3:
				fld = metlog.Bools(name, true, false)
			case 4:
				fld = metlog.Strings(name, rep, name)
			case 5:
				fld = metlog.String(name, "json").WithRepresentation(metlog.RepresentationJSON)
			case 6:
				fld = metlog.Int(name, iv)
			case 7:
				fld = metlog.Floats(name, fv, 1)
			}
			if k&0x10 != 0 {
				fld.Representation = rep
			}
			m.Fields = append(m.Fields, fld)
		}
		out := m.AppendJSON(nil)
		m2, err := Limits{MaxSize: math.MaxInt}.decodeNew(out)
		if err != nil {
			t.Fatalf("decoding the encoding: %v\n%s", err, out)
		}
		if representable(m) && !m.Equal(m2) {
			t.Fatalf("encode→decode differs:\n%s\nencoded as %s\ndecoded as\n%s", dump(m), out, dump(m2))
		}
		roundTrip(t, m2)
	})
}

func (l Limits) decodeNew(data []byte) (*metlog.Message, error) {
	m := new(metlog.Message)
	return m, l.Decode(data, m)
}

// representable reports whether AppendJSON promises that m reads back
// equal: no raw JSON (it is re-spaced) and, when the payload is marked as
// JSON, the marker last (where the decoder puts it).
func representable(m *metlog.Message) bool {
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Representation == metlog.RepresentationJSON {
			return false
		}
	}
	return true
}

// FuzzSpacing checks the decoder's fast paths for metlog-py's layout (keys
// in its order, ", " and ": " separators) against its general path: the
// input with every space outside strings turned into a tab, which no fast
// path matches, must decode to the same message or fail with the same
// error, at the same offset. The input is decoded into a message that held
// another one, the tab variant into a new message.
func FuzzSpacing(f *testing.F) {
	seedCaptures(f)
	for _, line := range routingLines(3) {
		f.Add(line)
	}
	prev := routingLines(1)[0]
	f.Fuzz(func(t *testing.T, data []byte) {
		tabbed := bytes.Clone(data)
		inStr, esc := false, false
		for i, c := range tabbed {
			switch {
			case esc:
				esc = false
			case inStr && c == '\\':
				esc = true
			case c == '"':
				inStr = !inStr
			case !inStr && c == ' ':
				tabbed[i] = '\t'
			}
		}
		var m, m2 metlog.Message
		if err := Decode(prev, &m); err != nil {
			t.Fatal(err)
		}
		err := Decode(data, &m)
		err2 := Decode(tabbed, &m2)
		if (err == nil) != (err2 == nil) || err != nil && *err.(*Error) != *err2.(*Error) {
			t.Fatalf("%q: %v\n%q: %v", data, err, tabbed, err2)
		}
		if !m.Equal(&m2) {
			t.Fatalf("%q decodes as\n%s\n%q as\n%s", data, dump(&m), tabbed, dump(&m2))
		}
	})
}
