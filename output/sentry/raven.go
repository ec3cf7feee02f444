package sentry

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/metlog/metlog"
)

// TypeSentry is the type of metlog-raven's messages: the payload is a
// Sentry event, JSON compressed with zlib and encoded as base64, and the
// field "dsn" names the project it was meant for.
const TypeSentry = "sentry"

// maxEventBytes bounds a decompressed metlog-raven event (Sentry's own
// limit on an event is 1 MB).
const maxEventBytes = 1 << 20

// DecodeRavenPayload decodes a metlog-raven payload, base64(zlib(JSON)),
// into the JSON object it holds.
func DecodeRavenPayload(payload string) (map[string]any, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, payload))
	if err != nil {
		return nil, fmt.Errorf("payload is not base64: %w", err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("payload is not zlib: %w", err)
	}
	defer zr.Close()
	text, err := io.ReadAll(io.LimitReader(zr, maxEventBytes+1))
	if err != nil {
		return nil, fmt.Errorf("payload is not zlib: %w", err)
	}
	if len(text) > maxEventBytes {
		return nil, fmt.Errorf("event larger than %d bytes", maxEventBytes)
	}
	var ev map[string]any
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	if err := d.Decode(&ev); err != nil || ev == nil {
		return nil, errors.New("payload is not a JSON object")
	}
	return ev, nil
}

func dropSpace(r rune) rune {
	if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
		return -1
	}
	return r
}

// ravenEvent turns a metlog-raven "sentry" message into an event that
// Sentry's current schema accepts. The payload's event is kept, with the
// legacy interface names of raven 3.x ("sentry.interfaces.Exception", an
// integer level, a top-level message, …) rewritten to today's, values of
// the wrong shape repaired or moved to extra, and what it lacks taken from
// the message (event ID, time, level, logger, host). A payload that is not
// an encoded event (metlog-raven passes an explicit payload through) makes
// a message event with the payload as its text.
func (o *Output) ravenEvent(m *metlog.Message) map[string]any {
	in, err := DecodeRavenPayload(m.Payload)
	if err != nil {
		in = map[string]any{"message": m.Payload}
	}
	ev := normalizeEvent(in)
	setDefault(ev, "event_id", eventID(m.UUID))
	setDefault(ev, "timestamp", seconds(m.Timestamp))
	setDefault(ev, "level", level(m.Severity))
	setDefault(ev, "platform", "python") // metlog-raven is a Python plugin
	if m.Logger != "" {
		setDefault(ev, "logger", m.Logger)
	}
	if m.Hostname != "" {
		setDefault(ev, "server_name", m.Hostname)
	}
	if o.cfg.Environment != "" {
		setDefault(ev, "environment", o.cfg.Environment)
	}
	if o.cfg.Release != "" {
		setDefault(ev, "release", o.cfg.Release)
	}
	// The message's own fields, less the DSN (it holds the key), as extra.
	extra, _ := ev["extra"].(map[string]any)
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Name == "dsn" || f.Name == metlog.PayloadTypeField {
			continue
		}
		if extra == nil {
			extra = map[string]any{}
		}
		if _, ok := extra[f.Name]; !ok {
			extra[f.Name] = fieldJSON(f)
		}
	}
	if extra != nil {
		ev["extra"] = extra
	}
	// The event may quote the DSN (a frame's local variables): hide its
	// key wherever it appears.
	if f := m.Field("dsn"); f != nil && f.Type == metlog.TypeString && len(f.Strings) == 1 && f.Strings[0] != "" {
		scrub(ev, f.Strings[0], redactURL(f.Strings[0]))
	}
	return ev
}

// scrub replaces old with new in every string of the JSON value v, in
// place (map values and array elements).
func scrub(v any, old, new string) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, old, new)
	case map[string]any:
		for k, e := range x {
			x[k] = scrub(e, old, new)
		}
	case []any:
		for i, e := range x {
			x[i] = scrub(e, old, new)
		}
	}
	return v
}

func setDefault(ev map[string]any, key string, v any) {
	if cur, ok := ev[key]; !ok || cur == nil {
		ev[key] = v
	}
}

// Legacy interface names of raven 3.x and the keys they are today.
var legacyKeys = map[string]string{
	"sentry.interfaces.Exception":   "exception",
	"sentry.interfaces.Stacktrace":  "stacktrace",
	"sentry.interfaces.Message":     "logentry",
	"sentry.interfaces.Http":        "request",
	"sentry.interfaces.User":        "user",
	"sentry.interfaces.Threads":     "threads",
	"sentry.interfaces.Breadcrumbs": "breadcrumbs",
	"sentry.interfaces.Contexts":    "contexts",
}

// normalizeEvent returns a copy of in that validates against Sentry's
// event schema. Whatever it cannot place is kept under extra.
func normalizeEvent(in map[string]any) map[string]any {
	out := map[string]any{}
	extra := map[string]any{}
	if x, ok := in["extra"].(map[string]any); ok {
		for k, v := range x {
			extra[k] = v
		}
	} else if in["extra"] != nil {
		extra["extra"] = in["extra"]
	}
	var stack any // a legacy top-level stack trace, attached to the exception
	for key, v := range in {
		if modern, ok := legacyKeys[key]; ok {
			if _, both := in[modern]; both {
				extra[key] = v
				continue
			}
			key = modern
		}
		if v == nil {
			continue
		}
		switch key {
		case "extra":
		case "event_id":
			if id, ok := normalizeEventID(v); ok {
				out[key] = id
			} else {
				extra[key] = v
			}
		case "timestamp", "received":
			if t, ok := normalizeTimestamp(v); ok {
				out[key] = t
			} else {
				extra[key] = v
			}
		case "level":
			if l, ok := normalizeLevel(v); ok {
				out[key] = l
			} else {
				extra[key] = v
			}
		case "logger", "platform", "server_name", "release", "environment", "dist", "culprit", "transaction":
			if s, ok := v.(string); ok {
				out[key] = s
			} else {
				extra[key] = v
			}
		case "time_spent":
			if n, ok := uintValue(v); ok {
				out[key] = n
			} else {
				extra[key] = v
			}
		case "message":
			if _, ok := in["logentry"]; ok {
				extra[key] = v
			} else if _, ok := in["sentry.interfaces.Message"]; ok {
				extra[key] = v
			} else {
				out["logentry"] = map[string]any{"formatted": stringOf(v)}
			}
		case "logentry":
			if le := normalizeLogentry(v); le != nil {
				out[key] = le
			} else {
				extra[key] = v
			}
		case "exception":
			if ex := normalizeExceptions(v); ex != nil {
				out[key] = map[string]any{"values": ex}
			} else {
				extra[key] = v
			}
		case "stacktrace":
			stack = v
		case "request":
			if r := normalizeRequest(v); r != nil {
				out[key] = r
			} else {
				extra[key] = v
			}
		case "user":
			if u := normalizeUser(v); u != nil {
				out[key] = u
			} else {
				extra[key] = v
			}
		case "tags":
			if t := normalizeTags(v); t != nil {
				out[key] = t
			} else {
				extra[key] = v
			}
		case "modules":
			if mo, ok := v.(map[string]any); ok {
				mods := map[string]any{}
				for k, x := range mo {
					mods[k] = stringOf(x)
				}
				out[key] = mods
			} else {
				extra[key] = v
			}
		case "fingerprint":
			if a, ok := v.([]any); ok {
				fp := make([]any, len(a))
				for i, x := range a {
					fp[i] = stringOf(x)
				}
				out[key] = fp
			} else {
				extra[key] = v
			}
		case "contexts":
			if c := normalizeContexts(v); c != nil {
				out[key] = c
			} else {
				extra[key] = v
			}
		case "site":
			// A tag today; added below, once tags are known.
		case "project":
			// The DSN decides the project.
		default:
			extra[key] = v
		}
	}
	if site, ok := in["site"]; ok && site != nil {
		tags, _ := out["tags"].(map[string]any)
		if tags == nil {
			tags = map[string]any{}
		}
		tags["site"] = stringOf(site)
		out["tags"] = tags
	}
	if stack != nil {
		st := normalizeStacktrace(stack)
		switch {
		case st == nil:
			extra["stacktrace"] = stack
		case out["exception"] != nil:
			values := out["exception"].(map[string]any)["values"].([]any)
			last := values[len(values)-1].(map[string]any)
			if last["stacktrace"] == nil {
				last["stacktrace"] = st
			} else {
				out["stacktrace"] = st
			}
		default:
			out["stacktrace"] = st
		}
	}
	if len(extra) > 0 {
		out["extra"] = extra
	}
	return out
}

// normalizeEventID returns an event ID in the hyphenated UUID form.
func normalizeEventID(v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	s = strings.ToLower(strings.ReplaceAll(s, "-", ""))
	if len(s) != 32 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return "", false
		}
	}
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:], true
}

// normalizeTimestamp accepts Unix seconds or an ISO 8601 time with or
// without a zone (raven writes "2026-11-22T01:49:33", UTC).
func normalizeTimestamp(v any) (any, bool) {
	switch t := v.(type) {
	case json.Number:
		f, err := t.Float64()
		return f, err == nil && f >= 0
	case float64:
		return t, t >= 0
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p.UTC().Format(time.RFC3339Nano), true
			}
		}
	}
	return nil, false
}

// normalizeLevel maps raven's levels, numeric (Python logging's 10…50) or
// named, to Sentry's.
func normalizeLevel(v any) (string, bool) {
	switch l := v.(type) {
	case json.Number:
		n, err := l.Int64()
		if err != nil {
			return "", false
		}
		switch {
		case n >= 50:
			return "fatal", true
		case n >= 40:
			return "error", true
		case n >= 30:
			return "warning", true
		case n >= 20:
			return "info", true
		}
		return "debug", true
	case string:
		switch strings.ToLower(l) {
		case "debug":
			return "debug", true
		case "info", "log", "notice":
			return "info", true
		case "warning", "warn":
			return "warning", true
		case "error":
			return "error", true
		case "fatal", "critical":
			return "fatal", true
		}
	}
	return "", false
}

func uintValue(v any) (uint64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	u, err := strconv.ParseUint(n.String(), 10, 64)
	return u, err == nil
}

// stringOf is v as a string: itself, or its JSON text.
func stringOf(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// optString copies key from src to dst when it holds a string, or the JSON
// text of any other non-null value.
func optString(dst, src map[string]any, key string) {
	if v, ok := src[key]; ok && v != nil {
		dst[key] = stringOf(v)
	}
}

func normalizeLogentry(v any) map[string]any {
	switch le := v.(type) {
	case string:
		return map[string]any{"formatted": le}
	case map[string]any:
		out := map[string]any{}
		optString(out, le, "message")
		optString(out, le, "formatted")
		if p, ok := le["params"]; ok && p != nil {
			out["params"] = p
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return nil
}

// normalizeExceptions accepts {"values": [...]}, a list, or one exception
// object (raven 3.x) and returns the exception values.
func normalizeExceptions(v any) []any {
	var list []any
	switch e := v.(type) {
	case []any:
		list = e
	case map[string]any:
		if vals, ok := e["values"].([]any); ok {
			list = vals
		} else {
			list = []any{e}
		}
	default:
		return nil
	}
	var out []any
	for _, x := range list {
		e, ok := x.(map[string]any)
		if !ok {
			continue
		}
		ex := map[string]any{}
		optString(ex, e, "type")
		optString(ex, e, "value")
		optString(ex, e, "module")
		if st := normalizeStacktrace(e["stacktrace"]); st != nil {
			ex["stacktrace"] = st
		}
		if id, ok := e["thread_id"]; ok {
			if n, ok := uintValue(id); ok {
				ex["thread_id"] = n
			} else if s, ok := id.(string); ok {
				ex["thread_id"] = s
			}
		}
		if mech, ok := e["mechanism"].(map[string]any); ok {
			if t, ok := mech["type"].(string); ok {
				mm := map[string]any{"type": t}
				if h, ok := mech["handled"].(bool); ok {
					mm["handled"] = h
				}
				ex["mechanism"] = mm
			}
		}
		out = append(out, ex)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// normalizeStacktrace keeps the frames and, of each frame, the keys of
// the types Sentry expects.
func normalizeStacktrace(v any) map[string]any {
	st, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	list, ok := st["frames"].([]any)
	if !ok {
		return nil
	}
	frames := make([]any, 0, len(list))
	for _, x := range list {
		f, ok := x.(map[string]any)
		if !ok {
			continue
		}
		out := map[string]any{}
		for _, k := range []string{"abs_path", "filename", "function", "module", "package", "platform",
			"context_line", "raw_function", "symbol"} {
			if s, ok := f[k].(string); ok {
				out[k] = s
			}
		}
		for _, k := range []string{"lineno", "colno"} {
			if n, ok := uintValue(f[k]); ok {
				out[k] = n
			}
		}
		if b, ok := f["in_app"].(bool); ok {
			out["in_app"] = b
		}
		for _, k := range []string{"pre_context", "post_context"} {
			if a, ok := f[k].([]any); ok {
				lines := make([]any, len(a))
				for i, l := range a {
					if l != nil {
						lines[i] = stringOf(l)
					}
				}
				out[k] = lines
			}
		}
		if vars, ok := f["vars"].(map[string]any); ok {
			out["vars"] = vars
		}
		frames = append(frames, out)
	}
	return map[string]any{"frames": frames}
}

func normalizeRequest(v any) map[string]any {
	r, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	for _, k := range []string{"url", "method", "fragment", "inferred_content_type", "api_target", "protocol"} {
		optString(out, r, k)
	}
	switch q := r["query_string"].(type) {
	case string:
		out["query_string"] = q
	case map[string]any:
		qs := map[string]any{}
		for k, x := range q {
			qs[k] = stringOf(x)
		}
		out["query_string"] = qs
	}
	if d, ok := r["data"]; ok && d != nil {
		out["data"] = d
	}
	if env, ok := r["env"].(map[string]any); ok {
		out["env"] = env
	}
	if h, ok := r["headers"].(map[string]any); ok {
		headers := map[string]any{}
		for k, x := range h {
			if sensitiveHeader(k) || x == nil {
				continue
			}
			headers[k] = stringOf(x)
		}
		out["headers"] = headers
	}
	// Cookies are credentials: never forwarded.
	return out
}

func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	return n == "cookie" || n == "authorization" || n == "proxy-authorization" || n == "set-cookie"
}

func normalizeUser(v any) map[string]any {
	u, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	for _, k := range []string{"id", "email", "ip_address", "username", "name", "segment"} {
		optString(out, u, k)
	}
	if d, ok := u["data"].(map[string]any); ok {
		out["data"] = d
	}
	return out
}

func normalizeTags(v any) map[string]any {
	out := map[string]any{}
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if x != nil {
				out[k] = stringOf(x)
			}
		}
	case []any:
		for _, pair := range t {
			if p, ok := pair.([]any); ok && len(p) == 2 && p[0] != nil && p[1] != nil {
				out[stringOf(p[0])] = stringOf(p[1])
			}
		}
	default:
		return nil
	}
	return out
}

func normalizeContexts(v any) map[string]any {
	c, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	out := map[string]any{}
	for k, x := range c {
		if obj, ok := x.(map[string]any); ok {
			out[k] = obj
		}
	}
	return out
}
