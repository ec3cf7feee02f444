package output

import (
	"math"
	"strconv"
	"strings"

	"github.com/metlog/metlog"
)

// The metric messages metlog clients send — metlog.TypeCounter,
// metlog.TypeTimer, metlog.TypeGauge and statsd's "set" — carry the
// metric's name in a "name" string field and its value in the payload, as
// text. Counters and timers may carry a "rate" field: the fraction of
// events the client sampled. The functions below read those parts the same
// way for every output that turns such messages into metrics.

// MetricName returns the name of a metric message: the first value of its
// "name" string field, or "" when it has none.
func MetricName(m *metlog.Message) string {
	f := m.Field("name")
	if f == nil || f.Type != metlog.TypeString || len(f.Strings) == 0 {
		return ""
	}
	return f.Strings[0]
}

// MetricValue parses the payload of a counter, timer or gauge message: a
// finite number, with surrounding whitespace ignored. delta reports a
// leading '+' or '-', which in a gauge changes the last value rather than
// setting it. ok is false when the payload is not a finite number.
func MetricValue(m *metlog.Message) (v float64, delta, ok bool) {
	payload := strings.TrimSpace(m.Payload)
	if v, ok = ParseFinite(payload); !ok {
		return 0, false, false
	}
	return v, payload[0] == '+' || payload[0] == '-', true
}

// SampleRate returns the "rate" field of a counter or timer message when it
// marks the message as sampled: a number above 0 and below 1, sent as a
// double, an integer or a numeric string (as some metlog-py plugins send
// it). ok is false for a message that was not sampled.
func SampleRate(m *metlog.Message) (rate float64, ok bool) {
	f := m.Field("rate")
	if f == nil {
		return 0, false
	}
	switch {
	case f.Type == metlog.TypeDouble && len(f.Doubles) > 0:
		rate = f.Doubles[0]
	case f.Type == metlog.TypeInteger && len(f.Integers) > 0:
		rate = float64(f.Integers[0])
	case f.Type == metlog.TypeString && len(f.Strings) > 0:
		if rate, ok = ParseFinite(strings.TrimSpace(f.Strings[0])); !ok {
			return 0, false
		}
	default:
		return 0, false
	}
	if rate > 0 && rate < 1 {
		return rate, true
	}
	return 0, false
}

// ParseFinite parses s as a decimal or hexadecimal floating-point number,
// as strconv.ParseFloat does, and accepts only finite values: not NaN and
// not an infinity, whether spelled out or out of range.
func ParseFinite(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, false
	}
	return v, true
}
