package syslog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metlog/metlog"
)

func TestAppendRFC5424(t *testing.T) {
	ts := time.Date(2026, 11, 22, 5, 0, 0, 123456789, time.UTC).UnixNano()
	tests := []struct {
		name   string
		h      Header
		fields []metlog.Field
		msg    string
		want   string
	}{
		{"nil header", Header{Facility: User, Severity: metlog.Notice}, nil, "", "<13>1 - - - - - -"},
		{"full", Header{Facility: Local0 + 4, Severity: metlog.Alert, Timestamp: ts, Hostname: "vm", AppName: "app", ProcID: "42", MsgID: "ID1"},
			nil, "hello", "<161>1 2026-11-22T05:00:00.123456Z vm app 42 ID1 - hello"},
		{"sanitised", Header{Facility: Kern, Severity: 99, Hostname: "a b", AppName: "é"}, nil, "x",
			"<3>1 - a_b __ - - - x"},
		{"structured data", Header{}, []metlog.Field{
			metlog.String("facility", "user"), metlog.String("x@1.a", `q"\]`), metlog.String("x@1.b", "2"),
			metlog.Int("y@1.n", 3), metlog.String("origin.ip", "192.0.2.1"), metlog.String("plain.field", "no"),
			metlog.Strings("origin.ip", "192.0.2.2", "192.0.2.3"),
		}, "m", `<0>1 - - - - - [x@1 a="q\"\\\]" b="2"][origin ip="192.0.2.1" ip="192.0.2.2" ip="192.0.2.3"] m`},
	}
	for _, tt := range tests {
		if got := string(AppendRFC5424(nil, &tt.h, tt.fields, tt.msg)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestAppendRFC3164(t *testing.T) {
	ts := time.Date(2026, 11, 2, 5, 0, 0, 0, time.UTC).UnixNano()
	tests := []struct {
		name string
		h    Header
		loc  *time.Location
		msg  string
		want string
	}{
		{"full", Header{Facility: Local0 + 4, Severity: metlog.Alert, Timestamp: ts, Hostname: "vm", AppName: "interop", ProcID: "18208"},
			nil, "CEF:0|x", "<161>Nov  2 05:00:00 vm interop[18208]: CEF:0|x"},
		{"zone", Header{Facility: User, Severity: metlog.Info, Timestamp: ts, Hostname: "vm", AppName: "a"},
			time.FixedZone("X", -6*3600), "m", "<14>Nov  1 23:00:00 vm a: m"},
		{"no tag", Header{Facility: User, Severity: metlog.Info, Timestamp: ts, ProcID: "1"}, nil, "m", "<14>Nov  2 05:00:00 - m"},
		{"odd tag", Header{Timestamp: ts, Hostname: "h", AppName: "a b:[c]", ProcID: "x]"}, nil, "m", "<0>Nov  2 05:00:00 h a_b__c_[x_]: m"},
	}
	for _, tt := range tests {
		if got := string(AppendRFC3164(nil, &tt.h, tt.loc, tt.msg)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestParseFacility(t *testing.T) {
	for in, want := range map[string]Facility{"LOCAL4": 20, "log_local4": 20, "user": 1, "0": 0, "23": 23, "clock": 15, "authpriv": 10} {
		if got, err := ParseFacility(in); err != nil || got != want {
			t.Errorf("ParseFacility(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "24", "-1", "local8"} {
		if _, err := ParseFacility(in); err == nil {
			t.Errorf("ParseFacility(%q) accepted", in)
		}
	}
}

// TestRoundTrip checks that what the encoder writes parses back to the
// same message, for every golden case that parses.
func TestRoundTrip(t *testing.T) {
	ins, _ := filepath.Glob("testdata/parse/*.in")
	p := testParser()
	for _, in := range ins {
		line, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		checkRoundTrip(t, p, line)
	}
}

// checkRoundTrip checks that parse → encode → parse → encode is stable:
// the second encoding equals the first, and both parse to equal messages.
func checkRoundTrip(t *testing.T, p *Parser, line []byte) {
	t.Helper()
	var m1 metlog.Message
	if p.Parse(line, &m1) != nil {
		return
	}
	five := bytes.HasPrefix(line[bytes.IndexByte(line, '>')+1:], []byte("1 "))
	enc := func(m *metlog.Message) []byte {
		h := HeaderOf(m, User)
		if five {
			return AppendRFC5424(nil, &h, m.Fields, m.Payload)
		}
		if h.Timestamp == 0 {
			h.Timestamp = testNow.UnixNano()
		}
		return AppendRFC3164(nil, &h, p.Location, m.Payload)
	}
	e1 := enc(&m1)
	var m2 metlog.Message
	if err := p.Parse(e1, &m2); err != nil {
		t.Fatalf("%q encoded as %q, which does not parse: %v", line, e1, err)
	}
	e2 := enc(&m2)
	if !bytes.Equal(e1, e2) {
		t.Fatalf("%q: encoded %q, then %q", line, e1, e2)
	}
	var m3 metlog.Message
	p.Parse(e2, &m3)
	if !m2.Equal(&m3) {
		t.Fatalf("%q: parsed %+v, then %+v", line, m2, m3)
	}
}
