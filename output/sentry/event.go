package sentry

import (
	"encoding/base64"
	"encoding/json"
	"path"
	"strconv"
	"strings"

	"github.com/metlog/metlog"
)

// event is the part of Sentry's event payload that exception messages
// fill. Field names and shapes follow Sentry's event schema.
type event struct {
	EventID     string                    `json:"event_id"`
	Timestamp   float64                   `json:"timestamp"`
	Platform    string                    `json:"platform"`
	Level       string                    `json:"level"`
	Logger      string                    `json:"logger,omitempty"`
	ServerName  string                    `json:"server_name,omitempty"`
	Environment string                    `json:"environment,omitempty"`
	Release     string                    `json:"release,omitempty"`
	Logentry    *logentry                 `json:"logentry,omitempty"`
	Exception   *valueList[exception]     `json:"exception,omitempty"`
	Threads     *valueList[thread]        `json:"threads,omitempty"`
	Request     *request                  `json:"request,omitempty"`
	Contexts    map[string]map[string]any `json:"contexts,omitempty"`
	Tags        map[string]string         `json:"tags,omitempty"`
	Extra       map[string]any            `json:"extra,omitempty"`
	Fingerprint []string                  `json:"fingerprint,omitempty"`
}

type valueList[T any] struct {
	Values []T `json:"values"`
}

type logentry struct {
	Formatted string `json:"formatted"`
}

type exception struct {
	Type       string      `json:"type"`
	Value      string      `json:"value"`
	Module     string      `json:"module,omitempty"`
	ThreadID   *int64      `json:"thread_id,omitempty"`
	Mechanism  *mechanism  `json:"mechanism,omitempty"`
	Stacktrace *stacktrace `json:"stacktrace,omitempty"`
}

type mechanism struct {
	Type             string `json:"type"`
	Handled          bool   `json:"handled"`
	ExceptionID      int    `json:"exception_id"`
	ParentID         *int   `json:"parent_id,omitempty"`
	IsExceptionGroup bool   `json:"is_exception_group,omitempty"`
}

type stacktrace struct {
	Frames []frame `json:"frames"`
}

type frame struct {
	Function string `json:"function,omitempty"`
	Module   string `json:"module,omitempty"`
	Filename string `json:"filename,omitempty"`
	AbsPath  string `json:"abs_path,omitempty"`
	Lineno   int64  `json:"lineno,omitempty"`
	InApp    *bool  `json:"in_app,omitempty"`
}

type thread struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Crashed bool   `json:"crashed"`
	Current bool   `json:"current"`
}

type request struct {
	Method      string            `json:"method,omitempty"`
	URL         string            `json:"url,omitempty"`
	QueryString string            `json:"query_string,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
}

// level maps a syslog severity to a Sentry level.
func level(s metlog.Severity) string {
	switch {
	case s <= metlog.Critical:
		return "fatal"
	case s == metlog.Error:
		return "error"
	case s == metlog.Warning:
		return "warning"
	case s == metlog.Debug:
		return "debug"
	}
	return "info"
}

// eventID is the message UUID as an event ID. Sentry reads both the plain
// 32 hex digits and the hyphenated form; its event schema asks for the
// latter (format "uuid").
func eventID(u metlog.UUID) string { return u.String() }

// seconds is a metlog timestamp as Sentry's fractional Unix seconds.
func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// Fields of an exception message that the event carries in its own
// places rather than as tags or extra.
func reservedField(name string) bool {
	switch name {
	case metlog.FieldErrorType, metlog.FieldErrorModule, metlog.FieldErrorMessage, metlog.FieldErrorParent,
		metlog.FieldStackFunc, metlog.FieldStackModule, metlog.FieldStackFile, metlog.FieldStackLine,
		metlog.FieldStackInApp, metlog.FieldMechanism, metlog.FieldGoroutine, metlog.FieldGoVersion,
		metlog.FieldFingerprint, metlog.PayloadTypeField:
		return true
	}
	return name == "http.method" || name == "http.url" || name == "http.path" ||
		strings.HasPrefix(name, "http.headers.")
}

// exceptionEvent turns an "exception" message of the Go client (see
// metlog.Client.Exception) into a Sentry event. Messages of other clients
// with fewer fields still make an event: the payload is the exception's
// value.
func (o *Output) exceptionEvent(m *metlog.Message) *event {
	ev := o.baseEvent(m, "go")
	strs := func(name string) []string {
		if f := m.Field(name); f != nil && f.Type == metlog.TypeString {
			return f.Strings
		}
		return nil
	}
	ints := func(name string) []int64 {
		if f := m.Field(name); f != nil && f.Type == metlog.TypeInteger {
			return f.Integers
		}
		return nil
	}
	types, modules, msgs, parents := strs(metlog.FieldErrorType), strs(metlog.FieldErrorModule),
		strs(metlog.FieldErrorMessage), ints(metlog.FieldErrorParent)
	n := len(types)
	if n == 0 {
		types, msgs, n = []string{"Error"}, []string{m.Payload}, 1
	}
	at := func(s []string, i int) string {
		if i < len(s) {
			return s[i]
		}
		return ""
	}
	mech := "generic"
	if at(strs(metlog.FieldMechanism), 0) == "panic" {
		mech = "panic"
	}
	var gid *int64
	if g := ints(metlog.FieldGoroutine); len(g) == 1 && g[0] > 0 {
		gid = &g[0]
		ev.Threads = &valueList[thread]{Values: []thread{{ID: g[0], Name: "goroutine " + strconv.FormatInt(g[0], 10),
			Crashed: mech == "panic", Current: true}}}
	}
	children := make([]int, n)
	values := make([]exception, n)
	for i := range n {
		ex := exception{Type: types[i], Value: at(msgs, i), Module: at(modules, i),
			Mechanism: &mechanism{Type: "chained", Handled: mech != "panic", ExceptionID: i}}
		if i < len(parents) && parents[i] >= 0 && int(parents[i]) < i {
			p := int(parents[i])
			ex.Mechanism.ParentID = &p
			children[p]++
		}
		if i == 0 {
			ex.Mechanism.Type = mech
			ex.ThreadID = gid
			ex.Stacktrace = stackOf(m)
		}
		values[i] = ex
	}
	for i := range values {
		values[i].Mechanism.IsExceptionGroup = children[i] > 1
	}
	// Sentry lists the outermost exception last.
	for i, j := 0, len(values)-1; i < j; i, j = i+1, j-1 {
		values[i], values[j] = values[j], values[i]
	}
	ev.Exception = &valueList[exception]{Values: values}
	if fp := strs(metlog.FieldFingerprint); len(fp) > 0 {
		ev.Fingerprint = fp
	}
	if v := at(strs(metlog.FieldGoVersion), 0); v != "" {
		ev.Contexts = map[string]map[string]any{"runtime": {"type": "runtime", "name": "go", "version": v}}
	}
	ev.Request = requestOf(m)
	o.tagsAndExtra(ev, m, reservedField)
	return ev
}

// baseEvent fills what every event takes from the message envelope.
func (o *Output) baseEvent(m *metlog.Message, platform string) *event {
	return &event{
		EventID:     eventID(m.UUID),
		Timestamp:   seconds(m.Timestamp),
		Platform:    platform,
		Level:       level(m.Severity),
		Logger:      m.Logger,
		ServerName:  m.Hostname,
		Environment: o.cfg.Environment,
		Release:     o.cfg.Release,
	}
}

// stackOf returns the message's stack as Sentry frames, outermost call
// first as Sentry lists them, or nil when there is none.
func stackOf(m *metlog.Message) *stacktrace {
	fn := m.Field(metlog.FieldStackFunc)
	if fn == nil || len(fn.Strings) == 0 {
		return nil
	}
	var files, mods []string
	var lines []int64
	var inApp []bool
	if f := m.Field(metlog.FieldStackFile); f != nil {
		files = f.Strings
	}
	if f := m.Field(metlog.FieldStackModule); f != nil {
		mods = f.Strings
	}
	if f := m.Field(metlog.FieldStackLine); f != nil {
		lines = f.Integers
	}
	if f := m.Field(metlog.FieldStackInApp); f != nil {
		inApp = f.Bools
	}
	n := len(fn.Strings)
	frames := make([]frame, n)
	for i, name := range fn.Strings {
		fr := &frames[n-1-i]
		mod := funcPackage(name)
		if i < len(mods) && mods[i] != "" {
			mod = mods[i]
		}
		fr.Module = mod
		fr.Function = strings.TrimPrefix(name, mod+".")
		if i < len(files) {
			fr.AbsPath = files[i]
			fr.Filename = path.Base(files[i])
		}
		if i < len(lines) && lines[i] > 0 {
			fr.Lineno = lines[i]
		}
		if i < len(inApp) {
			fr.InApp = &inApp[i]
		}
	}
	return &stacktrace{Frames: frames}
}

// funcPackage returns the package path of a Go function name as the
// runtime prints it ("net/http" of "net/http.HandlerFunc.ServeHTTP").
func funcPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/') + 1
	if dot := strings.IndexByte(fn[slash:], '.'); dot >= 0 {
		return fn[:slash+dot]
	}
	return ""
}

// requestOf builds the request interface from the http.* fields the
// client's middleware and RequestFields write.
func requestOf(m *metlog.Message) *request {
	var r request
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Type != metlog.TypeString || len(f.Strings) == 0 {
			continue
		}
		switch {
		case f.Name == "http.method":
			r.Method = f.Strings[0]
		case f.Name == "http.url":
			r.URL, r.QueryString, _ = strings.Cut(f.Strings[0], "?")
		case strings.HasPrefix(f.Name, "http.headers."):
			if r.Headers == nil {
				r.Headers = map[string]string{}
			}
			r.Headers[strings.TrimPrefix(f.Name, "http.headers.")] = f.Strings[0]
		}
	}
	if r.Method == "" && r.URL == "" && r.Headers == nil {
		return nil
	}
	return &r
}

// Sentry's limits on tags: longer keys or values, or other characters in
// keys, go to extra instead.
const (
	maxTagKey   = 32
	maxTagValue = 200
)

// tagsAndExtra adds the message's fields other than reserved ones: short
// scalar values become tags, the rest extra. The pid goes to extra.
func (o *Output) tagsAndExtra(ev *event, m *metlog.Message, reserved func(string) bool) {
	for i := range m.Fields {
		f := &m.Fields[i]
		if reserved(f.Name) {
			continue
		}
		if v, ok := tagValue(f); ok && validTagKey(f.Name) {
			if ev.Tags == nil {
				ev.Tags = map[string]string{}
			}
			ev.Tags[f.Name] = v
			continue
		}
		if ev.Extra == nil {
			ev.Extra = map[string]any{}
		}
		ev.Extra[f.Name] = fieldJSON(f)
	}
	if m.Pid != 0 {
		if ev.Extra == nil {
			ev.Extra = map[string]any{}
		}
		ev.Extra["pid"] = m.Pid
	}
}

func tagValue(f *metlog.Field) (string, bool) {
	if f.Len() != 1 || f.Representation == metlog.RepresentationJSON {
		return "", false
	}
	var s string
	switch f.Type {
	case metlog.TypeString:
		s = f.Strings[0]
	case metlog.TypeInteger:
		s = strconv.FormatInt(f.Integers[0], 10)
	case metlog.TypeBool:
		s = strconv.FormatBool(f.Bools[0])
	case metlog.TypeDouble:
		s = strconv.FormatFloat(f.Doubles[0], 'g', -1, 64)
	default:
		return "", false
	}
	if s == "" || len(s) > maxTagValue || strings.ContainsAny(s, "\n\r") {
		return "", false
	}
	return s, true
}

func validTagKey(k string) bool {
	if k == "" || len(k) > maxTagKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// fieldJSON is a field's value as JSON would hold it: a scalar for one
// value, an array for several; bytes as base64; raw JSON as itself.
func fieldJSON(f *metlog.Field) any {
	if f.Representation == metlog.RepresentationJSON && f.Type == metlog.TypeString && len(f.Strings) == 1 &&
		json.Valid([]byte(f.Strings[0])) {
		return json.RawMessage(f.Strings[0])
	}
	vals := make([]any, f.Len())
	for i := range vals {
		v := f.Value(i)
		if b, ok := v.([]byte); ok {
			v = base64.StdEncoding.EncodeToString(b)
		}
		if d, ok := v.(float64); ok && !finite(d) {
			v = strconv.FormatFloat(d, 'g', -1, 64) // JSON has no NaN or Inf
		}
		vals[i] = v
	}
	if len(vals) == 1 {
		return vals[0]
	}
	return vals
}

func finite(d float64) bool { return d-d == 0 }
