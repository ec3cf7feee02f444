package exceptions

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/metlog/metlog"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// exc builds an exception message with the given types and frames
// (function, file, line, in-app).
type fr struct {
	fn, file string
	line     int64
	app      bool
}

func exc(logger, payload string, types []string, frames []fr, extra ...metlog.Field) *metlog.Message {
	m := &metlog.Message{UUID: metlog.NewUUID(), Type: metlog.TypeException, Logger: logger, Payload: payload,
		Severity: metlog.Error}
	if types != nil {
		m.AddField(metlog.Strings(metlog.FieldErrorType, types...))
	}
	if frames != nil {
		var fns, files []string
		var lines []int64
		var app []bool
		for _, f := range frames {
			fns, files, lines, app = append(fns, f.fn), append(files, f.file), append(lines, f.line), append(app, f.app)
		}
		m.AddField(metlog.Strings(metlog.FieldStackFunc, fns...))
		m.AddField(metlog.Strings(metlog.FieldStackFile, files...))
		m.AddField(metlog.Ints(metlog.FieldStackLine, lines...))
		m.AddField(metlog.Bools(metlog.FieldStackInApp, app...))
	}
	m.Fields = append(m.Fields, extra...)
	return m
}

var (
	handler = []fr{
		{"example.com/shop/store.(*DB).Load", "/build/1/store/db.go", 40, true},
		{"example.com/shop/api.(*Server).item", "/build/1/api/item.go", 12, true},
		{"example.com/shop/api.(*Server).item.func2", "/build/1/api/item.go", 30, true},
		{"net/http.HandlerFunc.ServeHTTP", "/go/src/net/http/server.go", 2294, false},
	}
	// The same code after a deploy: other paths, lines and closure numbers,
	// another standard library.
	handlerRedeployed = []fr{
		{"example.com/shop/store.(*DB).Load", "/build/2/store/db.go", 44, true},
		{"example.com/shop/api.(*Server).item", "/build/2/api/item.go", 15, true},
		{"example.com/shop/api.(*Server).item.func5", "/build/2/api/item.go", 39, true},
		{"net/http.HandlerFunc.ServeHTTP", "/go1.27/src/net/http/server.go", 2301, false},
	}
	// Called from elsewhere: a different second frame.
	otherCaller = []fr{
		{"example.com/shop/store.(*DB).Load", "/build/1/store/db.go", 40, true},
		{"example.com/shop/jobs.Nightly", "/build/1/jobs/nightly.go", 8, true},
	}
	noFlags = []fr{
		{"runtime.panicmem", "", 1, false},
		{"github.com/lib/pq.(*conn).query", "/mod/pq/conn.go", 1, false},
		{"main.main", "/src/main.go", 1, false},
	}
)

func TestFingerprint(t *testing.T) {
	types := []string{"*fmt.wrapError", "*fs.PathError"}
	base := exc("shop", "load 7: open /x", types, handler)
	tests := []struct {
		name string
		m    *metlog.Message
		same bool
	}{
		{"redeployed, lines drifted", exc("shop", "load 9: open /y", types, handlerRedeployed), true},
		{"another message text", exc("shop", "entirely different", types, handler), true},
		{"another type", exc("shop", "x", []string{"*fmt.wrapError", "syscall.Errno"}, handler), false},
		{"another caller", exc("shop", "x", types, otherCaller), false},
		{"only the fourth frame differs", exc("shop", "x", types, append(append([]fr{}, handler[:3]...), fr{"example.com/shop/z.F", "f", 1, true})), true},
		{"app fingerprint", exc("shop", "x", types, handler, metlog.String(metlog.FieldFingerprint, "db")), false},
	}
	fp := Fingerprint(base, 3)
	if len(fp) != 16 {
		t.Errorf("fingerprint %q", fp)
	}
	for _, tt := range tests {
		if got := Fingerprint(tt.m, 3) == fp; got != tt.same {
			t.Errorf("%s: same fingerprint %v, want %v", tt.name, got, tt.same)
		}
	}
	// The app's own fingerprint decides alone.
	a := exc("shop", "a", []string{"A"}, handler, metlog.Strings(metlog.FieldFingerprint, "db", "timeout"))
	b := exc("shop", "b", []string{"B"}, otherCaller, metlog.Strings(metlog.FieldFingerprint, "db", "timeout"))
	c := exc("shop", "b", []string{"B"}, otherCaller, metlog.Strings(metlog.FieldFingerprint, "db", "refused"))
	if Fingerprint(a, 3) != Fingerprint(b, 3) || Fingerprint(b, 3) == Fingerprint(c, 3) {
		t.Error("app fingerprints not honoured")
	}
	// No in-app flags: frames outside the standard library.
	x := exc("shop", "a", []string{"E"}, noFlags)
	y := exc("shop", "a", []string{"E"}, append([]fr{{"runtime.other", "", 9, false}}, noFlags[1:]...))
	if Fingerprint(x, 3) != Fingerprint(y, 3) {
		t.Error("standard-library frames changed the fingerprint")
	}
	// No stack: the text, digits masked.
	if Fingerprint(exc("shop", "user 12 not found", nil, nil), 3) != Fingerprint(exc("shop", "user 7 not found", nil, nil), 3) ||
		Fingerprint(exc("shop", "user 12 not found", nil, nil), 3) == Fingerprint(exc("shop", "order 12 not found", nil, nil), 3) {
		t.Error("messages without a stack")
	}
}

func TestNormalizeFunc(t *testing.T) {
	tests := map[string]string{
		"main.main":                         "main.main",
		"main.handler.func3":                "main.handler.func",
		"main.handler.func12.1":             "main.handler.func.",
		"example.com/x/v2.(*T).Run.gowrap1": "example.com/x/v2.(*T).Run.gowrap",
		"gopkg.in/yaml.v3.Unmarshal":        "gopkg.in/yaml.v3.Unmarshal",
		"example.com/a.F[...]":              "example.com/a.F[...]",
	}
	for in, want := range tests {
		if got := normalizeFunc(in); got != want {
			t.Errorf("normalizeFunc(%q) = %q, want %q", in, got, want)
		}
	}
}

func newAgg(t *testing.T, cfg Config) *Aggregator {
	t.Helper()
	a, err := New(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func flush(a *Aggregator, now time.Time) []*metlog.Message {
	var out []*metlog.Message
	a.Flush(now, func(m *metlog.Message) { out = append(out, m.Clone()) })
	return out
}

func TestGroups(t *testing.T) {
	a := newAgg(t, Defaults())
	types := []string{"*errors.errorString"}
	first := exc("shop", "boom 1", types, handler)
	first.Timestamp, first.Hostname = 100, "web-1"
	a.Add(first)
	second := exc("shop", "boom 2", types, handlerRedeployed)
	second.Timestamp, second.Severity = 300, metlog.Critical
	a.Add(second)
	third := exc("shop", "boom 3", types, handler)
	third.Timestamp = 50 // late arrival
	a.Add(third)
	a.Add(exc("shop", "other", types, otherCaller))
	a.Add(exc("billing", "boom", types, handler)) // another app: another group

	now := time.Unix(1000, 0)
	out := flush(a, now)
	if len(out) != 3 {
		t.Fatalf("%d groups, want 3", len(out))
	}
	g := out[0]
	get := func(m *metlog.Message, name string) any {
		if f := m.Field(name); f != nil {
			return f.Value(0)
		}
		return nil
	}
	if g.Type != TypeGroup || g.Logger != "shop" || g.Timestamp != now.UnixNano() || g.Payload != "boom 1" ||
		g.Hostname != "web-1" || g.Severity != metlog.Critical {
		t.Errorf("group message %+v", g)
	}
	if get(g, FieldCount) != int64(3) || get(g, FieldFirstSeen) != int64(50) || get(g, FieldLastSeen) != int64(300) ||
		get(g, FieldSampleUUID) != first.UUID.String() || get(g, FieldFingerprint) != Fingerprint(first, 3) ||
		get(g, FieldCulprit) != "example.com/shop/store.(*DB).Load" {
		t.Errorf("group fields %+v", g.Fields)
	}
	if g.Field(metlog.FieldStackFunc) == nil || g.Field(metlog.FieldErrorType) == nil {
		t.Error("the sample's exception fields are missing")
	}
	if get(out[1], FieldCount) != int64(1) || out[2].Logger != "billing" || get(out[2], FieldFingerprint) != get(g, FieldFingerprint) {
		t.Errorf("other groups %+v %+v", out[1], out[2])
	}
	// A new period starts empty.
	if out := flush(a, now); len(out) != 0 {
		t.Errorf("%d groups after a flush", len(out))
	}
}

func TestOverflow(t *testing.T) {
	cfg := Defaults()
	cfg.MaxGroups = 2
	a := newAgg(t, cfg)
	for i := range 5 {
		a.Add(exc("shop", "x", []string{fmt.Sprintf("T%d", i)}, handler))
	}
	out := flush(a, time.Unix(1, 0))
	if len(out) != 3 {
		t.Fatalf("%d groups", len(out))
	}
	if fp := out[2].Field(FieldFingerprint).Strings[0]; fp != OverflowFingerprint || out[2].Field(FieldCount).Integers[0] != 3 {
		t.Errorf("overflow group %+v", out[2].Fields)
	}
}

// report is a second place exceptions are raised from.
func report(c *metlog.Client, err error) { c.Exception(err) }

// Exceptions from the client, raised in one function, are one group; from
// another function, another. Lines do not matter: two reports of the same
// error types from one function are one group.
func TestClientExceptions(t *testing.T) {
	mem := metlog.NewMemorySender()
	c := metlog.New(mem, metlog.WithLogger("app"))
	for i := range 3 {
		c.Exception(fmt.Errorf("try %d: %w", i, errors.ErrUnsupported))
	}
	report(c, fmt.Errorf("elsewhere: %w", errors.ErrUnsupported))
	c.Close()
	a := newAgg(t, Defaults())
	for _, m := range mem.Messages() {
		a.Add(m)
	}
	out := flush(a, time.Now())
	if len(out) != 2 || out[0].Field(FieldCount).Integers[0] != 3 {
		t.Errorf("groups: %d, first counts %v", len(out), out[0].Field(FieldCount))
	}
}

func TestConfig(t *testing.T) {
	c := Config{}
	err := c.Validate()
	if err == nil {
		t.Fatal("zero config accepted")
	}
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
}
