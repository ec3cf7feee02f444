package metlog

import (
	"slices"
	"time"
)

// EnvVersion is the envelope version this package writes.
const EnvVersion = "0.8"

// Message is the unit metlog moves: one thing an application said about
// itself, labelled with a type that the router uses to decide where it goes.
//
// The zero value is a valid, empty message. A Message is not safe for
// concurrent mutation; once handed to a Client or a router it must not be
// modified by the caller.
type Message struct {
	// UUID identifies the message end to end. Clients may leave it zero; the
	// router assigns a version 7 UUID to every message it accepts without one,
	// and downstream stores deduplicate by it.
	UUID UUID

	// Timestamp is when the message was generated, in nanoseconds since the
	// Unix epoch (UTC).
	Timestamp int64

	// Type is the routing key: "counter", "timer", "gauge", "set",
	// "oldstyle" (a log line), "exception", "sentry", "statmetric", or any
	// type an application invents.
	Type string

	// Logger names the source: usually the application or component.
	Logger string

	// Severity is the syslog severity, 0 (Emergency) to 7 (Debug).
	// Clients default to Info (6). Heka records without a severity decode as
	// Debug (7), as Heka itself reads them.
	Severity Severity

	// Payload is the message body: the count of a counter, the milliseconds
	// of a timer, the text of a log line. Metlog JSON messages whose payload
	// is not a string keep its JSON text here and carry a PayloadTypeField
	// marker (see the metlogjson codec).
	Payload string

	// EnvVersion is the envelope version, "0.8" for everything metlog writes.
	EnvVersion string

	// Pid is the process ID of the sender.
	Pid int32

	// Hostname is the host the sender runs on.
	Hostname string

	// Fields are the message's typed, ordered metadata. Names may repeat
	// (Heka keeps repeated names as separate fields, in order); Field
	// returns the first one with a name. Nested metlog JSON objects are
	// flattened to dotted names ("headers.path").
	Fields []Field
}

// Time returns the message timestamp as a time.Time in UTC.
func (m *Message) Time() time.Time { return time.Unix(0, m.Timestamp).UTC() }

// Field returns the first field called name, or nil when there is none.
// The pointer is into m.Fields and is valid until Fields is modified.
func (m *Message) Field(name string) *Field {
	for i := range m.Fields {
		if m.Fields[i].Name == name {
			return &m.Fields[i]
		}
	}
	return nil
}

// FieldN returns the n-th (0-based) field called name, or nil. It is the
// Fields[name][n] of the matcher language.
func (m *Message) FieldN(name string, n int) *Field {
	for i := range m.Fields {
		if m.Fields[i].Name == name {
			if n == 0 {
				return &m.Fields[i]
			}
			n--
		}
	}
	return nil
}

// AddField appends f to the message's fields, keeping any existing field of
// the same name.
func (m *Message) AddField(f Field) { m.Fields = append(m.Fields, f) }

// SetField replaces the first field named f.Name with f, or appends f.
func (m *Message) SetField(f Field) {
	if p := m.Field(f.Name); p != nil {
		*p = f
		return
	}
	m.Fields = append(m.Fields, f)
}

// RemoveField deletes every field called name and reports whether any was
// found.
func (m *Message) RemoveField(name string) bool {
	n := len(m.Fields)
	m.Fields = slices.DeleteFunc(m.Fields, func(f Field) bool { return f.Name == name })
	return len(m.Fields) != n
}

// Clone returns a deep copy of m that shares no memory with it.
func (m *Message) Clone() *Message {
	c := *m
	if m.Fields != nil {
		c.Fields = make([]Field, len(m.Fields))
		for i := range m.Fields {
			c.Fields[i] = m.Fields[i].Clone()
		}
	}
	return &c
}

// Equal reports whether m and o carry the same content. Doubles compare by
// their bits, so a NaN equals itself; a nil and an empty Fields are equal.
func (m *Message) Equal(o *Message) bool {
	if m.UUID != o.UUID || m.Timestamp != o.Timestamp || m.Type != o.Type ||
		m.Logger != o.Logger || m.Severity != o.Severity || m.Payload != o.Payload ||
		m.EnvVersion != o.EnvVersion || m.Pid != o.Pid || m.Hostname != o.Hostname ||
		len(m.Fields) != len(o.Fields) {
		return false
	}
	for i := range m.Fields {
		if !m.Fields[i].Equal(&o.Fields[i]) {
			return false
		}
	}
	return true
}

// Reset clears m for reuse, keeping the capacity of Fields.
func (m *Message) Reset() {
	clear(m.Fields)
	*m = Message{Fields: m.Fields[:0]}
}
