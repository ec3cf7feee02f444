package metlog

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"strconv"
	"time"
)

// SlogOptions configure NewSlogHandler. The zero value is usable.
type SlogOptions struct {
	// Level is the least level handled (default slog.LevelInfo).
	Level slog.Leveler
	// Type is the type of the messages (default "oldstyle", a log line).
	Type string
	// AddSource adds the fields source.function, source.file and
	// source.line from the record's program counter.
	AddSource bool
}

// NewSlogHandler returns a slog.Handler that sends each record through c
// as a log line: a message of type opts.Type ("oldstyle") whose payload is
// the record's message, with the record's time (the time it is handled
// when the record has none) and the client's logger.
//
// Levels map to severities: below Info → Debug; Info → Info; between Info
// and Warn → Notice; Warn → Warning; Error → Error; Error+4 → Critical;
// Error+8 → Alert; Error+12 and above → Emergency.
//
// Attributes become fields, in order; groups give dotted names
// ("request.method"). Strings, integers, floats and bools keep their type
// (a uint64 beyond int64 becomes a decimal string); durations are integer
// nanoseconds with representation "ns"; times are RFC 3339 strings; errors
// and fmt.Stringers their text; []byte a bytes field; any other value its
// JSON (a RepresentationJSON field when it is an object or array) or, if
// it has none, its fmt.Sprint text. Empty attributes and empty groups are
// left out, and a group with an empty key is inlined, as slog.Handler asks.
// The client's filters apply; Enabled consults them.
func NewSlogHandler(c *Client, opts *SlogOptions) slog.Handler {
	h := &slogHandler{c: c, typ: TypeOldstyle, level: slog.LevelInfo}
	if opts != nil {
		if opts.Level != nil {
			h.level = opts.Level
		}
		if opts.Type != "" {
			h.typ = opts.Type
		}
		h.source = opts.AddSource
	}
	return h
}

type slogHandler struct {
	c      *Client
	typ    string
	level  slog.Leveler
	source bool
	prefix string  // open groups, "a.b."
	attrs  []Field // from WithAttrs, already prefixed; never appended to in place
}

func (h *slogHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level() && h.c.filter.allows(h.typ, severityOfLevel(l))
}

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	sev := severityOfLevel(r.Level)
	if !h.c.filter.allows(h.typ, sev) {
		return nil
	}
	extra := r.NumAttrs()
	if h.source {
		extra += 3
	}
	fields := make([]Field, 0, len(h.attrs)+extra)
	fields = append(fields, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		fields = appendAttr(fields, h.prefix, a)
		return true
	})
	if h.source && r.PC != 0 {
		f, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		fields = append(fields,
			String("source.function", f.Function),
			String("source.file", f.File),
			Int("source.line", int64(f.Line)))
	}
	var ts int64 // zero: stamped when the message is built
	if !r.Time.IsZero() {
		ts = r.Time.UnixNano()
	}
	h.c.enqueue(record{kind: kindEvent, sev: sev, ts: ts, name: h.typ, text: r.Message}, fields)
	return nil
}

func (h *slogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.attrs = make([]Field, len(h.attrs), len(h.attrs)+len(attrs))
	copy(h2.attrs, h.attrs)
	for _, a := range attrs {
		h2.attrs = appendAttr(h2.attrs, h.prefix, a)
	}
	return &h2
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

// severityOfLevel maps a slog level to a syslog severity; see
// NewSlogHandler.
func severityOfLevel(l slog.Level) Severity {
	switch {
	case l >= slog.LevelError+12:
		return Emergency
	case l >= slog.LevelError+8:
		return Alert
	case l >= slog.LevelError+4:
		return Critical
	case l >= slog.LevelError:
		return Error
	case l >= slog.LevelWarn:
		return Warning
	case l > slog.LevelInfo:
		return Notice
	case l == slog.LevelInfo:
		return Info
	}
	return Debug
}

// appendAttr appends a as fields named with prefix.
func appendAttr(fields []Field, prefix string, a slog.Attr) []Field {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return fields
	}
	name := prefix + a.Key
	v := a.Value
	switch v.Kind() {
	case slog.KindGroup:
		group := v.Group()
		if len(group) == 0 {
			return fields
		}
		p := prefix
		if a.Key != "" {
			p = name + "."
		}
		for _, g := range group {
			fields = appendAttr(fields, p, g)
		}
		return fields
	case slog.KindString:
		return append(fields, String(name, v.String()))
	case slog.KindInt64:
		return append(fields, Int(name, v.Int64()))
	case slog.KindUint64:
		if u := v.Uint64(); u <= math.MaxInt64 {
			return append(fields, Int(name, int64(u)))
		}
		return append(fields, String(name, strconv.FormatUint(v.Uint64(), 10)))
	case slog.KindFloat64:
		return append(fields, Float(name, v.Float64()))
	case slog.KindBool:
		return append(fields, Bool(name, v.Bool()))
	case slog.KindDuration:
		return append(fields, Int(name, int64(v.Duration())).WithRepresentation("ns"))
	case slog.KindTime:
		return append(fields, String(name, v.Time().Format(time.RFC3339Nano)))
	}
	return append(fields, anyField(name, v.Any()))
}

// anyField turns a value of slog.KindAny into a field.
func anyField(name string, v any) Field {
	switch x := v.(type) {
	case nil:
		return String(name, "<nil>")
	case error:
		return String(name, x.Error())
	case []byte:
		return Bytes(name, x)
	case fmt.Stringer:
		return String(name, x.String())
	}
	if b, err := json.Marshal(v); err == nil && len(b) > 0 {
		switch b[0] {
		case '{', '[':
			return String(name, string(b)).WithRepresentation(RepresentationJSON)
		case '"':
			var s string
			if json.Unmarshal(b, &s) == nil {
				return String(name, s)
			}
		}
	}
	return String(name, fmt.Sprint(v))
}
