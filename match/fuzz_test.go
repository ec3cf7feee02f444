package match

import (
	"bufio"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/metlog/metlog"
)

// testdataExpressions reads testdata/expressions.txt.
func testdataExpressions(t testing.TB) []string {
	f, err := os.Open("testdata/expressions.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var exprs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		exprs = append(exprs, line)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return exprs
}

func TestExpressionsFile(t *testing.T) {
	for _, expr := range testdataExpressions(t) {
		m, err := Compile(expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", expr, err)
			continue
		}
		checkRoundTrip(t, expr, m)
	}
}

// seedExpressions are every expression the tests know, valid or not.
func seedExpressions(t testing.TB) []string {
	seeds := testdataExpressions(t)
	for _, c := range matchCases {
		seeds = append(seeds, c.expr)
	}
	for _, c := range errorCases {
		seeds = append(seeds, c.expr)
	}
	for _, c := range stringCases {
		seeds = append(seeds, c.expr)
	}
	return seeds
}

// FuzzCompile checks that Compile never panics, that its errors are
// located *Errors, and that a compiled matcher's String is a fixed point
// that compiles to an equivalent matcher, agreeing with the reference
// evaluator on every test message.
func FuzzCompile(f *testing.F) {
	for _, s := range seedExpressions(f) {
		f.Add(s)
	}
	msgs := fuzzMessages()
	f.Fuzz(func(t *testing.T, expr string) {
		m, err := Compile(expr)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%q) error %T %v, want *Error", expr, err, err)
			}
			if e.Offset < 0 || e.Offset > len(expr) || e.Line < 1 && e.Column != 0 ||
				e.Column == 0 && !errors.Is(err, ErrLimit) {
				t.Fatalf("Compile(%q) error %#v is badly located", expr, e)
			}
			return
		}
		checkRoundTrip(t, expr, m)
		tree, err := Parse(expr)
		if err != nil {
			t.Fatalf("Compile(%q) succeeded but Parse failed: %v", expr, err)
		}
		again, err := Compile(m.String())
		if err != nil {
			return // too long once escaped; checkRoundTrip vouched for it
		}
		for i, msg := range msgs {
			got, ref, re := m.Match(msg), refEval(tree, msg), again.Match(msg)
			if got != ref || got != re {
				t.Fatalf("%q on message %d: Match %v, reference %v, recompiled %q %v", expr, i, got, ref, m.String(), re)
			}
		}
	})
}

// checkRoundTrip checks that m's canonical form compiles to the same
// tree and is a fixed point, and that the parsed tree prints and parses
// back unchanged.
func checkRoundTrip(t testing.TB, expr string, m *Matcher) {
	t.Helper()
	s := m.String()
	again, err := Compile(s)
	if err != nil {
		if len(s) > MaxLen && errors.Is(err, ErrLimit) {
			return
		}
		t.Fatalf("Compile(%q): String %q does not compile: %v", expr, s, err)
	}
	if again.String() != s {
		t.Fatalf("Compile(%q): String %q is not a fixed point: %q", expr, s, again.String())
	}
	if !reflect.DeepEqual(again.Expr(), m.Expr()) {
		t.Fatalf("Compile(%q): String %q parses to a different tree", expr, s)
	}
	tree, err := Parse(expr)
	if err != nil {
		t.Fatalf("Parse(%q): %v", expr, err)
	}
	if tree2, err := Parse(tree.String()); err == nil && !reflect.DeepEqual(tree, tree2) {
		t.Fatalf("Parse(%q).String() = %q parses to a different tree", expr, tree.String())
	}
}

// FuzzMatch checks compiled matchers against the reference evaluator on
// messages built from arbitrary text, to exercise the regexp shortcuts and
// string orderings on inputs the tables do not hold.
func FuzzMatch(f *testing.F) {
	exprs := []string{
		`Type =~ /abc/`, `Type =~ /^abc/`, `Type =~ /abc$/`, `Type =~ /^abc$/`, `Type !~ /^$/`,
		`Payload =~ /^\x{fffd}/`, `Payload =~ /(?i)^ab/`, `Payload =~ /a.c/`, `Hostname < 'm'`,
		`Fields[f] =~ /^é/`, `Fields[b] =~ /c$/`, `Fields[b] >= 'b'`, `Fields[b] == 'abc'`,
		`Uuid =~ /^0/`, `Uuid > '8'`, `Fields[n] < 3`, `Fields[d] >= 2.5`,
	}
	texts := []string{"", "abc", "xabcx", "ABC", "\xffabc", "é", "\xc3", "m", "a\nb"}
	for i, e := range exprs {
		f.Add(e, texts[i%len(texts)])
	}
	f.Fuzz(func(t *testing.T, expr, text string) {
		m, err := Compile(expr)
		if err != nil {
			return
		}
		tree, _ := Parse(expr)
		msg := &metlog.Message{
			Type: text, Payload: text, Hostname: text,
			Fields: []metlog.Field{
				metlog.String("f", text),
				metlog.Bytes("b", []byte(text)),
				metlog.Int("n", int64(len(text))),
				metlog.Float("d", float64(len(text))/2),
			},
		}
		copy(msg.UUID[:], text)
		if got, want := m.Match(msg), refEval(tree, msg); got != want {
			t.Fatalf("%q on text %q: Match %v, reference %v", expr, text, got, want)
		}
	})
}
