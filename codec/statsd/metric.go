package statsd

import "strconv"

// Type is a statsd metric type. The zero value is no type.
type Type uint8

// The metric types, by their statsd code.
const (
	Counter      Type = iota + 1 // c
	Timer                        // ms
	Histogram                    // h
	Distribution                 // d
	Gauge                        // g
	Set                          // s
)

var typeCodes = [...]string{
	Counter: "c", Timer: "ms", Histogram: "h", Distribution: "d", Gauge: "g", Set: "s",
}

// String returns the type's code as written on the wire ("c", "ms", …).
func (t Type) String() string {
	if t > 0 && int(t) < len(typeCodes) {
		return typeCodes[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Numeric reports whether values of type t are decimal numbers: every type
// but Set.
func (t Type) Numeric() bool { return t != Set }

// Tag is one DogStatsD tag. A bare tag ("env") has an empty Value.
type Tag struct {
	Key   []byte
	Value []byte
}

// Metric is one parsed statsd line. Parse fills it in place so that one
// Metric can be reused for every line; its byte slices point into the
// parsed line and are valid only as long as the line is.
type Metric struct {
	// Name is the metric name.
	Name []byte
	// Value is the value as written: a decimal number, sign included (a
	// gauge's "+"/"-" marks a delta), or a set member.
	Value []byte
	// Type is the metric type.
	Type Type
	// Rate is the sample rate, in (0, 1]; 1 when the line has none.
	Rate float64
	// Tags are the DogStatsD tags, in line order.
	Tags []Tag
	// Timestamp is the DogStatsD timestamp in seconds since the Unix
	// epoch; 0 when the line has none.
	Timestamp int64
	// ContainerID is the DogStatsD container ID; empty when the line has
	// none.
	ContainerID []byte
}

// Reset clears m, keeping the capacity of Tags.
func (m *Metric) Reset() {
	clear(m.Tags)
	*m = Metric{Rate: 1, Tags: m.Tags[:0]}
}
