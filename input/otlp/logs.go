package otlp

import (
	"encoding/hex"
	"math"

	"github.com/metlog/metlog"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
)

// Resource attributes that become parts of the message envelope instead of
// fields.
const (
	AttrServiceName = "service.name" // Logger
	AttrHostName    = "host.name"    // Hostname
	AttrProcessPID  = "process.pid"  // Pid
)

// Log record attributes that carry a message's Type and UUID, which OTLP
// has no place for: the otlp output writes them and this input reads them
// back, so that messages keep their identity through a chain of routers
// and collectors.
const (
	AttrType = "metlog.type"
	AttrUUID = "metlog.uuid"
)

// Field names and prefixes of the mapping (docs/otlp.md).
const (
	ResourcePrefix    = "resource."  // resource attributes of logs
	ScopeName         = "scope.name" // instrumentation scope name
	ScopeVersion      = "scope.version"
	ScopePrefix       = "scope."      // scope attributes
	FieldTraceID      = "trace_id"    // 32 lowercase hex digits
	FieldSpanID       = "span_id"     // 16 lowercase hex digits
	FieldTraceFlags   = "trace_flags" // the record's flags, an integer
	FieldSeverityText = "severity_text"
	FieldSeverityNum  = "severity_number" // kept when the syslog severity does not say it
	FieldEventName    = "event_name"
	FieldObservedTime = "observed_time" // ns since the epoch, when it differs from the timestamp
)

// Severity maps an OpenTelemetry severity number to a syslog severity:
//
//	1–8   TRACE, DEBUG      → 7 Debug
//	9     INFO              → 6 Info
//	10–12 INFO2–INFO4       → 5 Notice
//	13–16 WARN              → 4 Warning
//	17–20 ERROR             → 3 Error
//	21    FATAL             → 2 Critical
//	22    FATAL2            → 1 Alert
//	23–24 FATAL3, FATAL4    → 0 Emergency
//
// ok is false for 0 (unspecified) and numbers outside 1..24.
func Severity(n logspb.SeverityNumber) (s metlog.Severity, ok bool) {
	switch {
	case n >= 1 && n <= 8:
		return metlog.Debug, true
	case n == 9:
		return metlog.Info, true
	case n >= 10 && n <= 12:
		return metlog.Notice, true
	case n >= 13 && n <= 16:
		return metlog.Warning, true
	case n >= 17 && n <= 20:
		return metlog.Error, true
	case n == 21:
		return metlog.Critical, true
	case n == 22:
		return metlog.Alert, true
	case n >= 23 && n <= 24:
		return metlog.Emergency, true
	}
	return metlog.Info, false
}

// SeverityNumber is the inverse of Severity: the lowest OpenTelemetry
// severity number of each syslog severity's range (Debug → DEBUG 5,
// Info → INFO 9, Notice → INFO2 10, Warning → WARN 13, Error → ERROR 17,
// Critical → FATAL 21, Alert → FATAL2 22, Emergency → FATAL3 23), so that
// Severity(SeverityNumber(s)) == s.
func SeverityNumber(s metlog.Severity) logspb.SeverityNumber {
	switch {
	case s <= metlog.Emergency:
		return logspb.SeverityNumber_SEVERITY_NUMBER_FATAL3
	case s == metlog.Alert:
		return logspb.SeverityNumber_SEVERITY_NUMBER_FATAL2
	case s == metlog.Critical:
		return logspb.SeverityNumber_SEVERITY_NUMBER_FATAL
	case s == metlog.Error:
		return logspb.SeverityNumber_SEVERITY_NUMBER_ERROR
	case s == metlog.Warning:
		return logspb.SeverityNumber_SEVERITY_NUMBER_WARN
	case s == metlog.Notice:
		return logspb.SeverityNumber_SEVERITY_NUMBER_INFO2
	case s == metlog.Info:
		return logspb.SeverityNumber_SEVERITY_NUMBER_INFO
	}
	return logspb.SeverityNumber_SEVERITY_NUMBER_DEBUG
}

// envelope is what a resource contributes to every message made from it.
type envelope struct {
	logger   string
	hostname string
	pid      int32
	attrs    []*commonpb.KeyValue // the resource attributes not promoted
}

func newEnvelope(r *resourcepb.Resource, defaultLogger string) envelope {
	e := envelope{logger: defaultLogger}
	for _, kv := range r.GetAttributes() {
		v := kv.GetValue()
		switch kv.GetKey() {
		case AttrServiceName:
			if s, ok := v.GetValue().(*commonpb.AnyValue_StringValue); ok && s.StringValue != "" {
				e.logger = s.StringValue
				continue
			}
		case AttrHostName:
			if s, ok := v.GetValue().(*commonpb.AnyValue_StringValue); ok {
				e.hostname = s.StringValue
				continue
			}
		case AttrProcessPID:
			if i, ok := v.GetValue().(*commonpb.AnyValue_IntValue); ok && i.IntValue >= 0 && i.IntValue <= math.MaxInt32 {
				e.pid = int32(i.IntValue)
				continue
			}
		}
		if kv != nil {
			e.attrs = append(e.attrs, kv)
		}
	}
	return e
}

func (e *envelope) message(typ string, ts int64, sev metlog.Severity) *metlog.Message {
	return &metlog.Message{
		Timestamp:  ts,
		Type:       typ,
		Logger:     e.logger,
		Severity:   sev,
		EnvVersion: metlog.EnvVersion,
		Pid:        e.pid,
		Hostname:   e.hostname,
	}
}

// scope appends the fields of an instrumentation scope.
func (l *fieldList) scope(s *commonpb.InstrumentationScope) {
	if s == nil {
		return
	}
	if s.Name != "" {
		l.str(ScopeName, s.Name)
	}
	if s.Version != "" {
		l.str(ScopeVersion, s.Version)
	}
	l.attrs(ScopePrefix, s.Attributes, nil)
}

// logMessage maps one log record (docs/otlp.md):
//
//	Timestamp   time_unix_nano, else observed_time_unix_nano, else the router's clock
//	Type        the metlog.type attribute, else cfg.LogType
//	UUID        the metlog.uuid attribute, else one the router assigns
//	Logger      the resource's service.name, else cfg.Logger
//	Severity    severity_number by Severity, else severity_text if it names a
//	            syslog severity, else Info
//	Payload     the body: a string as is, anything else as JSON text with
//	            the payload_type marker
//	Hostname    the resource's host.name;  Pid  its process.pid
//	Fields      resource.*, scope.*, the record's attributes under their own
//	            names, trace_id, span_id, trace_flags, severity_text (unless
//	            it is the syslog name of Severity), severity_number, event_name,
//	            observed_time
func (in *Input) logMessage(e *envelope, scope *commonpb.InstrumentationScope, lr *logspb.LogRecord) *metlog.Message {
	ts := int64(lr.TimeUnixNano)
	if lr.TimeUnixNano == 0 || lr.TimeUnixNano > math.MaxInt64 {
		ts = int64(min(lr.ObservedTimeUnixNano, math.MaxInt64))
	}
	sev, known := Severity(lr.SeverityNumber)
	if !known && lr.SeverityText != "" {
		if s, err := metlog.ParseSeverity(lr.SeverityText); err == nil {
			sev = s
		}
	}
	m := e.message(in.cfg.LogType, ts, sev)
	switch b := lr.Body.GetValue().(type) {
	case nil:
	case *commonpb.AnyValue_StringValue:
		m.Payload = b.StringValue
	default:
		m.Payload = string(AppendJSON(nil, lr.Body))
	}
	l := newFieldList(len(e.attrs) + len(lr.Attributes) + 8)
	if _, isString := lr.Body.GetValue().(*commonpb.AnyValue_StringValue); !isString && lr.Body.GetValue() != nil {
		l.str(metlog.PayloadTypeField, "json").Representation = metlog.RepresentationJSON
	}
	l.attrs(ResourcePrefix, e.attrs, nil)
	l.scope(scope)
	l.attrs("", lr.Attributes, func(k string) bool { return k == AttrType || k == AttrUUID })
	for _, kv := range lr.Attributes {
		s, ok := kv.GetValue().GetValue().(*commonpb.AnyValue_StringValue)
		if !ok {
			continue
		}
		switch kv.Key {
		case AttrType:
			if s.StringValue != "" {
				m.Type = s.StringValue
			}
		case AttrUUID:
			if u, err := metlog.ParseUUID(s.StringValue); err == nil {
				m.UUID = u
			}
		}
	}
	if len(lr.TraceId) > 0 {
		l.str(FieldTraceID, hex.EncodeToString(lr.TraceId))
	}
	if len(lr.SpanId) > 0 {
		l.str(FieldSpanID, hex.EncodeToString(lr.SpanId))
	}
	if lr.Flags != 0 {
		l.fields = append(l.fields, metlog.Int(FieldTraceFlags, int64(lr.Flags)))
	}
	if lr.SeverityText != "" && lr.SeverityText != sev.String() {
		l.str(FieldSeverityText, lr.SeverityText)
	}
	if lr.SeverityNumber != 0 && lr.SeverityNumber != SeverityNumber(sev) {
		l.fields = append(l.fields, metlog.Int(FieldSeverityNum, int64(lr.SeverityNumber)))
	}
	if lr.EventName != "" {
		l.str(FieldEventName, lr.EventName)
	}
	if lr.ObservedTimeUnixNano != 0 && int64(lr.ObservedTimeUnixNano) != ts && lr.ObservedTimeUnixNano <= math.MaxInt64 {
		l.fields = append(l.fields, metlog.Int(FieldObservedTime, int64(lr.ObservedTimeUnixNano)))
	}
	m.Fields = l.fields
	return m
}

// logMessages maps every record of a request, in order.
func (in *Input) logMessages(rls []*logspb.ResourceLogs) []*metlog.Message {
	var msgs []*metlog.Message
	for _, rl := range rls {
		e := newEnvelope(rl.GetResource(), in.cfg.Logger)
		for _, sl := range rl.GetScopeLogs() {
			for _, lr := range sl.GetLogRecords() {
				if lr != nil {
					msgs = append(msgs, in.logMessage(&e, sl.GetScope(), lr))
				}
			}
		}
	}
	return msgs
}
