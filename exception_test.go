package metlog

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
)

type codeError struct{ code int }

func (e codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

func TestExceptionChain(t *testing.T) {
	pathErr := &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}
	tests := []struct {
		name    string
		err     error
		types   []string
		parents []int64
	}{
		{"plain", errors.New("boom"), []string{"*errors.errorString"}, []int64{-1}},
		{"value type", codeError{7}, []string{"metlog.codeError"}, []int64{-1}},
		{"wrapped", fmt.Errorf("load: %w", pathErr),
			[]string{"*fmt.wrapError", "*fs.PathError", "*errors.errorString"}, []int64{-1, 0, 1}},
		{"joined", errors.Join(codeError{1}, fmt.Errorf("two: %w", codeError{2})),
			[]string{"*errors.joinError", "metlog.codeError", "*fmt.wrapError", "metlog.codeError"},
			[]int64{-1, 0, 0, 2}},
		{"several %w", fmt.Errorf("%w and %w", codeError{1}, codeError{2}),
			[]string{"*fmt.wrapErrors", "metlog.codeError", "metlog.codeError"}, []int64{-1, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mem := newTestClient(t)
			c.Exception(tt.err, String("user", "bob"))
			c.Exception(nil) // sends nothing
			msgs := flushed(t, c, mem)
			if len(msgs) != 1 {
				t.Fatalf("got %d messages", len(msgs))
			}
			m := msgs[0]
			if m.Type != TypeException || m.Severity != Error || m.Payload != tt.err.Error() {
				t.Errorf("type %q severity %v payload %q", m.Type, m.Severity, m.Payload)
			}
			if got := m.Field(FieldErrorType).Strings; !slices.Equal(got, tt.types) {
				t.Errorf("types %q, want %q", got, tt.types)
			}
			if got := m.Field(FieldErrorParent).Integers; !slices.Equal(got, tt.parents) {
				t.Errorf("parents %v, want %v", got, tt.parents)
			}
			msgsF := m.Field(FieldErrorMessage).Strings
			if len(msgsF) != len(tt.types) || msgsF[0] != tt.err.Error() {
				t.Errorf("messages %q", msgsF)
			}
			if fieldValue(m, FieldMechanism) != "error" || fieldValue(m, "user") != "bob" {
				t.Errorf("fields %+v", m.Fields)
			}
			funcs := m.Field(FieldStackFunc).Strings
			files := m.Field(FieldStackFile).Strings
			lines := m.Field(FieldStackLine).Integers
			if len(funcs) == 0 || len(funcs) != len(files) || len(files) != len(lines) {
				t.Fatalf("stack of %d functions, %d files, %d lines", len(funcs), len(files), len(lines))
			}
			if !strings.HasSuffix(funcs[0], "TestExceptionChain.func1") ||
				!strings.HasSuffix(files[0], "exception_test.go") || lines[0] == 0 {
				t.Errorf("first frame %s %s:%d, want this test", funcs[0], files[0], lines[0])
			}
		})
	}
}

func TestExceptionChainIsBounded(t *testing.T) {
	err := errors.New("root")
	for i := range 100 {
		err = fmt.Errorf("wrap %d: %w", i, err)
	}
	c, mem := newTestClient(t)
	c.Exception(err)
	m := flushed(t, c, mem)[0]
	if n := len(m.Field(FieldErrorType).Strings); n != maxErrorChain {
		t.Errorf("chain of %d errors, want %d", n, maxErrorChain)
	}
}

//go:noinline
func panicky(p *int) int { return *p }

func TestRecover(t *testing.T) {
	tests := []struct {
		name      string
		panicWith func()
		typ       string
		first     string // suffix of the first stack function
	}{
		{"string", func() { panic("oh no") }, "string", "TestRecover.func1"},
		{"error", func() { panic(codeError{3}) }, "metlog.codeError", "TestRecover.func2"},
		{"nil dereference", func() { panicky(nil) }, "runtime.errorString", "metlog.panicky"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mem := newTestClient(t)
			var repanicked any
			func() {
				defer func() { repanicked = recover() }()
				defer c.Recover(String("job", "nightly"))
				tt.panicWith()
			}()
			if repanicked == nil {
				t.Fatal("Recover did not panic again")
			}
			msgs := mem.Messages() // Recover flushed before panicking again
			if len(msgs) != 1 {
				t.Fatalf("got %d messages", len(msgs))
			}
			m := msgs[0]
			if m.Type != TypeException || m.Severity != Critical || fieldValue(m, FieldMechanism) != "panic" ||
				fieldValue(m, "job") != "nightly" {
				t.Errorf("message %+v", m)
			}
			if got := fieldValue(m, FieldErrorType); got != tt.typ {
				t.Errorf("type %v, want %s", got, tt.typ)
			}
			if m.Payload != fmt.Sprint(repanicked) {
				t.Errorf("payload %q, want %q", m.Payload, fmt.Sprint(repanicked))
			}
			funcs := m.Field(FieldStackFunc).Strings
			if len(funcs) == 0 || !strings.HasSuffix(funcs[0], tt.first) {
				t.Errorf("stack starts %q, want …%s", funcs, tt.first)
			}
		})
	}
}

func TestRecoverWithoutPanic(t *testing.T) {
	c, mem := newTestClient(t)
	func() { defer c.Recover() }()
	c.ReportPanic(nil)
	if msgs := flushed(t, c, mem); len(msgs) != 0 {
		t.Errorf("got %d messages", len(msgs))
	}
}

func TestExceptionContext(t *testing.T) {
	c, mem := newTestClient(t)
	c.Exception(fmt.Errorf("load: %w", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}),
		Strings(FieldFingerprint, "settings", "load"))
	m := flushed(t, c, mem)[0]
	if got := m.Field(FieldErrorModule).Strings; !slices.Equal(got, []string{"fmt", "io/fs", "errors"}) {
		t.Errorf("error modules %q", got)
	}
	if got := fieldValue(m, FieldGoVersion); got != runtime.Version() {
		t.Errorf("go version %v", got)
	}
	if m.Field(FieldGoroutine) != nil {
		t.Error("an error (not a panic) carries the goroutine")
	}
	if got := m.Field(FieldFingerprint).Strings; !slices.Equal(got, []string{"settings", "load"}) {
		t.Errorf("fingerprint %q", got)
	}
	funcs := m.Field(FieldStackFunc).Strings
	mods := m.Field(FieldStackModule).Strings
	inApp := m.Field(FieldStackInApp).Bools
	if len(mods) != len(funcs) || len(inApp) != len(funcs) {
		t.Fatalf("%d functions, %d modules, %d in_app", len(funcs), len(mods), len(inApp))
	}
	for i, fn := range funcs {
		if !strings.HasPrefix(fn, mods[i]+".") {
			t.Errorf("frame %d: function %s outside its module %s", i, fn, mods[i])
		}
		// This package is the library, never the app; testing is the
		// standard library.
		if inApp[i] {
			t.Errorf("frame %d (%s) is in-app", i, fn)
		}
	}
	if mods[0] != "github.com/metlog/metlog" || !slices.Contains(mods, "testing") {
		t.Errorf("modules %q", mods)
	}
}

func TestPanicContext(t *testing.T) {
	c, mem := newTestClient(t)
	func() {
		defer func() {
			if v := recover(); v != nil {
				c.ReportPanic(v)
			}
		}()
		var a []int
		_ = a[len(a)] // index out of range
	}()
	m := flushed(t, c, mem)[0]
	if id, _ := fieldValue(m, FieldGoroutine).(int64); id <= 0 {
		t.Errorf("goroutine %v", fieldValue(m, FieldGoroutine))
	}
	if got := fieldValue(m, FieldErrorType); got != "runtime.boundsError" {
		t.Errorf("type %v", got)
	}
	if got := fieldValue(m, FieldErrorModule); got != "runtime" {
		t.Errorf("module %v", got)
	}
	if fn := fieldValue(m, FieldStackFunc).(string); !strings.HasSuffix(fn, "TestPanicContext.func1") {
		t.Errorf("first frame %s, want the panicking closure", fn)
	}
}

func TestAppPackage(t *testing.T) {
	tests := []struct {
		pkg, module string
		want        bool
	}{
		{"main", "example.com/app", true},
		{"example.com/app", "example.com/app", true},
		{"example.com/app/internal/db", "example.com/app", true},
		{"example.com/application", "example.com/app", false},
		{"net/http", "example.com/app", false},
		{"runtime", "example.com/app", false},
		{"vendor/golang.org/x/net/http2", "example.com/app", false},
		{"github.com/lib/pq", "example.com/app", false},
		{"github.com/metlog/metlog", "github.com/metlog/metlog", false}, // the library itself
		{"github.com/metlog/metlog/router", "github.com/metlog/metlog", true},
		{"", "example.com/app", false},
		{"example.com/app", "", false},
	}
	for _, tt := range tests {
		if got := appPackage(tt.pkg, tt.module); got != tt.want {
			t.Errorf("appPackage(%q, %q) = %v", tt.pkg, tt.module, got)
		}
	}
}

func TestFuncPackage(t *testing.T) {
	tests := map[string]string{
		"main.main":                                    "main",
		"main.(*server).handle.func1":                  "main",
		"net/http.HandlerFunc.ServeHTTP":               "net/http",
		"github.com/metlog/metlog.(*Client).Exception": "github.com/metlog/metlog",
		"example.com/a.b/c.F[...]":                     "example.com/a.b/c",
		"gopkg.in/yaml%2ev3.Unmarshal":                 "gopkg.in/yaml%2ev3",
		"runtime.gopanic":                              "runtime",
		"nodot":                                        "",
	}
	for fn, want := range tests {
		if got := funcPackage(fn); got != want {
			t.Errorf("funcPackage(%q) = %q, want %q", fn, got, want)
		}
	}
}

//go:noinline
func callersThrough(depth int) []uintptr {
	if depth > 0 {
		return inlinedStep(depth)
	}
	pcs := make([]uintptr, 64)
	return pcs[:runtime.Callers(1, pcs)]
}

func inlinedStep(depth int) []uintptr { return callersThrough(depth - 1) } // small enough to inline

// Resolving pcs one at a time, through the cache, gives the frames that
// runtime.CallersFrames gives for the whole list, inlined calls included.
func TestFramesMatchRuntime(t *testing.T) {
	for range 2 { // the second round is served from the cache
		pcs := callersThrough(3)
		var want []runtime.Frame
		frames := runtime.CallersFrames(pcs)
		for {
			f, more := frames.Next()
			want = append(want, f)
			if !more {
				break
			}
		}
		got := resolveFrames(pcs, nil, false)
		if len(got) != len(want) {
			t.Fatalf("%d frames, runtime has %d", len(got), len(want))
		}
		for i := range got {
			if got[i].function != want[i].Function || got[i].file != want[i].File || got[i].line != int64(want[i].Line) {
				t.Errorf("frame %d: %s %s:%d, runtime says %s %s:%d", i, got[i].function, got[i].file, got[i].line,
					want[i].Function, want[i].File, want[i].Line)
			}
		}
	}
}

func TestRequestFields(t *testing.T) {
	r := httptest.NewRequest("POST", "https://bob:hunter2@example.com/users/7?q=go&api_key=s3cr3t&token=t#frag", nil)
	r.Header.Set("User-Agent", "test/1.0")
	r.Header.Set("Authorization", "Bearer abc")
	r.Header.Set("Cookie", "session=abc")
	r.Header.Set("X-Auth-Token", "abc")
	r.Header.Set("X-Custom", "yes")
	r.Pattern = "POST /users/{id}"
	fields := RequestFields(r, []string{"user-agent", "authorization", "cookie", "x-auth-token", "x-custom", "accept"})
	got := map[string]any{}
	for _, f := range fields {
		got[f.Name] = f.Value(0)
	}
	want := map[string]any{
		"http.method":             "POST",
		"http.url":                "https://example.com/users/7?api_key=%5BFiltered%5D&q=go&token=%5BFiltered%5D",
		"http.path":               "/users/7",
		"http.route":              "POST /users/{id}",
		"http.headers.User-Agent": "test/1.0",
		"http.headers.X-Custom":   "yes",
	}
	if !maps.Equal(got, want) {
		t.Errorf("fields\n got %v\nwant %v", got, want)
	}
	for _, f := range fields {
		if v, _ := f.Value(0).(string); strings.Contains(v, "hunter2") || strings.Contains(v, "s3cr3t") || strings.Contains(v, "abc") {
			t.Errorf("%s leaks a credential: %s", f.Name, v)
		}
	}
}

func TestMiddlewarePanicRequest(t *testing.T) {
	c, mem := newTestClient(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		panic(fmt.Errorf("item %s: %w", r.PathValue("id"), fs.ErrNotExist))
	})
	srv := httptest.NewServer(c.Middleware(nil)(mux))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/items/9?password=x", nil)
	req.Header.Set("Authorization", "Basic Ym9iOnB3")
	req.Header.Set("Cookie", "id=1")
	req.Header.Set("User-Agent", "probe")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("status %d", resp.StatusCode)
	}
	var m *Message
	for _, x := range flushed(t, c, mem) {
		if x.Type == TypeException {
			m = x
		}
	}
	if m == nil {
		t.Fatal("no exception")
	}
	if got := m.Field(FieldErrorType).Strings; !slices.Equal(got, []string{"*fmt.wrapError", "*errors.errorString"}) {
		t.Errorf("types %q", got)
	}
	wantURL := srv.URL + "/items/9?password=%5BFiltered%5D"
	if fieldValue(m, "http.url") != wantURL || fieldValue(m, "http.route") != "GET /items/{id}" ||
		fieldValue(m, "http.headers.User-Agent") != "probe" || fieldValue(m, "http.method") != "GET" {
		t.Errorf("request fields %+v", m.Fields)
	}
	for _, f := range m.Fields {
		if strings.Contains(strings.ToLower(f.Name), "authorization") || strings.Contains(strings.ToLower(f.Name), "cookie") {
			t.Errorf("credential header reported: %s", f.Name)
		}
	}
	if id, _ := fieldValue(m, FieldGoroutine).(int64); id <= 0 {
		t.Error("no goroutine")
	}
}

//go:noinline
func atDepth(n int, fn func()) {
	if n == 0 {
		fn()
		return
	}
	atDepth(n-1, fn)
}

// BenchmarkExceptionWrapped reports a three-error chain from ten frames
// down, as an application handler would.
func BenchmarkExceptionWrapped(b *testing.B) {
	c := benchClient(b)
	err := fmt.Errorf("load settings: %w", &fs.PathError{Op: "open", Path: "/etc/app", Err: fs.ErrNotExist})
	atDepth(10, func() {
		for b.Loop() {
			c.Exception(err, String("user", "bob"))
		}
	})
}
