package metlog

import (
	"errors"
	"fmt"
	"io/fs"
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
