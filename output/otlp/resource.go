package otlp

import (
	"strconv"
	"strings"

	"github.com/metlog/metlog"
	otlpin "github.com/metlog/metlog/input/otlp"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
)

// resourceOf returns the resource of a message: service.name from its
// Logger, host.name from its Hostname, process.pid from its Pid, and its
// "resource.KEY" fields; key identifies it for grouping.
func resourceOf(m *metlog.Message) (r *resourcepb.Resource, key string) {
	var b strings.Builder
	r = &resourcepb.Resource{}
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
	b.WriteString(m.Logger)
	b.WriteByte(0)
	b.WriteString(m.Hostname)
	b.WriteByte(0)
	b.WriteString(strconv.Itoa(int(m.Pid)))
	for i := range m.Fields {
		f := &m.Fields[i]
		if k, ok := strings.CutPrefix(f.Name, otlpin.ResourcePrefix); ok && k != "" {
			add(k, fieldValue(f))
			b.WriteByte(0)
			b.WriteString(f.Name)
			b.WriteByte(1)
			for j := range f.Len() {
				b.WriteString(valueKey(f, j))
				b.WriteByte(2)
			}
		}
	}
	return r, b.String()
}
