package metlogjson

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata")

// captures returns the metlog-py captures in testdata: the UDP datagrams
// (.json) and the StreamSender output (.txt).
func captures(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	txt, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, txt...)
	if len(files) == 0 {
		t.Fatal("no captures in testdata")
	}
	return files
}

// dump writes m in the readable form the .golden files hold.
func dump(m *metlog.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "uuid: %s\n", m.UUID)
	fmt.Fprintf(&b, "timestamp: %d (%s)\n", m.Timestamp, m.Time().Format(time.RFC3339Nano))
	fmt.Fprintf(&b, "type: %q\n", m.Type)
	fmt.Fprintf(&b, "logger: %q\n", m.Logger)
	fmt.Fprintf(&b, "severity: %d (%s)\n", m.Severity, m.Severity)
	fmt.Fprintf(&b, "payload: %q\n", m.Payload)
	fmt.Fprintf(&b, "env_version: %q\n", m.EnvVersion)
	fmt.Fprintf(&b, "pid: %d\n", m.Pid)
	fmt.Fprintf(&b, "hostname: %q\n", m.Hostname)
	fmt.Fprintf(&b, "fields: %d\n", len(m.Fields))
	for i := range m.Fields {
		f := &m.Fields[i]
		fmt.Fprintf(&b, "  %q %s", f.Name, f.Type)
		if f.Representation != "" {
			fmt.Fprintf(&b, " representation=%q", f.Representation)
		}
		b.WriteString(" [")
		for j := range f.Len() {
			if j > 0 {
				b.WriteString(", ")
			}
			switch v := f.Value(j).(type) {
			case string:
				b.WriteString(strconv.Quote(v))
			case []byte:
				b.WriteString("base64:" + base64.StdEncoding.EncodeToString(v))
			case float64:
				b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			default:
				fmt.Fprint(&b, v)
			}
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// TestGolden decodes every capture and compares the result with its
// .golden file; go test -update rewrites them.
func TestGolden(t *testing.T) {
	for _, file := range captures(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var m metlog.Message
			if err := Decode(data, &m); err != nil {
				t.Fatal(err)
			}
			got := dump(&m)
			golden := strings.TrimSuffix(file, filepath.Ext(file)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("decoded message differs from %s:\n got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// TestReencodeCaptures checks that every UDP capture decodes and encodes
// back to the same bytes, and that decoding the encoding gives an equal
// message (the indented StreamSender capture too).
func TestReencodeCaptures(t *testing.T) {
	for _, file := range captures(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Unmarshal(data)
			if err != nil {
				t.Fatal(err)
			}
			out := m.AppendJSON(nil)
			if filepath.Ext(file) == ".json" && !bytes.Equal(out, data) {
				t.Errorf("re-encoded capture differs:\n got %s\nwant %s", out, data)
			}
			m2, err := Unmarshal(out)
			if err != nil {
				t.Fatalf("decode of re-encoding: %v\n%s", err, out)
			}
			if !m.Equal(m2) {
				t.Errorf("decode→encode→decode differs:\n%s\n%s", dump(m), dump(m2))
			}
			// A trailing newline (TCP framing) and CRLF are accepted.
			for _, suffix := range []string{"\n", "\r\n", " \n\n"} {
				m3, err := Unmarshal(append(bytes.Clone(data), suffix...))
				if err != nil {
					t.Fatalf("with %q appended: %v", suffix, err)
				}
				if !m.Equal(m3) {
					t.Errorf("with %q appended: message differs", suffix)
				}
			}
		})
	}
}

func mustTime(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixNano()
}

func decodeFile(t *testing.T, name string) *metlog.Message {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func checkMessage(t *testing.T, got, want *metlog.Message) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("decoded:\n%s\nwant:\n%s", dump(got), dump(want))
	}
}

// The tricky captures, asserted by hand so the goldens are not the only
// check.

func TestCapture01NestedMixedArray(t *testing.T) {
	checkMessage(t, decodeFile(t, "01-metlog-basic.json"), &metlog.Message{
		Timestamp: mustTime(t, "2026-11-22T01:49:29.187659Z"),
		Type:      "custom", Logger: "interop-app", Severity: metlog.Info,
		Payload: "hello world", EnvVersion: "0.8", Pid: 18208, Hostname: "vm",
		Fields: []metlog.Field{
			metlog.Int("a", 1),
			metlog.String("nested.b", "[1, 2.5, null, true]").WithRepresentation(metlog.RepresentationJSON),
		},
	})
}

func TestCapture17Unicode(t *testing.T) {
	m := decodeFile(t, "17-unicode-payload.json")
	if want := "caf\u00e9 \u2603 \U0001F600"; m.Payload != want {
		t.Errorf("payload %q, want %q", m.Payload, want)
	}
	if f := m.Field("k\u00e9y"); f == nil || f.Type != metlog.TypeString || f.Strings[0] != "v\u2603" {
		t.Errorf("field k\u00e9y = %+v, want the string v\u2603", f)
	}
}

func TestCapture18BigInt(t *testing.T) {
	checkMessage(t, decodeFile(t, "18-utf8-bytes-and-numbers.json"), &metlog.Message{
		Timestamp: mustTime(t, "2026-11-22T01:49:30.214391Z"),
		Type:      "bytes", Logger: "interop-app", Severity: metlog.Info,
		Payload: "caf\u00e9 utf8 bytes", EnvVersion: "0.8", Pid: 18208, Hostname: "vm",
		Fields: []metlog.Field{
			metlog.String("big", "1180591620717411303424").WithRepresentation(metlog.RepresentationJSON), // 2**70
			metlog.Float("float", 0.1),
			metlog.Int("neg", -3),
		},
	})
}

func TestCapture30NumericPayload(t *testing.T) {
	checkMessage(t, decodeFile(t, "30-procinfo-shape-synthetic.json"), &metlog.Message{
		Timestamp: mustTime(t, "2026-11-22T01:49:33.254360Z"),
		Type:      "procinfo", Logger: "ini-app", Severity: metlog.Notice,
		Payload: "12345678", EnvVersion: "0.8", Pid: 18208, Hostname: "vm",
		Fields: []metlog.Field{
			metlog.String("logger", "psutil.meminfo.vm.18208"),
			metlog.String("name", "rss"),
			metlog.String("rate", "1"),
			metlog.String(metlog.PayloadTypeField, "json").WithRepresentation(metlog.RepresentationJSON),
		},
	})
}

func TestCapture31Indented(t *testing.T) {
	checkMessage(t, decodeFile(t, "31-streamsender-default-format.txt"), &metlog.Message{
		Timestamp: mustTime(t, "2026-11-22T01:49:33.254706Z"),
		Type:      "counter", Logger: "stream-app", Severity: metlog.Info,
		Payload: "1", EnvVersion: "0.8", Pid: 18208, Hostname: "vm",
		Fields: []metlog.Field{metlog.Float("rate", 1), metlog.String("name", "streamed")},
	})
}

func TestCapture22BigPayload(t *testing.T) {
	m := decodeFile(t, "22-big-payload-60000.json")
	if m.Payload != strings.Repeat("x", 60000) {
		t.Errorf("payload of %d bytes, want 60000 x", len(m.Payload))
	}
	if m.Type != "big" || len(m.Fields) != 0 {
		t.Errorf("type %q, %d fields; want big, none", m.Type, len(m.Fields))
	}
}

func TestCapture27Sentry(t *testing.T) {
	m := decodeFile(t, "27-raven-plugin.json")
	if m.Type != "sentry" || m.Severity != metlog.Error {
		t.Errorf("type %q severity %v, want sentry ERROR", m.Type, m.Severity)
	}
	if f := m.Field("epoch_timestamp"); f == nil || f.Type != metlog.TypeDouble || f.Doubles[0] != 1795312173.253901 {
		t.Errorf("epoch_timestamp = %+v, want the double 1795312173.253901", f)
	}
	if f := m.Field("dsn"); f == nil || f.Strings[0] != "udp://user:secret@127.0.0.1:9001/2" {
		t.Errorf("dsn = %+v", f)
	}
	// The payload is base64(zlib(JSON Sentry event)) and must survive intact.
	raw, err := base64.StdEncoding.DecodeString(m.Payload)
	if err != nil {
		t.Fatalf("payload is not base64: %v", err)
	}
	if len(raw) < 2 || raw[0] != 0x78 {
		t.Errorf("payload does not decode to a zlib stream")
	}
}

// TestDecodeMapping covers the value mapping rules one by one.
func TestDecodeMapping(t *testing.T) {
	raw := func(name, text string) metlog.Field {
		return metlog.String(name, text).WithRepresentation(metlog.RepresentationJSON)
	}
	tests := []struct {
		name   string
		fields string
		want   []metlog.Field
	}{
		{"string", `{"s": "v"}`, []metlog.Field{metlog.String("s", "v")}},
		{"integer", `{"i": -9223372036854775808}`, []metlog.Field{metlog.Int("i", math.MinInt64)}},
		{"max int", `{"i": 9223372036854775807}`, []metlog.Field{metlog.Int("i", math.MaxInt64)}},
		{"beyond int64", `{"i": 9223372036854775808}`, []metlog.Field{raw("i", "9223372036854775808")}},
		{"below int64", `{"i": -9223372036854775809}`, []metlog.Field{raw("i", "-9223372036854775809")}},
		{"double", `{"d": 1.5e-05}`, []metlog.Field{metlog.Float("d", 1.5e-05)}},
		{"exponent is double", `{"d": 1E2}`, []metlog.Field{metlog.Float("d", 100)}},
		{"NaN", `{"d": NaN}`, []metlog.Field{metlog.Float("d", math.NaN())}},
		{"Infinity", `{"d": [Infinity, -Infinity]}`, []metlog.Field{metlog.Floats("d", math.Inf(1), math.Inf(-1))}},
		{"huge double", `{"d": 1e400}`, []metlog.Field{raw("d", "1e400")}},
		{"bools", `{"t": true, "f": [false, true]}`, []metlog.Field{metlog.Bool("t", true), metlog.Bools("f", false, true)}},
		{"null", `{"n": null}`, []metlog.Field{raw("n", "null")}},
		{"strings", `{"a": ["x", "y", "z"]}`, []metlog.Field{metlog.Strings("a", "x", "y", "z")}},
		{"ints", `{"a": [1, 2]}`, []metlog.Field{metlog.Ints("a", 1, 2)}},
		{"doubles", `{"a": [1.0, 2.5]}`, []metlog.Field{metlog.Floats("a", 1, 2.5)}},
		{"int and double", `{"a": [1, 2.5]}`, []metlog.Field{raw("a", "[1, 2.5]")}},
		{"one element", `{"a": [1]}`, []metlog.Field{raw("a", "[1]")}},
		{"empty array", `{"a": [ ]}`, []metlog.Field{raw("a", "[]")}},
		{"array with null", `{"a": ["x", null]}`, []metlog.Field{raw("a", `["x", null]`)}},
		{"array with big int", `{"a": [1, 99999999999999999999]}`, []metlog.Field{raw("a", "[1, 99999999999999999999]")}},
		{"nested arrays", `{"a": [[1,2],[3]]}`, []metlog.Field{raw("a", "[[1, 2], [3]]")}},
		{"array of objects", `{"a": [{"k":"v" , "n":{}}]}`, []metlog.Field{raw("a", `[{"k": "v", "n": {}}]`)}},
		{"empty object", `{"o": {}}`, []metlog.Field{raw("o", "{}")}},
		{"nested", `{"h": {"p": "/", "q": {"r": 1}}, "z": 2}`,
			[]metlog.Field{metlog.String("h.p", "/"), metlog.Int("h.q.r", 1), metlog.Int("z", 2)}},
		{"dotted key", `{"h.p": "/"}`, []metlog.Field{metlog.String("h.p", "/")}},
		{"repeated key", `{"x": 1, "x": "two"}`, []metlog.Field{metlog.Int("x", 1), metlog.String("x", "two")}},
		{"empty key", `{"": 1, "a": {"": 2}}`, []metlog.Field{metlog.Int("", 1), metlog.Int("a.", 2)}},
		{"raw keeps escapes", `{"a": ["\u00e9", 1]}`, []metlog.Field{raw("a", `["\u00e9", 1]`)}},
		{"escapes", `{"e\"": "\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}`,
			[]metlog.Field{metlog.String("e\"", "\"\\/\b\f\n\r\t\u00e9\U0001F600")}},
		{"lone surrogates", `{"s": "a\ud800b\udc00c\ud800"}`, []metlog.Field{metlog.String("s", "a\uFFFDb\uFFFDc\uFFFD")}},
		{"high then non-low", `{"s": "\ud800\u0041"}`, []metlog.Field{metlog.String("s", "\uFFFDA")}},
		{"utf-8", `{"s": "caf` + "\u00e9 \U0001F600" + `"}`, []metlog.Field{metlog.String("s", "caf\u00e9 \U0001F600")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Unmarshal([]byte(`{"fields": ` + tt.fields + `}`))
			if err != nil {
				t.Fatal(err)
			}
			want := &metlog.Message{Severity: metlog.Info, Fields: tt.want}
			checkMessage(t, m, want)
		})
	}
}

// TestDecodeEnvelope covers the envelope keys.
func TestDecodeEnvelope(t *testing.T) {
	u := metlog.UUID{0x01, 0x8f, 0x6b, 0x2e, 0x4c, 0x3a, 0x7d, 0x12, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78}
	const sec = int64(1795312169) // 2026-11-22T01:49:29Z
	tests := []struct {
		name string
		in   string
		want metlog.Message
	}{
		{"empty object", `{}`, metlog.Message{Severity: metlog.Info}},
		{"nulls are absent", `{"severity": null, "timestamp": null, "logger": null, "fields": null, "uuid": null, "metlog_pid": null}`,
			metlog.Message{Severity: metlog.Info}},
		{"any key order", `{"type": "t", "payload": "p", "severity": 2, "metlog_pid": -1}`,
			metlog.Message{Type: "t", Payload: "p", Severity: 2, Pid: -1}},
		{"last key wins", `{"type": "a", "type": "b"}`, metlog.Message{Type: "b", Severity: metlog.Info}},
		{"fields repeated", `{"fields": {"a": 1}, "fields": {"b": 2}}`,
			metlog.Message{Severity: metlog.Info, Fields: []metlog.Field{metlog.Int("a", 1), metlog.Int("b", 2)}}},
		{"timestamp Z", `{"timestamp": "2026-11-22T01:49:29Z"}`, metlog.Message{Timestamp: sec * 1e9, Severity: metlog.Info}},
		{"timestamp no zone is UTC", `{"timestamp": "2026-11-22T01:49:29.5"}`, metlog.Message{Timestamp: sec*1e9 + 5e8, Severity: metlog.Info}},
		{"timestamp offset", `{"timestamp": "2026-11-22T03:19:29.000000001+01:30"}`, metlog.Message{Timestamp: sec*1e9 + 1, Severity: metlog.Info}},
		{"timestamp offset no colon", `{"timestamp": "2026-11-21 20:49:29-0500"}`, metlog.Message{Timestamp: sec * 1e9, Severity: metlog.Info}},
		{"timestamp millis (metlog-node)", `{"timestamp": "2026-11-22T01:49:29.187000Z"}`, metlog.Message{Timestamp: sec*1e9 + 187e6, Severity: metlog.Info}},
		{"numeric seconds", `{"timestamp": 1795312169.187659}`, metlog.Message{Timestamp: sec*1e9 + 187659000, Severity: metlog.Info}},
		{"numeric millis", `{"timestamp": 1795312169187}`, metlog.Message{Timestamp: sec*1e9 + 187e6, Severity: metlog.Info}},
		{"numeric micros", `{"timestamp": 1795312169187659}`, metlog.Message{Timestamp: sec*1e9 + 187659000, Severity: metlog.Info}},
		{"numeric nanos", `{"timestamp": 1795312169187659123}`, metlog.Message{Timestamp: sec*1e9 + 187659123, Severity: metlog.Info}},
		{"numeric exponent", `{"timestamp": 1.795312169e9}`, metlog.Message{Timestamp: sec * 1e9, Severity: metlog.Info}},
		{"numeric negative", `{"timestamp": -1.5}`, metlog.Message{Timestamp: -15e8, Severity: metlog.Info}},
		{"numeric zero", `{"timestamp": 0}`, metlog.Message{Severity: metlog.Info}},
		{"uuid", `{"uuid": "018f6b2e-4c3a-7d12-9abc-def012345678"}`, metlog.Message{UUID: u, Severity: metlog.Info}},
		{"uuid plain upper", `{"uuid": "018F6B2E4C3A7D129ABCDEF012345678"}`, metlog.Message{UUID: u, Severity: metlog.Info}},
		{"string payload", `{"payload": "p"}`, metlog.Message{Payload: "p", Severity: metlog.Info}},
		{"object payload", `{"payload": {"a" : [1,{}]}}`, metlog.Message{Payload: `{"a": [1, {}]}`, Severity: metlog.Info,
			Fields: []metlog.Field{metlog.String(metlog.PayloadTypeField, "json").WithRepresentation(metlog.RepresentationJSON)}}},
		{"null payload", `{"payload": null, "fields": {"a": 1}}`, metlog.Message{Payload: "null", Severity: metlog.Info,
			Fields: []metlog.Field{metlog.Int("a", 1), metlog.String(metlog.PayloadTypeField, "json").WithRepresentation(metlog.RepresentationJSON)}}},
		{"unknown keys kept", `{"x": 1, "fields": {"a": 2}, "tags": {"env": "prod", "n": []}}`, metlog.Message{Severity: metlog.Info,
			Fields: []metlog.Field{metlog.Int("@x", 1), metlog.Int("a", 2), metlog.String("@tags.env", "prod"),
				metlog.String("@tags.n", "[]").WithRepresentation(metlog.RepresentationJSON)}}},
		{"representations", `{"fields": {"t": 5, "x": 1, "x": 2, "y": "s"}, "representations": {"t": "ms", "x": ["", "B"], "nope": "z"}}`,
			metlog.Message{Severity: metlog.Info, Fields: []metlog.Field{
				metlog.Int("t", 5).WithRepresentation("ms"), metlog.Int("x", 1), metlog.Int("x", 2).WithRepresentation("B"), metlog.String("y", "s")}}},
		{"representations before fields", `{"representations": {"t": "ms"}, "fields": {"t": 5}}`,
			metlog.Message{Severity: metlog.Info, Fields: []metlog.Field{metlog.Int("t", 5).WithRepresentation("ms")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Unmarshal([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			checkMessage(t, m, &tt.want)
		})
	}
}

// TestDecodeErrors checks the kind and offset of the error for each kind of
// bad input.
func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat("[", 70) + strings.Repeat("]", 70)
	tests := []struct {
		name   string
		in     string
		kind   error
		offset int64
	}{
		{"empty", ``, ErrSyntax, 0},
		{"space only", " \n", ErrSyntax, 2},
		{"not an object", `[1, 2]`, ErrBadValue, 0},
		{"string", `"x"`, ErrBadValue, 0},
		{"garbage", `hello`, ErrSyntax, 0},
		{"truncated", `{"type": "counter", "payload": "1`, ErrSyntax, 33},
		{"truncated after key", `{"type"`, ErrSyntax, 7},
		{"truncated after value", `{"type": "x"`, ErrSyntax, 12},
		{"missing colon", `{"type" "x"}`, ErrSyntax, 8},
		{"missing comma", `{"type": "x" "logger": "y"}`, ErrSyntax, 13},
		{"trailing comma", `{"type": "x",}`, ErrSyntax, 13},
		{"trailing comma in array", `{"fields": {"a": [1, 2,]}}`, ErrSyntax, 23},
		{"unquoted key", `{type: "x"}`, ErrSyntax, 1},
		{"single quotes", `{'type': 'x'}`, ErrSyntax, 1},
		{"data after message", `{"type": "x"} {}`, ErrSyntax, 14},
		{"two messages", "{}\n{}", ErrSyntax, 3},
		{"bad escape", `{"type": "\x"}`, ErrSyntax, 10},
		{"short unicode escape", `{"type": "\u12"}`, ErrSyntax, 10},
		{"bad unicode escape", `{"type": "\u12g4"}`, ErrSyntax, 10},
		{"raw newline in string", "{\"type\": \"a\nb\"}", ErrSyntax, 11},
		{"raw NUL in string", "{\"type\": \"a\x00\"}", ErrSyntax, 11},
		{"invalid UTF-8", "{\"type\": \"a\xff\"}", ErrSyntax, 11},
		{"truncated UTF-8", "{\"type\": \"a\xc3\"}", ErrSyntax, 11},
		{"UTF-8 surrogate", "{\"type\": \"a\xed\xa0\x80\"}", ErrSyntax, 11},
		{"invalid UTF-8 in key", "{\"\xff\": 1}", ErrSyntax, 2},
		{"invalid UTF-8 in raw value", "{\"fields\": {\"a\": [\"\xff\", null]}}", ErrSyntax, 19},
		{"bad literal", `{"fields": {"a": tru}}`, ErrSyntax, 17},
		{"bad number", `{"fields": {"a": -}}`, ErrSyntax, 18},
		{"leading zero", `{"fields": {"a": 01}}`, ErrSyntax, 18},
		{"bad fraction", `{"fields": {"a": 1.}}`, ErrSyntax, 19},
		{"bad exponent", `{"fields": {"a": 1e}}`, ErrSyntax, 19},
		{"plus sign", `{"fields": {"a": +1}}`, ErrSyntax, 17},
		{"unclosed fields", `{"fields": {"a": 1}`, ErrSyntax, 19},
		{"severity string", `{"severity": "high"}`, ErrBadValue, 13},
		{"severity float", `{"severity": 6.0}`, ErrBadValue, 13},
		{"severity beyond int32", `{"severity": 2147483648}`, ErrBadValue, 13},
		{"pid beyond int32", `{"metlog_pid": -2147483649}`, ErrBadValue, 15},
		{"pid string", `{"metlog_pid": "1"}`, ErrBadValue, 15},
		{"type number", `{"type": 5}`, ErrBadValue, 9},
		{"logger object", `{"logger": {}}`, ErrBadValue, 11},
		{"hostname bool", `{"metlog_hostname": true}`, ErrBadValue, 20},
		{"env_version array", `{"env_version": []}`, ErrBadValue, 16},
		{"fields array", `{"fields": []}`, ErrBadValue, 11},
		{"fields string", `{"fields": "a=1"}`, ErrBadValue, 11},
		{"timestamp garbage", `{"timestamp": "yesterday"}`, ErrBadValue, 14},
		{"timestamp bad month", `{"timestamp": "2026-13-01T00:00:00Z"}`, ErrBadValue, 14},
		{"timestamp bad day", `{"timestamp": "2026-02-29T00:00:00Z"}`, ErrBadValue, 14},
		{"timestamp bad hour", `{"timestamp": "2026-02-28T24:00:00Z"}`, ErrBadValue, 14},
		{"timestamp ten digits", `{"timestamp": "2026-02-28T00:00:00.1234567891Z"}`, ErrBadValue, 14},
		{"timestamp empty fraction", `{"timestamp": "2026-02-28T00:00:00.Z"}`, ErrBadValue, 14},
		{"timestamp bad zone", `{"timestamp": "2026-02-28T00:00:00+5"}`, ErrBadValue, 14},
		{"timestamp year 2263", `{"timestamp": "2263-01-01T00:00:00Z"}`, ErrBadValue, 14},
		{"timestamp year 1677", `{"timestamp": "1677-01-01T00:00:00Z"}`, ErrBadValue, 14},
		{"timestamp number too big", `{"timestamp": 1e30}`, ErrBadValue, 14},
		{"timestamp NaN", `{"timestamp": NaN}`, ErrBadValue, 14},
		{"timestamp bool", `{"timestamp": true}`, ErrBadValue, 14},
		{"uuid short", `{"uuid": "018f6b2e"}`, ErrBadValue, 9},
		{"uuid bad hex", `{"uuid": "018f6b2e-4c3a-7d12-9abc-def01234567g"}`, ErrBadValue, 9},
		{"uuid number", `{"uuid": 5}`, ErrBadValue, 9},
		{"representations array", `{"representations": ["ms"]}`, ErrBadValue, 20},
		{"representations number value", `{"representations": {"a": 5}}`, ErrBadValue, 26},
		{"representations array of numbers", `{"representations": {"a": [5]}}`, ErrBadValue, 27},
		{"too deep", `{"fields": {"a": ` + deep + `}}`, ErrTooDeep, 17 + 62},
		{"too deep objects", strings.Repeat(`{"a": `, 70) + strings.Repeat("}", 70), ErrTooDeep, 6 * 64},
		{"too deep payload", `{"payload": ` + deep + `}`, ErrTooDeep, 12 + 63},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m metlog.Message
			err := Decode([]byte(tt.in), &m)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if !errors.Is(err, tt.kind) || e.Offset != tt.offset {
				t.Errorf("got %v (offset %d), want kind %v at offset %d", err, e.Offset, tt.kind, tt.offset)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	big, err := os.ReadFile("testdata/22-big-payload-60000.json")
	if err != nil {
		t.Fatal(err)
	}
	var m metlog.Message
	if err := Decode(big, &m); err != nil {
		t.Errorf("the 60196-byte capture must fit the default limit: %v", err)
	}
	err = Limits{MaxSize: 60000}.Decode(big, &m)
	if !errors.Is(err, ErrTooLarge) || err.(*Error).Offset != 60000 {
		t.Errorf("MaxSize 60000: got %v, want ErrTooLarge at 60000", err)
	}
	// White space around the message does not count.
	if err := (Limits{MaxSize: len(big)}).Decode(append([]byte("\n\n"), append(big, "\r\n"...)...), &m); err != nil {
		t.Errorf("white space counted against MaxSize: %v", err)
	}

	fields := `{"fields": {"a": 1, "b": {"c": 2, "d": 3}}}`
	if err := (Limits{MaxFields: 3}).Decode([]byte(fields), &m); err != nil {
		t.Errorf("3 fields, MaxFields 3: %v", err)
	}
	err = Limits{MaxFields: 2}.Decode([]byte(fields), &m)
	if !errors.Is(err, ErrTooManyFields) || err.(*Error).Offset != 39 {
		t.Errorf("MaxFields 2: got %v, want ErrTooManyFields at 39", err)
	}
	err = Limits{MaxFields: 1}.Decode([]byte(`{"payload": 5, "fields": {"a": 1}}`), &m)
	if !errors.Is(err, ErrTooManyFields) {
		t.Errorf("the payload marker counts as a field: got %v", err)
	}

	// Depth 3: the message, the fields object, one nested object.
	if err := (Limits{MaxDepth: 3}).Decode([]byte(fields), &m); err != nil {
		t.Errorf("MaxDepth 3: %v", err)
	}
	if err := (Limits{MaxDepth: 2}).Decode([]byte(fields), &m); !errors.Is(err, ErrTooDeep) {
		t.Errorf("MaxDepth 2: got %v, want ErrTooDeep", err)
	}
}

// TestDecodeReuse checks that decoding into a used message replaces all of
// it, whatever it held.
func TestDecodeReuse(t *testing.T) {
	first := `{"severity": 1, "uuid": "018f6b2e-4c3a-7d12-9abc-def012345678", "timestamp": "2026-11-22T01:49:29Z",
		"type": "t", "logger": "l", "payload": 5, "env_version": "0.8", "metlog_pid": 3, "metlog_hostname": "h",
		"fields": {"a": ["x", "y"], "b": [1, 2], "c": [1.5, 2.5], "d": [true, false], "e": null, "f": "s"}}`
	second := `{"fields": {"a": [3, 4], "f": "s", "g": ["p", "q", "r"]}}`
	var m metlog.Message
	if err := Decode([]byte(first), &m); err != nil {
		t.Fatal(err)
	}
	if err := Decode([]byte(second), &m); err != nil {
		t.Fatal(err)
	}
	fresh, err := Unmarshal([]byte(second))
	if err != nil {
		t.Fatal(err)
	}
	checkMessage(t, &m, fresh)
	// The first message's extra fields are cleared from the array.
	if all := m.Fields[:cap(m.Fields)]; len(all) > 3 && all[3].Name != "" {
		t.Errorf("stale field left behind the slice: %+v", all[3])
	}
}

// TestDecodeDirty checks that decoding into a message with every member
// of it and of its fields set (found by reflection, so that members added
// later are covered) gives the message decoding into a new one gives, on
// success and on failure, and leaves no old field behind the slice.
func TestDecodeDirty(t *testing.T) {
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			v.SetString("old")
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.SetInt(3)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.SetUint(3)
		case reflect.Float32, reflect.Float64:
			v.SetFloat(3)
		case reflect.Array:
			for i := range v.Len() {
				fill(v.Index(i))
			}
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 3, 3))
			for i := range v.Len() {
				fill(v.Index(i))
			}
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		default:
			t.Fatalf("cannot fill a %s", v.Type())
		}
	}
	for _, in := range []string{
		`{}`,
		string(routingLines(1)[0]),
		`{"type": "t", "payload": [1], "fields": {"s": "x", "b": [true, false], "d": 1.5, "r": null}, "representations": {"s": "ms"}}`,
		`{"fields": {"a": 1}, "logger": "l", "type": 5}`,
		`{"metlog_hostname": "h", "payload": "p", "env_version": "0.8", "fields": {"a": [1, 2], "b": "x"`,
		`{"severity": 7, "timestamp": "2026-01-02T03:04:05Z", "uuid": "018f6b2e-4c3a-7d12-9abc-def012345678", "metlog_pid": 1, "x": "y"}`,
	} {
		var m metlog.Message
		fill(reflect.ValueOf(&m).Elem())
		all := m.Fields[:cap(m.Fields)]
		err := Decode([]byte(in), &m)
		var fresh metlog.Message
		errFresh := Decode([]byte(in), &fresh)
		if fmt.Sprint(err) != fmt.Sprint(errFresh) {
			t.Fatalf("%s: error %v, into a new message %v", in, err, errFresh)
		}
		got, want := m, fresh
		got.Fields, want.Fields = nil, nil
		if !reflect.DeepEqual(got, want) || len(m.Fields) != len(fresh.Fields) {
			t.Fatalf("%s decodes as\n%+v\ninto a new message as\n%+v", in, m, fresh)
		}
		for i := range m.Fields {
			if !reflect.DeepEqual(m.Fields[i], fresh.Fields[i]) {
				t.Fatalf("%s: field %d is %+v, into a new message %+v", in, i, m.Fields[i], fresh.Fields[i])
			}
		}
		for i := len(m.Fields); i < len(all); i++ {
			if !reflect.ValueOf(all[i]).IsZero() {
				t.Errorf("%s: stale field left behind the slice: %+v", in, all[i])
			}
		}
	}
}

// TestEnvelopeKeyOrder checks that a message decodes the same whether its
// envelope keys come in metlog-py's order and spacing, which the decoder
// reads without scanning them, or in another order or spacing.
func TestEnvelopeKeyOrder(t *testing.T) {
	u := metlog.UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	want := &metlog.Message{UUID: u, Timestamp: 1767323045123456000, Type: "t", Logger: "l", Severity: metlog.Warning,
		Payload: "p", EnvVersion: "0.8", Pid: 7, Hostname: "h", Fields: []metlog.Field{metlog.Int("n", 1)}}
	members := [][2]string{ // metlog-py's order
		{"severity", "4"}, {"timestamp", `"2026-01-02T03:04:05.123456Z"`}, {"metlog_hostname", `"h"`},
		{"fields", `{"n": 1}`}, {"metlog_pid", "7"}, {"logger", `"l"`}, {"type", `"t"`}, {"payload", `"p"`},
		{"env_version", `"0.8"`}, {"uuid", `"` + u.String() + `"`},
	}
	object := func(sep, colon string, order ...int) string {
		var b strings.Builder
		b.WriteByte('{')
		for k, i := range order {
			if k > 0 {
				b.WriteString(sep)
			}
			b.WriteString(strconv.Quote(members[i][0]) + colon + members[i][1])
		}
		b.WriteByte('}')
		return b.String()
	}
	inOrder := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if got := object(", ", ": ", inOrder...); got != string(want.AppendJSON(nil)) {
		t.Fatalf("metlog-py's layout is\n%s\nnot\n%s", want.AppendJSON(nil), got)
	}
	variants := []string{
		object(", ", ": ", inOrder...),
		object(",", ":", inOrder...),
		object(" , ", " : ", inOrder...),
		object(", ", ": ", 1, 2, 3, 4, 5, 6, 7, 8, 9, 0),
		object(", ", ": ", 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
		object(", ", ": ", 0, 1, 2, 3, 5, 6, 7, 8, 9, 4),
		object(", ", ": ", 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9),
		object(", ", ": ", 0, 1, 5, 6, 2, 3, 4, 7, 8, 9),
	}
	for i, v := range variants {
		var got metlog.Message
		if err := Decode([]byte(v), &got); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if !got.Equal(want) {
			t.Errorf("variant %d %s\ndecodes as %+v\nwant       %+v", i, v, got, *want)
		}
	}
	// An unknown key among them is a field.
	v := strings.Replace(variants[0], `"type": "t"`, `"x": 1, "type": "t"`, 1)
	var got metlog.Message
	if err := Decode([]byte(v), &got); err != nil || len(got.Fields) != 2 || got.Fields[1].Name != "@x" || got.Type != "t" {
		t.Errorf("%s decodes as %+v, %v", v, got, err)
	}
}

// TestKeyWords checks keyWords.at against a plain comparison: at every
// offset of buffers holding each envelope key (alone and after ", "), a
// byte of it changed, or a prefix of it.
func TestKeyWords(t *testing.T) {
	hasAt := func(b []byte, i int, s string) bool {
		return i >= 0 && len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
	}
	for k := range 2 * len(envelopeKeys) {
		key, w := envelopeKeys[k%len(envelopeKeys)], &envelopeWords[k%len(envelopeKeys)]
		if k >= len(envelopeKeys) {
			key, w = ", "+key, &sepWords[k-len(envelopeKeys)]
		}
		bufs := [][]byte{[]byte("xx" + key + "yy"), []byte(key), []byte(key[:len(key)-1])}
		for j := range len(key) {
			b := []byte(" " + key)
			b[1+j] ^= 0x20
			bufs = append(bufs, b)
		}
		for _, b := range bufs {
			for i := -1; i <= len(b)+1; i++ {
				if got, want := w.at(b, i), hasAt(b, i, key); got != want {
					t.Errorf("key %q in %q at %d: %v, want %v", key, b, i, got, want)
				}
			}
		}
	}
}
