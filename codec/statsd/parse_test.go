package statsd

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// tableCase is one line of testdata/lines.txt.
type tableCase struct {
	lineNo int
	in     []byte
	want   string // the line as Append writes it, or "!label"
}

// loadTable reads testdata/lines.txt.
func loadTable(tb testing.TB) []tableCase {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "lines.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var cases []tableCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if text == "" || text[0] == '#' {
			continue
		}
		in, want, ok := strings.Cut(text, "\t")
		if !ok {
			tb.Fatalf("lines.txt:%d: no tab", n)
		}
		if strings.HasPrefix(in, `"`) {
			if in, err = strconv.Unquote(in); err != nil {
				tb.Fatalf("lines.txt:%d: %v", n, err)
			}
		}
		cases = append(cases, tableCase{n, []byte(in), want})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return cases
}

func TestParseTable(t *testing.T) {
	var m Metric
	for _, c := range loadTable(t) {
		err := Parse(c.in, &m)
		got := ""
		if err != nil {
			var e Error
			if !errors.As(err, &e) {
				t.Fatalf("lines.txt:%d: %q: error %v is not an Error", c.lineNo, c.in, err)
			}
			got = "!" + e.Label()
		} else {
			got = string(Append(nil, &m))
		}
		if got != c.want {
			t.Errorf("lines.txt:%d: %q: got %s, want %s", c.lineNo, c.in, got, c.want)
			continue
		}
		if err == nil {
			// What Append wrote parses back to itself.
			var m2 Metric
			if err := Parse([]byte(got), &m2); err != nil {
				t.Errorf("lines.txt:%d: Append wrote %q, which does not parse: %v", c.lineNo, got, err)
			} else if again := string(Append(nil, &m2)); again != got {
				t.Errorf("lines.txt:%d: %q appends as %q", c.lineNo, got, again)
			}
		}
	}
}

func tag(k, v string) Tag {
	t := Tag{Key: []byte(k)}
	if v != "" {
		t.Value = []byte(v)
	}
	return t
}

// Parse fills in every part of a Metric; the table above checks the rest
// through Append.
func TestParseFields(t *testing.T) {
	tests := []struct {
		line string
		want Metric
	}{
		{"page.views:1|c", Metric{Name: []byte("page.views"), Value: []byte("1"), Type: Counter, Rate: 1}},
		{"t:12.5|ms|@0.5", Metric{Name: []byte("t"), Value: []byte("12.5"), Type: Timer, Rate: 0.5}},
		{"h:3|h", Metric{Name: []byte("h"), Value: []byte("3"), Type: Histogram, Rate: 1}},
		{"d:3|d", Metric{Name: []byte("d"), Value: []byte("3"), Type: Distribution, Rate: 1}},
		{"g:-4|g", Metric{Name: []byte("g"), Value: []byte("-4"), Type: Gauge, Rate: 1}},
		{"s:bob|s", Metric{Name: []byte("s"), Value: []byte("bob"), Type: Set, Rate: 1}},
		{"c:1|c|#env:prod,canary,url:a:b|T1700000000|c:cid", Metric{
			Name: []byte("c"), Value: []byte("1"), Type: Counter, Rate: 1,
			Tags:      []Tag{tag("env", "prod"), tag("canary", ""), tag("url", "a:b")},
			Timestamp: 1700000000, ContainerID: []byte("cid"),
		}},
	}
	m := Metric{Tags: make([]Tag, 0, 8)}
	for _, tt := range tests {
		if err := Parse([]byte(tt.line), &m); err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if !metricEqual(&m, &tt.want) {
			t.Errorf("%q:\ngot  %+v\nwant %+v", tt.line, m, tt.want)
		}
	}
}

// A failed Parse leaves no trace of an earlier line.
func TestParseResets(t *testing.T) {
	var m Metric
	if err := Parse([]byte("a:1|c|@0.5|#x:y|T5|c:z"), &m); err != nil {
		t.Fatal(err)
	}
	if err := Parse([]byte("b:2|x"), &m); err != ErrUnknownType {
		t.Fatalf("got %v", err)
	}
	if m.Name != nil || m.Value != nil || m.Type != 0 || m.Rate != 1 || len(m.Tags) != 0 || m.Timestamp != 0 || m.ContainerID != nil {
		t.Errorf("not reset: %+v", m)
	}
}

func metricEqual(a, b *Metric) bool {
	return bytes.Equal(a.Name, b.Name) && bytes.Equal(a.Value, b.Value) && a.Type == b.Type &&
		a.Rate == b.Rate && a.Timestamp == b.Timestamp && bytes.Equal(a.ContainerID, b.ContainerID) &&
		slices.EqualFunc(a.Tags, b.Tags, func(x, y Tag) bool {
			return bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Value, y.Value)
		})
}

func TestLines(t *testing.T) {
	tests := []struct {
		buf  string
		want []string
	}{
		{"", nil},
		{"\n", nil},
		{"a:1|c", []string{"a:1|c"}},
		{"a:1|c\n", []string{"a:1|c"}},
		{"a:1|c\nb:2|ms", []string{"a:1|c", "b:2|ms"}},
		{"a:1|c\r\nb:2|ms\r\n", []string{"a:1|c", "b:2|ms"}},
		{"\n\na:1|c\n\r\n\nb:2|ms\n\n", []string{"a:1|c", "b:2|ms"}},
		{"a\rb\n\r", []string{"a\rb"}},
		{"x\r\r\n", []string{"x\r"}},
	}
	for _, tt := range tests {
		var got []string
		for line := range Lines([]byte(tt.buf)) {
			got = append(got, string(line))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.buf, got, tt.want)
		}
	}
	// Stopping early.
	n := 0
	for range Lines([]byte("a\nb\nc")) {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("break: %d lines", n)
	}
}

func TestErrors(t *testing.T) {
	labels := map[string]bool{}
	for _, e := range Errors() {
		if e.Label() == "unknown" || labels[e.Label()] {
			t.Errorf("%d: label %q", e, e.Label())
		}
		labels[e.Label()] = true
		if !strings.HasPrefix(e.Error(), "statsd: ") || strings.Contains(e.Error(), "error ") {
			t.Errorf("%d: text %q", e, e.Error())
		}
		var err error = e
		if !errors.Is(err, e) {
			t.Errorf("%v is not itself", e)
		}
	}
	if len(labels) != 9 {
		t.Errorf("%d kinds", len(labels))
	}
	if Error(0).Label() != "unknown" || Error(200).Error() != "statsd: error 200" {
		t.Error("out-of-range Error")
	}
	if Type(0).String() != "Type(0)" || Set.String() != "s" || Timer.String() != "ms" {
		t.Error("Type.String")
	}
}

// Parsing and iterating do not allocate; neither does an error.
func TestNoAllocations(t *testing.T) {
	buf := []byte("a.b.c:1|c|@0.5|#env:prod,canary\nt:12.5|ms\ng:+3|g\ns:bob|s\nbad:1|x\n")
	var m Metric
	allocs := testing.AllocsPerRun(100, func() {
		for line := range Lines(buf) {
			Parse(line, &m)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per datagram", allocs)
	}
	dst := make([]byte, 0, 256)
	line := []byte("a:1|c|@0.25|#k:v|T1700000000")
	allocs = testing.AllocsPerRun(100, func() {
		Parse(line, &m)
		dst = Append(dst[:0], &m)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Append", allocs)
	}
}
