package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/store"
)

const minute = int64(60e9)

// minuteOf is the minute (since the epoch) ns falls in.
func minuteOf(ns int64) int64 {
	if ns < 0 && ns%minute != 0 {
		return ns/minute - 1
	}
	return ns / minute
}

// minuteRange is the condition that a message's minute lies in
// [minuteOf(from), the first minute at or after to), the minutes the
// embedded store's rollups cover for a range; to 0 leaves it open.
func minuteRange(from, to int64) string {
	c := []string{"timestamp >= " + itoa(minuteOf(from)*minute)}
	if to != 0 {
		if end := minuteOf(to + minute - 1); end < math.MaxInt64/minute {
			c = append(c, "timestamp < "+itoa(end*minute))
		}
	}
	return and(append(c, partitionRange(minuteOf(from)*minute, 0))...)
}

// metric is what a counter, timer or gauge message adds to a series.
type metric struct {
	kind  string
	name  string
	value float64 // a gauge's payload, which may be a delta
	delta bool
	rate  float64 // a counter's sample rate
}

// metricOf reads m as the embedded store rolls it up: a counter, timer or
// gauge with a string "name" field and a finite number for payload.
func metricOf(m *metlog.Message) (metric, bool) {
	switch m.Type {
	case "counter", "timer", "gauge":
	default:
		return metric{}, false
	}
	name, ok := fieldString(m, "name")
	if !ok {
		return metric{}, false
	}
	payload := strings.TrimSpace(m.Payload)
	v, err := strconv.ParseFloat(payload, 64)
	if err != nil || !finite(v) {
		return metric{}, false
	}
	out := metric{kind: m.Type, name: name, value: v, rate: 1}
	if m.Type == "gauge" {
		out.delta = payload[0] == '+' || payload[0] == '-'
	}
	if m.Type == "counter" {
		if rate, ok := fieldNumber(m, "rate"); ok && rate > 0 && rate <= 1 {
			out.rate = rate
		}
	}
	return out, true
}

// fieldString returns the first value of the first field called name, when
// it is a string or bytes.
func fieldString(m *metlog.Message, name string) (string, bool) {
	f := m.Field(name)
	if f == nil {
		return "", false
	}
	switch {
	case f.Type == metlog.TypeString && len(f.Strings) > 0:
		return f.Strings[0], true
	case f.Type == metlog.TypeBytes && len(f.Bytes) > 0:
		return string(f.Bytes[0]), true
	}
	return "", false
}

// fieldNumber returns the first value of the first field called name as a
// number: integer, double, or a string that parses as one.
func fieldNumber(m *metlog.Message, name string) (float64, bool) {
	f := m.Field(name)
	if f == nil {
		return 0, false
	}
	switch {
	case f.Type == metlog.TypeDouble && len(f.Doubles) > 0:
		return f.Doubles[0], true
	case f.Type == metlog.TypeInteger && len(f.Integers) > 0:
		return float64(f.Integers[0]), true
	case f.Type == metlog.TypeString && len(f.Strings) > 0:
		v, err := strconv.ParseFloat(strings.TrimSpace(f.Strings[0]), 64)
		return v, err == nil
	}
	return 0, false
}

// seriesStep checks and defaults q's step, as the embedded store does.
func seriesStep(q *store.SeriesQuery) error {
	if q.From <= 0 || q.To <= q.From {
		return &store.QueryError{Param: "from", Err: errors.New("from and to must both be set, from before to")}
	}
	span := time.Duration(q.To - q.From)
	if q.Step == 0 {
		q.Step = max(time.Minute, (span/300+time.Minute-1)/time.Minute*time.Minute)
	}
	if q.Step < time.Minute || q.Step%time.Minute != 0 {
		return &store.QueryError{Param: "step", Err: errors.New("must be a whole number of minutes, such as \"1m\" or \"1h\"")}
	}
	if span/q.Step > store.MaxPoints {
		return &store.QueryError{Param: "step", Err: fmt.Errorf("gives %d points, over the maximum of %d: widen the step", span/q.Step, store.MaxPoints)}
	}
	return nil
}

// rollup is one minute of one metric, as the embedded store keeps it.
type rollup struct {
	count   int64
	sum     float64
	last    float64
	lastTS  int64
	hasLast bool
	sketch  *store.Sketch
}

// Series returns one series per name of q. It reads the metric messages
// of the range (and, for a gauge, every earlier one, whose deltas its
// values build on), minute by minute as the embedded store rolls them up.
func (s *Store) Series(ctx context.Context, q store.SeriesQuery) ([]*store.Series, error) {
	if q.Kind != "counter" && q.Kind != "gauge" && q.Kind != "timer" {
		return nil, &store.QueryError{Param: "kind", Err: fmt.Errorf("%q: want counter, gauge or timer", q.Kind)}
	}
	if len(q.Names) == 0 {
		return nil, &store.QueryError{Param: "name", Err: errors.New("give at least one metric name (GET /api/series/names lists them)")}
	}
	if err := seriesStep(&q); err != nil {
		return nil, err
	}
	step := int64(q.Step)
	n := int((q.To - q.From + step - 1) / step)
	lo := minuteOf(q.From)
	var out []*store.Series
	for _, name := range q.Names {
		rolls, err := s.rollups(ctx, q.Kind, name, q.From, q.To)
		if err != nil {
			return nil, err
		}
		type acc struct {
			count   int64
			sum     float64
			last    float64
			lastTS  int64
			hasLast bool
			sketch  store.Sketch
		}
		accs := make([]acc, n)
		for _, mn := range slices.Sorted(maps.Keys(rolls)) {
			r := rolls[mn]
			i := (mn*minute - q.From) / step
			if mn < lo || mn*minute < q.From || i >= int64(n) {
				continue
			}
			a := &accs[i]
			a.count += r.count
			a.sum += r.sum
			if r.hasLast && (!a.hasLast || r.lastTS >= a.lastTS) {
				a.last, a.lastTS, a.hasLast = r.last, r.lastTS, true
			}
			if r.sketch != nil {
				a.sketch.Merge(r.sketch)
			}
		}
		ser := &store.Series{Name: name, Kind: q.Kind, Start: q.From, Step: step, Points: make([]store.Point, n)}
		for i := range accs {
			a, pt := &accs[i], &ser.Points[i]
			pt.Time, pt.Count = q.From+int64(i)*step, a.count
			switch q.Kind {
			case "counter":
				pt.Rate = ptr(a.sum / q.Step.Seconds())
			case "gauge":
				if a.hasLast {
					pt.Value = ptr(a.last)
				}
			case "timer":
				if a.count > 0 {
					pt.Mean = ptr(a.sum / float64(a.count))
				}
				if a.sketch.Count() > 0 {
					pt.P50, pt.P90, pt.P99 = ptr(a.sketch.Quantile(.5)), ptr(a.sketch.Quantile(.9)), ptr(a.sketch.Quantile(.99))
					pt.Max = ptr(a.sketch.Quantile(1))
				}
			}
		}
		out = append(out, ser)
	}
	return out, nil
}

func ptr(v float64) *float64 { return &v }

// rollups reads the metric messages of kind and name in the minutes of
// [from, to) and rolls them up by minute.
func (s *Store) rollups(ctx context.Context, kind, name string, from, to int64) (map[int64]*rollup, error) {
	rolls := map[int64]*rollup{}
	lo := minuteOf(from) * minute
	where := and("type = "+quote(kind), "ifNull(name = "+quote(name)+", 0)", minuteRange(from, to))
	if kind == "gauge" {
		// Deltas add to the value before them, however old.
		where = and("type = 'gauge'", "ifNull(name = "+quote(name)+", 0)", minuteRange(math.MinInt64/2, to))
	}
	gauge := 0.0
	_, err := s.scan(ctx, where, "ORDER BY timestamp, uuid", func(m *metlog.Message) bool {
		mt, ok := metricOf(m)
		if !ok || mt.name != name {
			return true
		}
		v := mt.value
		if kind == "gauge" {
			if mt.delta {
				v += gauge
			}
			gauge = v
		}
		if m.Timestamp < lo {
			return true
		}
		mn := minuteOf(m.Timestamp)
		r := rolls[mn]
		if r == nil {
			r = &rollup{lastTS: math.MinInt64}
			rolls[mn] = r
		}
		r.count++
		switch kind {
		case "counter":
			r.sum += v / mt.rate
		case "timer":
			if r.sketch == nil {
				r.sketch = new(store.Sketch)
			}
			r.sketch.Add(v)
			r.sum += v
		case "gauge":
			r.sum += v
			if m.Timestamp >= r.lastTS {
				r.last, r.lastTS, r.hasLast = v, m.Timestamp, true
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return rolls, nil
}

// MetricNames lists the counters, gauges and timers seen in [from, to)
// (0 leaves a side open), by kind and name.
func (s *Store) MetricNames(ctx context.Context, from, to int64) ([]store.MetricName, error) {
	type key struct{ kind, name string }
	counts := map[key]int64{}
	where := and("type IN ('counter', 'gauge', 'timer')", "name IS NOT NULL", minuteRange(from, to))
	_, err := s.scan(ctx, where, "ORDER BY timestamp, uuid", func(m *metlog.Message) bool {
		if mt, ok := metricOf(m); ok {
			counts[key{mt.kind, mt.name}]++
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	out := make([]store.MetricName, 0, len(counts))
	for k, n := range counts {
		out = append(out, store.MetricName{Name: k.name, Kind: k.kind, Count: n})
	}
	slices.SortFunc(out, func(a, b store.MetricName) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}
