package syslog

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/parse")

// testNow is the time the golden files were read at.
var testNow = time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC)

func testParser() *Parser {
	return &Parser{Now: func() time.Time { return testNow }}
}

// golden is how a parsed message is written in testdata/parse/*.json.
type golden struct {
	Error     string      `json:"error,omitempty"`
	Type      string      `json:"type"`
	Timestamp string      `json:"timestamp,omitempty"`
	Severity  int         `json:"severity"`
	Hostname  string      `json:"hostname,omitempty"`
	Logger    string      `json:"logger,omitempty"`
	Pid       int32       `json:"pid,omitempty"`
	Payload   string      `json:"payload"`
	Fields    [][2]string `json:"fields,omitempty"`
}

func goldenOf(m *metlog.Message, err error) golden {
	g := golden{Type: m.Type, Severity: int(m.Severity), Hostname: m.Hostname, Logger: m.Logger, Pid: m.Pid, Payload: m.Payload}
	if err != nil {
		g.Error = err.Error()
	}
	if m.Timestamp != 0 {
		g.Timestamp = m.Time().Format(time.RFC3339Nano)
	}
	for _, f := range m.Fields {
		g.Fields = append(g.Fields, [2]string{f.Name, strings.Join(f.Strings, ",")})
	}
	return g
}

func TestParseGolden(t *testing.T) {
	ins, err := filepath.Glob("testdata/parse/*.in")
	if err != nil || len(ins) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	p := testParser()
	var m metlog.Message // reused, as inputs do
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		t.Run(name, func(t *testing.T) {
			line, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			perr := p.Parse(line, &m)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(goldenOf(&m, perr)); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			out := strings.TrimSuffix(in, ".in") + ".json"
			if *update {
				if err := os.WriteFile(out, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestParseKeepsMalformed(t *testing.T) {
	tests := []struct {
		line     string
		err      Error
		severity metlog.Severity
		facility string
	}{
		{"no pri", ErrNoPriority, metlog.Notice, ""},
		{"<999>x", ErrBadPriority, metlog.Notice, ""},
		{"<>x", ErrBadPriority, metlog.Notice, ""},
		{"<13", ErrBadPriority, metlog.Notice, ""},
		{"", ErrEmpty, metlog.Notice, ""},
		{"<11>1 yesterday h a - - - x", ErrBadTimestamp, metlog.Error, "user"},
		{"<11>1 - h a - - [bad", ErrBadStructuredData, metlog.Error, "user"},
		{"<11>1 - h a - - -x", ErrBadStructuredData, metlog.Error, "user"},
		{"<11>1  h a - - - x", ErrBadHeader, metlog.Error, "user"},
	}
	p := testParser()
	for _, tt := range tests {
		var m metlog.Message
		err := p.Parse([]byte(tt.line), &m)
		if err != tt.err {
			t.Errorf("%q: error %v, want %v", tt.line, err, tt.err)
		}
		if m.Payload != tt.line || m.Severity != tt.severity || stringField(&m, FieldFacility) != tt.facility ||
			stringField(&m, FieldParseError) != tt.err.Error() || m.Type != DefaultType {
			t.Errorf("%q: kept as %+v", tt.line, m)
		}
	}
}

func TestParseYear(t *testing.T) {
	tests := []struct {
		now  time.Time
		line string
		want time.Time
	}{
		{time.Date(2027, 1, 1, 0, 0, 5, 0, time.UTC), "<13>Dec 31 23:59:59 h a: x", time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC)},
		{time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC), "<13>Jan  1 00:00:01 h a: x", time.Date(2027, 1, 1, 0, 0, 1, 0, time.UTC)},
		{time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), "<13>Nov 25 00:00:00 h a: x", time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), "<13>Feb 29 00:00:00 h a: x", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		p := &Parser{Now: func() time.Time { return tt.now }}
		var m metlog.Message
		if err := p.Parse([]byte(tt.line), &m); err != nil {
			t.Fatal(err)
		}
		if got := m.Time(); !got.Equal(tt.want) {
			t.Errorf("%q at %v: %v, want %v", tt.line, tt.now, got, tt.want)
		}
	}
}

func TestParseLocation(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	p := &Parser{Location: loc, Now: func() time.Time { return testNow }}
	var m metlog.Message
	if err := p.Parse([]byte("<13>Nov 22 05:00:00 h a: x"), &m); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC); !m.Time().Equal(want) {
		t.Errorf("%v, want %v", m.Time(), want)
	}
}

func TestParseReuse(t *testing.T) {
	p := testParser()
	var m metlog.Message
	m.UUID = metlog.UUID{1}
	p.Parse([]byte(`<13>1 - h a 5 m [x@1 a="1" b="2"] one`), &m)
	first := m.Clone()
	p.Parse([]byte(`<14>Nov 22 05:00:00 h b: two`), &m)
	if m.Payload != "two" || len(m.Fields) != 1 || m.Pid != 0 || m.UUID != (metlog.UUID{}) {
		t.Errorf("reused message: %+v", m)
	}
	if first.Payload != "one" || len(first.Fields) != 4 || first.Fields[2].Strings[0] != "1" {
		t.Errorf("earlier clone changed: %+v", first)
	}
}

func TestParseAllocs(t *testing.T) {
	p := testParser()
	var m metlog.Message
	lines := [][]byte{
		[]byte("<13>Nov 22 04:59:59 vm sshd[1234]: Accepted publickey for alice"),
		[]byte(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...`),
	}
	for i, line := range lines {
		p.Parse(line, &m) // warm up m.Fields
		allocs := testing.AllocsPerRun(100, func() { p.Parse(line, &m) })
		want := float64(1 + i) // the line, and the structured data names
		if allocs > want {
			t.Errorf("line %d: %v allocations, want at most %v", i, allocs, want)
		}
	}
}
