package otlp

import (
	"encoding/hex"
	"strings"

	"github.com/metlog/metlog"
	otlpin "github.com/metlog/metlog/input/otlp"
	collogspb "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
)

// Attributes that carry a message's Type and UUID, which OTLP has no place
// for. The otlp input reads them back.
const (
	AttrType = otlpin.AttrType
	AttrUUID = otlpin.AttrUUID
)

// logsRequest encodes messages as log records, grouped by resource and
// scope, in order of first appearance (docs/otlp.md):
//
//	time_unix_nano           Timestamp
//	observed_time_unix_nano  the observed_time field, else Timestamp
//	severity_number          the severity_number field, else otlpin.SeverityNumber(Severity)
//	severity_text            the severity_text field, else the syslog name ("ERROR")
//	body                     Payload: a string, or the parsed JSON when the payload_type marker says so
//	trace_id, span_id, flags the trace_id, span_id (hex) and trace_flags fields
//	event_name               the event_name field
//	attributes               metlog.type, metlog.uuid, then every other field
//	resource                 Logger, Hostname, Pid and the resource.* fields
//	scope                    the scope.name, scope.version and scope.* fields
func logsRequest(msgs []*metlog.Message) *collogspb.ExportLogsServiceRequest {
	req := &collogspb.ExportLogsServiceRequest{}
	resources := map[string]*logspb.ResourceLogs{}
	scopes := map[string]*logspb.ScopeLogs{}
	var key []byte
	for _, m := range msgs {
		key = appendResourceKey(key[:0], m)
		rl := resources[string(key)]
		if rl == nil {
			rl = &logspb.ResourceLogs{Resource: resourceOf(m)}
			resources[string(key)] = rl
			req.ResourceLogs = append(req.ResourceLogs, rl)
		}
		key = append(key, 0)
		key = appendScopeKey(key, m)
		sl := scopes[string(key)]
		if sl == nil {
			sl = &logspb.ScopeLogs{Scope: scopeOf(m)}
			scopes[string(key)] = sl
			rl.ScopeLogs = append(rl.ScopeLogs, sl)
		}
		sl.LogRecords = append(sl.LogRecords, logRecord(m))
	}
	return req
}

// appendScopeKey appends what identifies a message's scope.
func appendScopeKey(b []byte, m *metlog.Message) []byte {
	for i := range m.Fields {
		if f := &m.Fields[i]; strings.HasPrefix(f.Name, otlpin.ScopePrefix) {
			b = appendFieldKey(b, f)
		}
	}
	return b
}

// scopeOf returns the instrumentation scope of the scope.* fields, or nil.
func scopeOf(m *metlog.Message) *commonpb.InstrumentationScope {
	var s *commonpb.InstrumentationScope
	for i := range m.Fields {
		f := &m.Fields[i]
		k, ok := strings.CutPrefix(f.Name, otlpin.ScopePrefix)
		if !ok || k == "" || f.Len() == 0 {
			continue
		}
		if s == nil {
			s = &commonpb.InstrumentationScope{}
		}
		switch {
		case f.Name == otlpin.ScopeName && f.Type == metlog.TypeString && len(f.Strings) == 1:
			s.Name = validUTF8(f.Strings[0])
		case f.Name == otlpin.ScopeVersion && f.Type == metlog.TypeString && len(f.Strings) == 1:
			s.Version = validUTF8(f.Strings[0])
		default:
			s.Attributes = append(s.Attributes, &commonpb.KeyValue{Key: validUTF8(k), Value: fieldValue(f)})
		}
	}
	return s
}

func logRecord(m *metlog.Message) *logspb.LogRecord {
	lr := &logspb.LogRecord{
		TimeUnixNano:         uint64(max(m.Timestamp, 0)),
		ObservedTimeUnixNano: uint64(max(m.Timestamp, 0)),
		SeverityNumber:       otlpin.SeverityNumber(m.Severity),
		SeverityText:         m.Severity.String(),
		Body:                 stringValue(m.Payload),
	}
	lr.Attributes = append(lr.Attributes, &commonpb.KeyValue{Key: AttrType, Value: stringValue(m.Type)})
	if !m.UUID.IsZero() {
		lr.Attributes = append(lr.Attributes, &commonpb.KeyValue{Key: AttrUUID, Value: stringValue(m.UUID.String())})
	}
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Len() == 0 || strings.HasPrefix(f.Name, otlpin.ResourcePrefix) || strings.HasPrefix(f.Name, otlpin.ScopePrefix) {
			continue
		}
		str := ""
		if f.Type == metlog.TypeString && len(f.Strings) == 1 {
			str = f.Strings[0]
		}
		num, isInt := int64(0), f.Type == metlog.TypeInteger && len(f.Integers) == 1
		if isInt {
			num = f.Integers[0]
		}
		switch {
		case f.Name == metlog.PayloadTypeField && str == "json":
			if v, ok := jsonValue([]byte(m.Payload)); ok {
				lr.Body = v
			}
			continue
		case f.Name == otlpin.FieldTraceID && str != "":
			if b, err := hex.DecodeString(str); err == nil && len(b) == 16 {
				lr.TraceId = b
				continue
			}
		case f.Name == otlpin.FieldSpanID && str != "":
			if b, err := hex.DecodeString(str); err == nil && len(b) == 8 {
				lr.SpanId = b
				continue
			}
		case f.Name == otlpin.FieldTraceFlags && isInt && num >= 0 && num <= 0xffffffff:
			lr.Flags = uint32(num)
			continue
		case f.Name == otlpin.FieldSeverityText && str != "":
			lr.SeverityText = validUTF8(str)
			continue
		case f.Name == otlpin.FieldSeverityNum && isInt && num >= 1 && num <= 24:
			lr.SeverityNumber = logspb.SeverityNumber(num)
			continue
		case f.Name == otlpin.FieldEventName && str != "":
			lr.EventName = validUTF8(str)
			continue
		case f.Name == otlpin.FieldObservedTime && isInt && num > 0:
			lr.ObservedTimeUnixNano = uint64(num)
			continue
		}
		lr.Attributes = append(lr.Attributes, &commonpb.KeyValue{Key: validUTF8(f.Name), Value: fieldValue(f)})
	}
	return lr
}
