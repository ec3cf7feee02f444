package metlog

import (
	"context"
	"fmt"
	"runtime"
	"strings"
)

// Limits of what an exception message carries.
const (
	maxStackFrames = 64
	maxErrorChain  = 32
)

// Field names of an "exception" message; see Client.Exception.
const (
	FieldErrorType    = "error.type"
	FieldErrorMessage = "error.message"
	FieldErrorParent  = "error.parent"
	FieldStackFunc    = "stack.function"
	FieldStackFile    = "stack.file"
	FieldStackLine    = "stack.line"
	FieldMechanism    = "mechanism"
)

// Exception reports err as an "exception" message at severity Error, with
// the error's type, text, wrapped errors and the caller's stack. A nil err
// sends nothing.
//
// The message is laid out so that a router can turn it into a Sentry event
// (its exception values, their chain, and the stack trace):
//
//	Payload          err.Error()
//	error.type       []string  Go type of each error in the chain ("*fs.PathError")
//	error.message    []string  Error() of each
//	error.parent     []int64   index of each error's parent in the chain; -1 for the first
//	stack.function   []string  function of each frame ("main.(*server).handle")
//	stack.file       []string  source file of each frame
//	stack.line       []int64   line of each frame
//	mechanism        string    "error" (Exception) or "panic" (Recover, ReportPanic)
//
// The chain starts with err itself and lists every error reachable through
// Unwrap() error and Unwrap() []error (errors.Join, fmt.Errorf with
// several %w) depth first, parents before children, so a tree is kept: the
// parents say which error wraps which. It stops after 32 errors. Stack
// frames are innermost first, as Go prints them: the first is the function
// that called Exception, or for a panic the one that panicked; at most 64
// are kept. The three stack fields (and the three error fields) are
// parallel arrays of equal length. The caller's fields follow.
func (c *Client) Exception(err error, fields ...Field) {
	if err == nil || !c.filter.allows(TypeException, Error) {
		return
	}
	c.sendException(err, err, Error, "error", 3, false, fields)
}

// Recover, deferred, reports a panic as an "exception" message at severity
// Critical, waits up to the close timeout for it to be handed to the
// Sender, and panics again with the same value, so the program fails as it
// would have:
//
//	defer c.Recover()
//
// It must be deferred directly (not called from another deferred function),
// since it calls recover itself. The fields are added to the message.
func (c *Client) Recover(fields ...Field) {
	v := recover()
	if v == nil {
		return
	}
	c.ReportPanic(v, fields...)
	ctx, cancel := context.WithTimeout(context.Background(), c.closeTimeout)
	c.Flush(ctx)
	cancel()
	panic(v)
}

// ReportPanic reports v, a value recovered from a panic, as Recover does
// but without panicking again: for code that recovers by itself, such as a
// server that keeps going.
//
//	defer func() {
//		if v := recover(); v != nil {
//			c.ReportPanic(v)
//		}
//	}()
//
// Called from a deferred function while the panic is unwinding, the stack
// recorded is the panicking goroutine's, starting where the panic happened.
func (c *Client) ReportPanic(v any, fields ...Field) {
	if v == nil || !c.filter.allows(TypeException, Critical) {
		return
	}
	err, _ := v.(error)
	c.sendException(v, err, Critical, "panic", 3, true, fields)
}

// sendException builds and queues the exception message for v (err when v
// is an error). skip counts the frames above the caller to leave out.
func (c *Client) sendException(v any, err error, sev Severity, mechanism string,
	skip int, panicking bool, extra []Field) {
	var pcs [maxStackFrames + 16]uintptr
	n := runtime.Callers(skip, pcs[:])
	funcs, files, lines := stackFrames(pcs[:n], panicking)

	var types, msgs []string
	var parents []int64
	if err != nil {
		walkErrors(err, -1, func(e error, parent int) {
			types = append(types, fmt.Sprintf("%T", e))
			msgs = append(msgs, e.Error())
			parents = append(parents, int64(parent))
		})
	} else {
		types = []string{fmt.Sprintf("%T", v)}
		msgs = []string{fmt.Sprint(v)}
		parents = []int64{-1}
	}
	fields := make([]Field, 0, 7+len(extra))
	fields = append(fields,
		Strings(FieldErrorType, types...),
		Strings(FieldErrorMessage, msgs...),
		Ints(FieldErrorParent, parents...),
		Strings(FieldStackFunc, funcs...),
		Strings(FieldStackFile, files...),
		Ints(FieldStackLine, lines...),
		String(FieldMechanism, mechanism),
	)
	fields = append(fields, extra...)
	c.enqueue(record{kind: kindEvent, sev: sev, ts: c.wallNow(), name: TypeException,
		text: msgs[0], fields: fields})
}

// walkErrors calls fn for err and every error it wraps, depth first, with
// the index of the parent among the errors visited so far.
func walkErrors(err error, parent int, fn func(e error, parent int)) {
	n := 0
	var walk func(e error, parent int)
	walk = func(e error, parent int) {
		if e == nil || n >= maxErrorChain {
			return
		}
		self := n
		n++
		fn(e, parent)
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), self)
		case interface{ Unwrap() []error }:
			for _, child := range u.Unwrap() {
				walk(child, self)
			}
		}
	}
	walk(err, parent)
}

// stackFrames resolves pcs into parallel function, file and line lists.
// When panicking, the frames of the recovering code and of the runtime's
// panic machinery (everything up to runtime.gopanic and the runtime frames
// right after it) are left out, so the first frame is where the panic
// happened.
func stackFrames(pcs []uintptr, panicking bool) (funcs, files []string, lines []int64) {
	var all []runtime.Frame
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		all = append(all, f)
		if !more {
			break
		}
	}
	if panicking {
		for i, f := range all {
			if f.Function == "runtime.gopanic" {
				all = all[i+1:]
				for len(all) > 1 && strings.HasPrefix(all[0].Function, "runtime.") {
					all = all[1:]
				}
				break
			}
		}
	}
	if len(all) > maxStackFrames {
		all = all[:maxStackFrames]
	}
	for _, f := range all {
		if f.Function == "" && f.File == "" {
			continue
		}
		funcs = append(funcs, f.Function)
		files = append(files, f.File)
		lines = append(lines, int64(f.Line))
	}
	return funcs, files, lines
}
