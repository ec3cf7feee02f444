package otlp

import (
	"math"
	"strconv"
	"strings"

	"github.com/metlog/metlog"
	otlpin "github.com/metlog/metlog/input/otlp"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
)

// appendResourceKey appends what identifies a message's resource (see
// resourceOf), for grouping.
func appendResourceKey(b []byte, m *metlog.Message) []byte {
	b = appendString(b, m.Logger)
	b = appendString(b, m.Hostname)
	b = strconv.AppendInt(b, int64(m.Pid), 10)
	for i := range m.Fields {
		if f := &m.Fields[i]; strings.HasPrefix(f.Name, otlpin.ResourcePrefix) {
			b = appendFieldKey(b, f)
		}
	}
	return b
}

// resourceOf returns the resource of a message: service.name from its
// Logger, host.name from its Hostname, process.pid from its Pid, and its
// "resource.KEY" fields.
func resourceOf(m *metlog.Message) *resourcepb.Resource {
	r := &resourcepb.Resource{}
	add := func(k string, v *commonpb.AnyValue) {
		r.Attributes = append(r.Attributes, &commonpb.KeyValue{Key: validUTF8(k), Value: v})
	}
	if m.Logger != "" {
		add(otlpin.AttrServiceName, stringValue(m.Logger))
	}
	if m.Hostname != "" {
		add(otlpin.AttrHostName, stringValue(m.Hostname))
	}
	if m.Pid != 0 {
		add(otlpin.AttrProcessPID, intValue(int64(m.Pid)))
	}
	for i := range m.Fields {
		f := &m.Fields[i]
		if k, ok := strings.CutPrefix(f.Name, otlpin.ResourcePrefix); ok && k != "" && f.Len() > 0 {
			add(k, fieldValue(f))
		}
	}
	return r
}

// appendString appends s, length first, so that keys are unambiguous.
func appendString(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// appendFieldKey appends a field's name, type and values, unambiguously.
func appendFieldKey(b []byte, f *metlog.Field) []byte {
	b = appendString(b, f.Name)
	b = append(b, byte('0'+f.Type), '[')
	for i := range f.Len() {
		switch f.Type {
		case metlog.TypeString:
			b = appendString(b, f.Strings[i])
		case metlog.TypeBytes:
			b = appendString(b, string(f.Bytes[i]))
		case metlog.TypeInteger:
			b = strconv.AppendInt(b, f.Integers[i], 10)
		case metlog.TypeDouble:
			b = strconv.AppendUint(b, math.Float64bits(f.Doubles[i]), 16)
		case metlog.TypeBool:
			b = strconv.AppendBool(b, f.Bools[i])
		}
		b = append(b, ',')
	}
	return append(b, ']')
}
