package output

import (
	"strings"
	"testing"

	"github.com/metlog/metlog"
)

func TestText(t *testing.T) {
	m := &metlog.Message{
		Timestamp: 1700000000123456789, Type: "oldstyle", Logger: "app", Severity: metlog.Warning,
		Payload: "line one\nline two\x01", Hostname: "h", Pid: 42, EnvVersion: "0.8",
		Fields: []metlog.Field{metlog.String("user", "bob"), metlog.Ints("ids", 1, 2), metlog.Float("rate", 0.5)},
	}
	for _, tc := range []struct{ tmpl, want string }{
		{"", "2023-11-14T22:13:20.123456789Z app WARNING line one\\nline two\\x01\n"},
		{"{type}|{severity_num}|{pid}|{hostname}|{env_version}|{timestamp_ns}", "oldstyle|4|42|h|0.8|1700000000123456789\n"},
		{"{fields}", "user=bob ids=1,2 rate=0.5\n"},
		{"[{fields.ids}] {fields.missing}{{x}}", "[1,2] {x}\n"},
	} {
		tx, err := ParseText(tc.tmpl)
		if err != nil {
			t.Fatalf("%q: %v", tc.tmpl, err)
		}
		if got := string(tx.Append(nil, m)); got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.tmpl, got, tc.want)
		}
	}
}

func TestTextErrors(t *testing.T) {
	for _, tc := range []struct{ tmpl, want string }{
		{"{nope}", "column 1: unknown placeholder {nope}"},
		{"ab {payload", "column 4: '{' without a closing '}'"},
		{"x}", "column 2: '}' without an opening '{'"},
		{"{fields.}", "unknown placeholder {fields.}"},
	} {
		_, err := ParseText(tc.tmpl)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.tmpl, err, tc.want)
		}
	}
}

func TestTextEscapesInvalidUTF8(t *testing.T) {
	tx, _ := ParseText("{payload}")
	got := string(tx.Append(nil, &metlog.Message{Payload: "caf\xc3\xa9 \xff"}))
	if got != "café \\xff\n" {
		t.Errorf("got %q", got)
	}
}

func BenchmarkText(b *testing.B) {
	tx, _ := ParseText("")
	m := &metlog.Message{Timestamp: 1700000000123456789, Logger: "app", Severity: metlog.Info,
		Payload: strings.Repeat("x", 200)}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = tx.Append(buf[:0], m)
	}
}
