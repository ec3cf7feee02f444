package metlog

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ts parses an RFC 3339 timestamp for the tests.
func ts(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixNano()
}

func TestAppendJSONCaptures(t *testing.T) {
	tests := []struct {
		name string
		msg  func(t *testing.T) *Message
		want string
	}{
		{
			name: "01-metlog-basic",
			msg: func(t *testing.T) *Message {
				return &Message{
					Severity: 6, Timestamp: ts(t, "2026-11-22T01:49:29.187659Z"), Hostname: "vm",
					Fields: []Field{Int("a", 1), String("nested.b", "[1, 2.5, null, true]").WithRepresentation(RepresentationJSON)},
					Pid:    18208, Logger: "interop-app", Type: "custom", Payload: "hello world", EnvVersion: "0.8",
				}
			},
			want: `{"severity": 6, "timestamp": "2026-11-22T01:49:29.187659Z", "metlog_hostname": "vm", "fields": {"a": 1, "nested": {"b": [1, 2.5, null, true]}}, "metlog_pid": 18208, "logger": "interop-app", "type": "custom", "payload": "hello world", "env_version": "0.8"}`,
		},
		{
			name: "17-unicode-payload",
			msg: func(t *testing.T) *Message {
				return &Message{
					Severity: 6, Timestamp: ts(t, "2026-11-22T01:49:30.214360Z"), Hostname: "vm",
					Fields: []Field{String("k\u00e9y", "v\u2603")},
					Pid:    18208, Logger: "interop-app", Type: "unicode", Payload: "caf\u00e9 \u2603 \U0001f600", EnvVersion: "0.8",
				}
			},
			want: `{"severity": 6, "timestamp": "2026-11-22T01:49:30.214360Z", "metlog_hostname": "vm", "fields": {"k\u00e9y": "v\u2603"}, "metlog_pid": 18208, "logger": "interop-app", "type": "unicode", "payload": "caf\u00e9 \u2603 \ud83d\ude00", "env_version": "0.8"}`,
		},
		{
			name: "30-procinfo-shape-synthetic",
			msg: func(t *testing.T) *Message {
				return &Message{
					Severity: 5, Timestamp: ts(t, "2026-11-22T01:49:33.254360Z"), Hostname: "vm",
					Fields: []Field{String("logger", "psutil.meminfo.vm.18208"), String("name", "rss"), String("rate", "1"),
						String(PayloadTypeField, "json").WithRepresentation(RepresentationJSON)},
					Pid: 18208, Logger: "ini-app", Type: "procinfo", Payload: "12345678", EnvVersion: "0.8",
				}
			},
			want: `{"severity": 5, "timestamp": "2026-11-22T01:49:33.254360Z", "metlog_hostname": "vm", "fields": {"logger": "psutil.meminfo.vm.18208", "name": "rss", "rate": "1"}, "metlog_pid": 18208, "logger": "ini-app", "type": "procinfo", "payload": 12345678, "env_version": "0.8"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.msg(t).AppendJSON(nil))
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestAppendPyFloat(t *testing.T) {
	// The expected strings are what CPython 2.7's repr(float) gives.
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{-3, "-3.0"},
		{0.1, "0.1"},
		{0.25, "0.25"},
		{100, "100.0"},
		{1.5e-05, "1.5e-05"},
		{1e-05, "1e-05"},
		{0.0001, "0.0001"},
		{0.00012345, "0.00012345"},
		{1e15, "1000000000000000.0"},
		{1e16, "1e+16"},
		{1.5e16, "1.5e+16"},
		{1e22, "1e+22"},
		{123456789012345678, "1.2345678901234568e+17"},
		{9007199254740993, "9007199254740992.0"},
		{1795312173.253901, "1795312173.253901"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{5e-324, "5e-324"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
	}
	for _, tt := range tests {
		if got := string(appendPyFloat(nil, tt.f)); got != tt.want {
			t.Errorf("appendPyFloat(%v) = %s, want %s", tt.f, got, tt.want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	// The expected strings are what CPython 2.7's json.dumps gives.
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain text / slash", `"plain text / slash"`},
		{`quote " backslash \`, `"quote \" backslash \\"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f\u007f"`},
		{"caf\u00e9 \u2603 \u2028", `"caf\u00e9 \u2603 \u2028"`},
		{"\U0001F600 \U0010FFFF", `"\ud83d\ude00 \udbff\udfff"`},
		{"bad \xff\xc3 utf8", `"bad \ufffd\ufffd utf8"`},
		{"\uFFFD", `"\ufffd"`},
		{"exactly8" + "12345678" + "\n", `"exactly812345678\n"`},
	}
	for _, tt := range tests {
		if got := string(appendJSONString(nil, tt.in)); got != tt.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestAppendTimestamp(t *testing.T) {
	tests := []struct {
		ns   int64
		want string
	}{
		{0, "1970-01-01T00:00:00.000000Z"},
		{1795312169187659000, "2026-11-22T01:49:29.187659Z"},
		{1795312169000000000, "2026-11-22T01:49:29.000000Z"},
		{1795312169187659123, "2026-11-22T01:49:29.187659123Z"},
		{1, "1970-01-01T00:00:00.000000001Z"},
		{-1000, "1969-12-31T23:59:59.999999Z"},
		{-1, "1969-12-31T23:59:59.999999999Z"},
		{951782400e9, "2000-02-29T00:00:00.000000Z"},
		{math.MaxInt64, "2262-04-11T23:47:16.854775807Z"},
		{math.MinInt64, "1677-09-21T00:12:43.145224192Z"},
	}
	for _, tt := range tests {
		if got := string(appendTimestamp(nil, tt.ns)); got != tt.want {
			t.Errorf("appendTimestamp(%d) = %s, want %s", tt.ns, got, tt.want)
		}
		if want := time.Unix(0, tt.ns).UTC(); !strings.HasPrefix(tt.want, want.Format("2006-01-02T15:04:05")) {
			t.Errorf("test table disagrees with time: %d is %v", tt.ns, want)
		}
	}
}

// fieldsJSON returns the part of m's encoding from "fields" on, without
// the envelope keys that do not change.
func fieldsJSON(m *Message) string {
	out := string(m.AppendJSON(nil))
	out = out[strings.Index(out, `"fields": `)+len(`"fields": `):]
	out = strings.Replace(out, `, "metlog_pid": 0, "logger": "", "type": ""`, "", 1)
	return strings.Replace(out, `, "env_version": ""`, "", 1)
}

func TestAppendJSONFields(t *testing.T) {
	raw := func(name, text string) Field { return String(name, text).WithRepresentation(RepresentationJSON) }
	marker := String(PayloadTypeField, "json").WithRepresentation(RepresentationJSON)
	deep := strings.Repeat("s.", 19) + "leaf"
	tests := []struct {
		name    string
		payload string
		fields  []Field
		want    string
	}{
		{"none", "", nil, `{}, "payload": ""}`},
		{"scalars", "", []Field{String("s", "v"), Int("i", -2), Float("d", 2), Bool("b", true)},
			`{"s": "v", "i": -2, "d": 2.0, "b": true}, "payload": ""}`},
		{"arrays", "", []Field{Strings("s", "a", "b"), Ints("i", 1, 2), Floats("d", 0.5, 1), Bools("b", true, false)},
			`{"s": ["a", "b"], "i": [1, 2], "d": [0.5, 1.0], "b": [true, false]}, "payload": ""}`},
		{"no values", "", []Field{Ints("i")}, `{"i": []}, "payload": ""}`},
		{"bytes as base64", "", []Field{Bytes("b", []byte{0xde, 0xad, 0xbe, 0xef})}, `{"b": "3q2+7w=="}, "payload": ""}`},
		{"nested", "", []Field{Int("h.a", 1), Int("h.b.c", 2), Int("h.b.d", 3), Int("x", 4)},
			`{"h": {"a": 1, "b": {"c": 2, "d": 3}}, "x": 4}, "payload": ""}`},
		{"scalar then dotted", "", []Field{Int("a", 1), Int("a.b", 2)}, `{"a": 1, "a.b": 2}, "payload": ""}`},
		{"dotted then scalar", "", []Field{Int("a.b", 1), Int("a", 2)}, `{"a": {"b": 1}, "a": 2}, "payload": ""}`},
		{"interleaved", "", []Field{Int("n.a", 1), Int("x", 2), Int("n.b", 3), Int("n.c.d", 4)},
			`{"n": {"a": 1}, "x": 2, "n.b": 3, "n.c.d": 4}, "payload": ""}`},
		{"collision below", "", []Field{Int("a.b", 1), Int("a.b.c", 2), Int("a.d.e", 3)},
			`{"a": {"b": 1, "b.c": 2, "d": {"e": 3}}}, "payload": ""}`},
		{"repeated", "", []Field{Int("x", 1), String("x", "two")}, `{"x": 1, "x": "two"}, "payload": ""}`},
		{"empty segments", "", []Field{Int("", 1), Int("..", 2), Int("a.", 3)},
			`{"": 1, "..": 2, "a": {"": 3}}, "payload": ""}`},
		{"deep", "", []Field{Int(deep, 1)},
			`{` + strings.Repeat(`"s": {`, 16) + `"s.s.s.leaf": 1` + strings.Repeat("}", 16) + `}, "payload": ""}`},
		{"raw", "", []Field{raw("r", `[1,2.5 , {"k" :null}]`)}, `{"r": [1, 2.5, {"k": null}]}, "payload": ""}`},
		{"raw that would read back typed", "", []Field{raw("r", "5"), raw("s", `["a", "b"]`)},
			`{"r": "5", "s": "[\"a\", \"b\"]"}, "payload": "", "representations": {"r": "json", "s": "json"}}`},
		{"raw invalid", "", []Field{raw("r", "{")}, `{"r": "{"}, "payload": "", "representations": {"r": "json"}}`},
		{"raw object", "", []Field{raw("r", `{"a": 1}`)}, `{"r": "{\"a\": 1}"}, "payload": "", "representations": {"r": "json"}}`},
		{"raw empty object", "", []Field{raw("r", `{ }`)}, `{"r": {}}, "payload": ""}`},
		{"raw several values", "", []Field{Strings("r", "1", "2").WithRepresentation(RepresentationJSON)},
			`{"r": ["1", "2"]}, "payload": "", "representations": {"r": "json"}}`},
		{"representation", "", []Field{Int("t", 5).WithRepresentation("ms"), Int("u", 1)},
			`{"t": 5, "u": 1}, "payload": "", "representations": {"t": "ms"}}`},
		{"representations differ", "", []Field{Int("t", 5).WithRepresentation("ms"), Int("t", 6), Int("t", 7).WithRepresentation("s")},
			`{"t": 5, "t": 6, "t": 7}, "payload": "", "representations": {"t": ["ms", "", "s"]}}`},
		{"representation with raw", "", []Field{raw("t", "null"), Int("t", 6).WithRepresentation("B")},
			`{"t": null, "t": 6}, "payload": "", "representations": {"t": ["json", "B"]}}`},
		{"json payload", `{"a":[1, 2]}`, []Field{Int("x", 1), marker},
			`{"x": 1}, "payload": {"a": [1, 2]}}`},
		{"json payload, marker first", "12", []Field{marker, Int("x", 1)}, `{"x": 1}, "payload": 12}`},
		{"invalid json payload", `{"a"`, []Field{marker},
			`{"payload_type": "json"}, "payload": "{\"a\"", "representations": {"payload_type": "json"}}`},
		{"string json payload", `"s"`, []Field{marker},
			`{"payload_type": "json"}, "payload": "\"s\"", "representations": {"payload_type": "json"}}`},
		{"marker with another representation is a field", "1", []Field{String(PayloadTypeField, "json")},
			`{"payload_type": "json"}, "payload": "1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Message{Payload: tt.payload, Fields: tt.fields}
			if got := fieldsJSON(m); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestAppendJSONUUID(t *testing.T) {
	m := &Message{UUID: UUID{0x01, 0x8f, 0x6b, 0x2e, 0x4c, 0x3a, 0x7d, 0x12, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78}}
	if got := string(m.AppendJSON(nil)); !strings.HasSuffix(got, `"env_version": "", "uuid": "018f6b2e-4c3a-7d12-9abc-def012345678"}`) {
		t.Errorf("uuid not written last: %s", got)
	}
}

func TestAppendJSONNoAllocs(t *testing.T) {
	m := &Message{
		UUID: NewUUID(), Timestamp: 1795312169187659123, Type: "timer", Logger: "app", Severity: Warning,
		Payload: `{"k": [1, 2]}`, EnvVersion: EnvVersion, Pid: 42, Hostname: "h\u00e9st",
		Fields: []Field{
			String("name", "db.query"), Float("rate", 1), Int("h.a", 1), Int("h.b", 2), Int("x", 3), Int("h.c", 4),
			Strings("tags", "a", "b"), Bytes("raw", []byte("bytes")), Int("t", 5).WithRepresentation("ms"),
			String("j", "[1, null]").WithRepresentation(RepresentationJSON),
			String(PayloadTypeField, "json").WithRepresentation(RepresentationJSON),
		},
	}
	buf := m.AppendJSON(nil)
	if n := testing.AllocsPerRun(100, func() { buf = m.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON into a large enough buffer: %v allocations, want 0", n)
	}
}

func ExampleMessage_AppendJSON() {
	m := &Message{
		Timestamp: time.Date(2026, 11, 22, 1, 49, 29, 187659000, time.UTC).UnixNano(),
		Type:      "timer", Logger: "myapp", Severity: Info, Payload: "12",
		EnvVersion: EnvVersion, Pid: 4242, Hostname: "web1",
		Fields: []Field{String("name", "db.query"), Float("rate", 1), String("http.path", "/login")},
	}
	fmt.Println(string(m.AppendJSON(nil)))
	// Output:
	// {"severity": 6, "timestamp": "2026-11-22T01:49:29.187659Z", "metlog_hostname": "web1", "fields": {"name": "db.query", "rate": 1.0, "http": {"path": "/login"}}, "metlog_pid": 4242, "logger": "myapp", "type": "timer", "payload": "12", "env_version": "0.8"}
}

// TestAppendTimestampRange checks appendTimestamp against package time over
// the whole range of int64 nanoseconds.
func TestAppendTimestampRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for k := range 200000 {
		ns := int64(rng.Uint64())
		if k%2 == 0 {
			ns -= ns % 1000 // microseconds: six fraction digits
		}
		tm := time.Unix(0, ns).UTC()
		want := tm.Format("2006-01-02T15:04:05.000000000") + "Z"
		if tm.Nanosecond()%1000 == 0 {
			want = tm.Format("2006-01-02T15:04:05.000000") + "Z"
		}
		if got := string(appendTimestamp(nil, ns)); got != want {
			t.Fatalf("appendTimestamp(%d) = %s, want %s", ns, got, want)
		}
	}
}

// TestAppendJSONStringRandom checks appendJSONString against a byte-at-a-time
// encoding, for strings mixing plain runs with every kind of byte that is
// escaped.
func TestAppendJSONStringRandom(t *testing.T) {
	ref := func(s string) string {
		var b []byte
		b = append(b, '"')
		for i := 0; i < len(s); {
			c := s[i]
			switch {
			case c < utf8.RuneSelf && jsonEscape[c] == 0:
				b = append(b, c)
				i++
			case c < utf8.RuneSelf && jsonEscape[c] == 'u':
				b = fmt.Appendf(b, `\u%04x`, c)
				i++
			case c < utf8.RuneSelf:
				b = append(b, '\\', jsonEscape[c])
				i++
			default:
				r, size := utf8.DecodeRuneInString(s[i:])
				if r >= 0x10000 {
					r1, r2 := utf16.EncodeRune(r)
					b = fmt.Appendf(b, `\u%04x\u%04x`, r1, r2)
				} else {
					b = fmt.Appendf(b, `\u%04x`, r)
				}
				i += size
			}
		}
		return string(append(b, '"'))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	pieces := []string{"\x00", "\x1f", " ", "\"", "\\", "\x7f", "\n", "\u00e9", "\u2603", "\U0001F600", "\xff", "\xc3", "abcdefghij", "x", "xyz"}
	for range 100000 {
		var sb strings.Builder
		for range rng.IntN(12) {
			sb.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := sb.String()
		if got, want := string(appendJSONString(nil, s)), ref(s); got != want {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendInt(t *testing.T) {
	vals := []int64{math.MinInt64, -1e6, -100, -1, 0, 1, 9, 10, 99, 100, 999, 1000, 4242, 9999, 1e4, 99999, 1e5, 999999, 1e6, math.MaxInt64}
	for v := int64(0); v < 20000; v += 7 {
		vals = append(vals, v)
	}
	for _, v := range vals {
		if got, want := string(appendInt([]byte("x"), v)), "x"+strconv.FormatInt(v, 10); got != want {
			t.Errorf("appendInt(%d) = %q, want %q", v, got, want)
		}
	}
}
