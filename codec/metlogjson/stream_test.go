package metlogjson

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/metlog/metlog"
)

// result is what one Decode call of a Decoder gave: a message type, or an
// error kind.
type result struct {
	typ  string
	kind error
}

func decodeAll(t *testing.T, d *Decoder) []result {
	t.Helper()
	var got []result
	var m metlog.Message
	for range 1000 {
		err := d.Decode(&m)
		switch {
		case err == io.EOF:
			return got
		case err == nil:
			got = append(got, result{typ: m.Type})
		default:
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not an *Error", err)
			}
			got = append(got, result{kind: e.Kind})
		}
	}
	t.Fatal("Decoder did not reach the end")
	return nil
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDecoder(t *testing.T) {
	udp := readFile(t, "01-metlog-basic.json")                    // type custom
	indented := readFile(t, "31-streamsender-default-format.txt") // type counter, ends in "\n"
	big := readFile(t, "22-big-payload-60000.json")               // type big
	ok := func(typ string) result { return result{typ: typ} }
	bad := func(kind error) result { return result{kind: kind} }
	tests := []struct {
		name string
		in   string
		want []result
	}{
		{"empty", "", nil},
		{"white space", " \n\r\n\t", nil},
		{"one line no newline", udp, []result{ok("custom")}},
		{"newline delimited", udp + "\n" + udp + "\r\n" + udp + "\n", []result{ok("custom"), ok("custom"), ok("custom")}},
		{"indented", indented + indented, []result{ok("counter"), ok("counter")}},
		{"mixed", udp + "\n" + indented + udp, []result{ok("custom"), ok("counter"), ok("custom")}},
		{"back to back", udp + udp, []result{ok("custom"), ok("custom")}},
		{"big", big + "\n" + udp, []result{ok("big"), ok("custom")}},
		{"garbage line", "hello\n" + udp, []result{bad(ErrSyntax), ok("custom")}},
		{"garbage after message", udp + " trailing\n" + udp, []result{ok("custom"), bad(ErrSyntax), ok("custom")}},
		{"truncated line", `{"type": "x", "payload": "cut` + "\n" + udp, []result{bad(ErrSyntax), ok("custom")}},
		{"truncated indented", indented[:100] + "\n" + indented, []result{bad(ErrSyntax), ok("counter")}},
		{"truncated at end", udp + "\n" + udp[:50], []result{ok("custom"), bad(ErrSyntax)}},
		{"bad value resumes after it", `{"severity": "x"}` + udp, []result{bad(ErrBadValue), ok("custom")}},
		{"bad syntax inside a complete object", `{"type" "x"}` + "\n" + udp, []result{bad(ErrSyntax), ok("custom")}},
		{"unbalanced swallows the next lines, which are recovered", `{"type": "x", "fields": {"a": [1,` + "\n" + udp + "\n" + indented,
			[]result{bad(ErrSyntax), ok("custom"), ok("counter")}},
		{"array at top level", "[1, 2]\n" + udp, []result{bad(ErrSyntax), ok("custom")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []struct {
				name string
				r    io.Reader
			}{
				{"whole", strings.NewReader(tt.in)},
				{"one byte at a time", iotest.OneByteReader(strings.NewReader(tt.in))},
				{"error with last data", iotest.DataErrReader(strings.NewReader(tt.in))},
			} {
				got := decodeAll(t, NewDecoder(r.r))
				if !equalResults(got, tt.want) {
					t.Errorf("%s: got %v, want %v", r.name, got, tt.want)
				}
			}
		})
	}
}

func equalResults(a, b []result) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDecoderTooLarge(t *testing.T) {
	udp := readFile(t, "01-metlog-basic.json")
	big := readFile(t, "22-big-payload-60000.json")
	for _, sep := range []string{"\n", "\n\n"} {
		in := udp + sep + big + sep + udp + sep
		d := NewDecoder(strings.NewReader(in))
		d.Limits.MaxSize = 1000
		got := decodeAll(t, d)
		want := []result{{typ: "custom"}, {kind: ErrTooLarge}, {typ: "custom"}}
		if !equalResults(got, want) {
			t.Errorf("separator %q: got %v, want %v", sep, got, want)
		}
	}

	// The error says where the limit was crossed.
	d := NewDecoder(strings.NewReader(udp + "\n" + big))
	d.Limits.MaxSize = 1000
	var m metlog.Message
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	err := d.Decode(&m)
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrTooLarge || e.Offset != int64(len(udp)+1+1000) {
		t.Errorf("got %v, want ErrTooLarge at offset %d", err, len(udp)+1+1000)
	}
}

func TestDecoderOffsets(t *testing.T) {
	udp := readFile(t, "01-metlog-basic.json")
	in := udp + "\n" + `{"severity": "x"}` + "\n"
	d := NewDecoder(strings.NewReader(in))
	var m metlog.Message
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if got := d.InputOffset(); got != int64(len(udp)) {
		t.Errorf("offset after the first message %d, want %d", got, len(udp))
	}
	err := d.Decode(&m)
	var e *Error
	if !errors.As(err, &e) || e.Offset != int64(len(udp)+1+13) {
		t.Errorf("got %v, want an error at stream offset %d", err, len(udp)+1+13)
	}
	if err := d.Decode(&m); err != io.EOF {
		t.Errorf("got %v at the end, want io.EOF", err)
	}
}

func TestDecoderReaderError(t *testing.T) {
	udp := readFile(t, "01-metlog-basic.json")
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader(udp+"\n"+udp[:40]), iotest.ErrReader(boom))
	d := NewDecoder(r)
	var m metlog.Message
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := d.Decode(&m); err != boom {
			t.Errorf("got %v, want the reader's error", err)
		}
	}
}

// TestDecoderMatchesDecode checks that messages read from a stream equal
// those decoded one by one.
func TestDecoderMatchesDecode(t *testing.T) {
	var stream bytes.Buffer
	var want []*metlog.Message
	for _, file := range captures(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Unmarshal(data)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, m)
		stream.Write(data)
		stream.WriteByte('\n')
	}
	d := NewDecoder(&stream)
	var m metlog.Message
	for i, w := range want {
		if err := d.Decode(&m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !m.Equal(w) {
			t.Errorf("message %d:\n%s\nwant\n%s", i, dump(&m), dump(w))
		}
	}
	if err := d.Decode(&m); err != io.EOF {
		t.Errorf("got %v at the end, want io.EOF", err)
	}
}
