package metlog

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
)

// Limits of what an exception message carries.
const (
	maxStackFrames = 64
	maxErrorChain  = 32
)

// Field names of an "exception" message; see Client.Exception.
const (
	FieldErrorType    = "error.type"
	FieldErrorModule  = "error.module"
	FieldErrorMessage = "error.message"
	FieldErrorParent  = "error.parent"
	FieldStackFunc    = "stack.function"
	FieldStackModule  = "stack.module"
	FieldStackFile    = "stack.file"
	FieldStackLine    = "stack.line"
	FieldStackInApp   = "stack.in_app"
	FieldMechanism    = "mechanism"
	FieldGoroutine    = "goroutine"
	FieldGoVersion    = "go.version"

	// FieldFingerprint, set by the application on an exception, replaces
	// the grouping the router would compute: exceptions with the same
	// fingerprint values are one group (and one Sentry issue).
	FieldFingerprint = "fingerprint"
)

// Exception reports err as an "exception" message at severity Error, with
// the error's type, text, wrapped errors and the caller's stack. A nil err
// sends nothing.
//
// The message is laid out so that a router can group it and turn it into
// a Sentry event (its exception values, their chain, and the stack trace):
//
//	Payload          err.Error()
//	error.type       []string  concrete Go type of each error in the chain ("*fs.PathError")
//	error.module     []string  package path of each type ("io/fs"; "" for unnamed types)
//	error.message    []string  Error() of each
//	error.parent     []int64   index of each error's parent in the chain; -1 for the first
//	stack.function   []string  function of each frame ("main.(*server).handle")
//	stack.module     []string  package path of each frame's function ("net/http")
//	stack.file       []string  source file of each frame
//	stack.line       []int64   line of each frame
//	stack.in_app     []bool    whether the frame is the application's own code
//	mechanism        string    "error" (Exception) or "panic" (Recover, ReportPanic)
//	goroutine        int64     the goroutine's ID; panics only
//	go.version       string    runtime.Version() ("go1.26.0")
//
// The chain starts with err itself and lists every error reachable through
// Unwrap() error and Unwrap() []error (errors.Join, fmt.Errorf with
// several %w) depth first, parents before children, so a tree is kept: the
// parents say which error wraps which. It stops after 32 errors. Stack
// frames are innermost first, as Go prints them: the first is the function
// that called Exception, or for a panic the one that panicked; at most 64
// are kept. The stack fields (and the error fields) are parallel arrays of
// equal length. The caller's fields follow; a FieldFingerprint among them
// overrides the router's grouping.
//
// A frame is the application's own code when its package is "main" or
// belongs to the main module of the program (debug.ReadBuildInfo); the
// standard library, other modules and this package itself are not.
//
// The cost is one stack walk (runtime.Callers) and a few allocations;
// frames are symbolized once per program counter and cached, so repeated
// reports from the same code are cheap. The goroutine ID is recorded for
// panics only: Go offers it only through a formatted stack dump, which
// costs several times the rest of the report.
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

// exceptionFields is how many fields sendException writes before the
// caller's.
const exceptionFields = 12

// sendException builds and queues the exception message for v (err when v
// is an error). skip counts the frames above the caller to leave out.
//
// Everything the message holds is carved out of four allocations (strings,
// integers, booleans, fields); the frames come from frameCache.
func (c *Client) sendException(v any, err error, sev Severity, mechanism string,
	skip int, panicking bool, extra []Field) {
	var pcs [maxStackFrames + 16]uintptr
	var frames [maxStackFrames + 16]*frameInfo
	stack := resolveFrames(pcs[:runtime.Callers(skip, pcs[:])], frames[:0], panicking)

	var chain [maxErrorChain]error
	var parents [maxErrorChain]int
	ne := 1
	if err != nil {
		ne = walkErrors(err, chain[:], parents[:])
	}
	nf := len(stack)

	strs := make([]string, 3*ne+3*nf+2)
	ints := make([]int64, ne+nf+1)
	bools := make([]bool, nf)
	types, modules, msgs := strs[:ne:ne], strs[ne:2*ne:2*ne], strs[2*ne:3*ne:3*ne]
	funcs, mods, files := strs[3*ne:3*ne+nf:3*ne+nf], strs[3*ne+nf:3*ne+2*nf:3*ne+2*nf], strs[3*ne+2*nf:3*ne+3*nf:3*ne+3*nf]
	rest := strs[3*ne+3*nf:]
	par, lines, gid := ints[:ne:ne], ints[ne:ne+nf:ne+nf], ints[ne+nf:]
	if err != nil {
		for i, e := range chain[:ne] {
			types[i], modules[i] = typeName(e)
			msgs[i] = e.Error()
			par[i] = int64(parents[i])
		}
	} else {
		types[0], modules[0] = typeName(v)
		msgs[0] = panicText(v)
		par[0] = -1
	}
	for i, f := range stack {
		funcs[i], mods[i], files[i], lines[i], bools[i] = f.function, f.module, f.file, f.line, f.inApp
	}
	rest[0], rest[1] = mechanism, runtime.Version()

	fields := make([]Field, 0, exceptionFields+len(extra))
	fields = append(fields,
		Field{Name: FieldErrorType, Strings: types},
		Field{Name: FieldErrorModule, Strings: modules},
		Field{Name: FieldErrorMessage, Strings: msgs},
		Field{Name: FieldErrorParent, Type: TypeInteger, Integers: par},
		Field{Name: FieldStackFunc, Strings: funcs},
		Field{Name: FieldStackModule, Strings: mods},
		Field{Name: FieldStackFile, Strings: files},
		Field{Name: FieldStackLine, Type: TypeInteger, Integers: lines},
		Field{Name: FieldStackInApp, Type: TypeBool, Bools: bools},
		Field{Name: FieldMechanism, Strings: rest[0:1:1]},
		Field{Name: FieldGoVersion, Strings: rest[1:2:2]},
	)
	if panicking {
		gid[0] = goroutineID()
		fields = append(fields, Field{Name: FieldGoroutine, Type: TypeInteger, Integers: gid})
	}
	fields = append(fields, extra...)
	c.enqueue(record{kind: kindEvent, sev: sev, ts: c.wallNow(), name: TypeException,
		text: msgs[0]}, fields)
}

// typeName returns the concrete Go type of v as %T prints it and the
// package path it is declared in, without allocating.
func typeName(v any) (name, pkg string) {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil", ""
	}
	name = t.String()
	for t.Kind() == reflect.Pointer && t.Name() == "" {
		t = t.Elem()
	}
	return name, t.PkgPath()
}

// panicText is the message of a panic value that is not an error.
func panicText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case fmt.Stringer:
		return v.String()
	}
	return fmt.Sprint(v)
}

// walkErrors lists err and every error it wraps into chain, depth first,
// with the index of each one's parent (-1 for err), and returns how many
// it listed (at most len(chain)).
func walkErrors(err error, chain []error, parents []int) int {
	// An explicit stack of (error, parent) pairs to visit; children are
	// pushed in reverse so that they are visited in order.
	type item struct {
		e      error
		parent int
	}
	var todo [maxErrorChain]item
	todo[0] = item{err, -1}
	nt, n := 1, 0
	for nt > 0 && n < len(chain) {
		nt--
		it := todo[nt]
		if it.e == nil {
			continue
		}
		self := n
		chain[n], parents[n] = it.e, it.parent
		n++
		switch u := it.e.(type) {
		case interface{ Unwrap() error }:
			if nt < len(todo) {
				todo[nt] = item{u.Unwrap(), self}
				nt++
			}
		case interface{ Unwrap() []error }:
			children := u.Unwrap()
			for i := len(children) - 1; i >= 0; i-- {
				if nt < len(todo) {
					todo[nt] = item{children[i], self}
					nt++
				}
			}
		}
	}
	return n
}

// goroutineID returns the ID of the calling goroutine, read from the
// header of its stack dump ("goroutine 18 [running]:").
func goroutineID() int64 {
	var buf [64]byte
	b, ok := bytes.CutPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	if !ok {
		return 0
	}
	var id int64
	for i := 0; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		id = id*10 + int64(b[i]-'0')
	}
	return id
}

// frameInfo is one resolved stack frame.
type frameInfo struct {
	pc       uintptr
	function string
	module   string
	file     string
	line     int64
	inApp    bool
}

// frameCache holds resolved frames by program counter. It is a
// direct-mapped cache: a slot keeps the last frame stored in it, so it is
// bounded and never locked. Program counters mean the same thing for the
// whole life of the process, so one cache serves every Client.
var frameCache [1024]atomic.Pointer[frameInfo]

// lookupFrame returns the frame at pc, from the cache or resolved.
//
// A pc from runtime.Callers stands for exactly one frame (inlined calls
// get pcs of their own), so resolving it alone gives what resolving the
// whole list would.
func lookupFrame(pc uintptr) *frameInfo {
	slot := &frameCache[(pc^pc>>10)%uintptr(len(frameCache))]
	if f := slot.Load(); f != nil && f.pc == pc {
		return f
	}
	fr, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	f := &frameInfo{pc: pc, function: fr.Function, file: fr.File, line: int64(fr.Line)}
	f.module = funcPackage(fr.Function)
	f.inApp = isAppPackage(f.module)
	slot.Store(f)
	return f
}

// resolveFrames appends the frames of pcs to out. When panicking, the
// frames of the recovering code and of the runtime's panic machinery
// (everything up to runtime.gopanic and the runtime frames right after it)
// are left out, so the first frame is where the panic happened.
func resolveFrames(pcs []uintptr, out []*frameInfo, panicking bool) []*frameInfo {
	for _, pc := range pcs {
		if f := lookupFrame(pc); f.function != "" || f.file != "" {
			out = append(out, f)
		}
	}
	if panicking {
		for i, f := range out {
			if f.function == "runtime.gopanic" {
				out = out[i+1:]
				for len(out) > 1 && out[0].module == "runtime" {
					out = out[1:]
				}
				break
			}
		}
	}
	if len(out) > maxStackFrames {
		out = out[:maxStackFrames]
	}
	return out
}

// funcPackage returns the package path of a function name as the runtime
// prints it: "net/http" of "net/http.HandlerFunc.ServeHTTP", "main" of
// "main.main.func1".
func funcPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/') + 1
	if dot := strings.IndexByte(fn[slash:], '.'); dot >= 0 {
		return fn[:slash+dot]
	}
	return ""
}

// The packages isAppPackage tells apart.
var (
	mainModule = sync.OnceValue(func() string {
		if bi, ok := debug.ReadBuildInfo(); ok {
			return bi.Main.Path
		}
		return ""
	})
	thisPackage = reflect.TypeFor[Client]().PkgPath()
)

// isAppPackage reports whether pkg is the application's own code: "main",
// or a package of the main module other than this one.
func isAppPackage(pkg string) bool {
	return appPackage(pkg, mainModule())
}

func appPackage(pkg, module string) bool {
	switch {
	case pkg == "main":
		return true
	case pkg == "" || pkg == thisPackage:
		return false
	}
	first := pkg
	if i := strings.IndexByte(pkg, '/'); i >= 0 {
		first = pkg[:i]
	}
	if !strings.Contains(first, ".") {
		return false // the standard library: its first element has no dot
	}
	return module != "" && (pkg == module || strings.HasPrefix(pkg, module+"/"))
}
