package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// SeriesQuery selects metric series from the rollups.
type SeriesQuery struct {
	// Kind is "counter", "gauge" or "timer".
	Kind string
	// Names are the metric names (Fields[name] of the metric messages).
	Names []string
	// From and To bound the range, in ns since the epoch; both required.
	From, To int64
	// Step is the width of each point, a whole number of minutes; 0 picks
	// one that gives about 300 points.
	Step time.Duration
}

// MaxPoints is the most points one series may have.
const MaxPoints = 10000

// Series is one metric over a range, a point per step.
type Series struct {
	Name   string  `json:"name"`
	Kind   string  `json:"kind"`
	Start  int64   `json:"start"`
	Step   int64   `json:"step"`
	Points []Point `json:"points"`
}

// Point is one step of a series. Count is the number of metric messages in
// it; the other values are nil when it had none (for a counter, Rate is 0).
type Point struct {
	Time  int64 `json:"t"`
	Count int64 `json:"count"`
	// Rate is a counter's events per second, sample rates accounted for.
	Rate *float64 `json:"rate,omitempty"`
	// Value is a gauge's value at the end of the step.
	Value *float64 `json:"value,omitempty"`
	// Mean, P50, P90, P99 and Max are a timer's milliseconds; the
	// percentiles are within 1%.
	Mean *float64 `json:"mean,omitempty"`
	P50  *float64 `json:"p50,omitempty"`
	P90  *float64 `json:"p90,omitempty"`
	P99  *float64 `json:"p99,omitempty"`
	Max  *float64 `json:"max,omitempty"`
}

var kinds = map[string]int{"counter": kindCounter, "gauge": kindGauge, "timer": kindTimer}

// seriesStep checks and defaults q's step.
func seriesStep(q *SeriesQuery) error {
	if q.From <= 0 || q.To <= q.From {
		return &QueryError{"from", errors.New("from and to must both be set, from before to")}
	}
	span := time.Duration(q.To - q.From)
	if q.Step == 0 {
		q.Step = max(time.Minute, (span/300+time.Minute-1)/time.Minute*time.Minute)
	}
	if q.Step < time.Minute || q.Step%time.Minute != 0 {
		return &QueryError{"step", errors.New("must be a whole number of minutes, such as \"1m\" or \"1h\"")}
	}
	if span/q.Step > MaxPoints {
		return &QueryError{"step", fmt.Errorf("gives %d points, over the maximum of %d: widen the step", span/q.Step, MaxPoints)}
	}
	return nil
}

// Series returns one series per name of q, from the rollups kept at
// ingest: no raw message is read.
func (s *Store) Series(ctx context.Context, q SeriesQuery) ([]*Series, error) {
	kind, ok := kinds[q.Kind]
	if !ok {
		return nil, &QueryError{"kind", fmt.Errorf("%q: want counter, gauge or timer", q.Kind)}
	}
	if len(q.Names) == 0 {
		return nil, &QueryError{"name", errors.New("give at least one metric name (GET /api/series/names lists them)")}
	}
	if err := seriesStep(&q); err != nil {
		return nil, err
	}
	step := int64(q.Step)
	n := int((q.To - q.From + step - 1) / step)
	type acc struct {
		count   int64
		sum     float64
		last    float64
		lastTS  int64
		hasLast bool
		sketch  Sketch
	}
	var out []*Series
	for _, name := range q.Names {
		accs := make([]acc, n)
		err := s.eachRollup(ctx, kind, name, q.From, q.To, func(minute, count int64, sum float64, last sql.NullFloat64, lastTS sql.NullInt64, sketch []byte) error {
			i := (minute*60e9 - q.From) / step
			if minute*60e9 < q.From || i >= int64(n) {
				return nil
			}
			a := &accs[i]
			a.count += count
			a.sum += sum
			if last.Valid && (!a.hasLast || lastTS.Int64 >= a.lastTS) {
				a.last, a.lastTS, a.hasLast = last.Float64, lastTS.Int64, true
			}
			if sketch != nil {
				var sk Sketch
				if err := sk.UnmarshalBinary(sketch); err != nil {
					return err
				}
				a.sketch.Merge(&sk)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		ser := &Series{Name: name, Kind: q.Kind, Start: q.From, Step: step, Points: make([]Point, n)}
		for i := range accs {
			a, pt := &accs[i], &ser.Points[i]
			pt.Time, pt.Count = q.From+int64(i)*step, a.count
			switch kind {
			case kindCounter:
				pt.Rate = ptr(a.sum / q.Step.Seconds())
			case kindGauge:
				if a.hasLast {
					pt.Value = ptr(a.last)
				}
			case kindTimer:
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

// eachRollup calls fn for each rollup row of a name in [from, to).
func (s *Store) eachRollup(ctx context.Context, kind int, name string, from, to int64,
	fn func(minute, count int64, sum float64, last sql.NullFloat64, lastTS sql.NullInt64, sketch []byte) error) error {
	for _, p := range s.partitions(from, to) {
		if !p.acquire() {
			continue
		}
		err := func() error {
			defer p.release()
			rows, err := p.db.QueryContext(ctx, `SELECT minute, count, sum, last, last_ts, sketch FROM rollups
				WHERE kind = ? AND name = ? AND minute >= ? AND minute < ?`, kind, name, minuteOf(from), ceilMinute(to))
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var minute, count int64
				var sum float64
				var last sql.NullFloat64
				var lastTS sql.NullInt64
				var sketch []byte
				if err := rows.Scan(&minute, &count, &sum, &last, &lastTS, &sketch); err != nil {
					return err
				}
				if err := fn(minute, count, sum, last, lastTS, sketch); err != nil {
					return err
				}
			}
			return rows.Err()
		}()
		if err != nil {
			return fmt.Errorf("store: series: %w", err)
		}
	}
	return nil
}

// MetricName is a metric the store has rollups for.
type MetricName struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Count is the number of its messages in the range.
	Count int64 `json:"count"`
}

// MetricNames lists the counters, gauges and timers seen in [from, to)
// (0 leaves a side open), by kind and name.
func (s *Store) MetricNames(ctx context.Context, from, to int64) ([]MetricName, error) {
	type key struct {
		kind int
		name string
	}
	counts := map[key]int64{}
	for _, p := range s.partitions(from, to) {
		if !p.acquire() {
			continue
		}
		err := func() error {
			defer p.release()
			rows, err := p.db.QueryContext(ctx, `SELECT kind, name, sum(count) FROM rollups
				WHERE kind IN (?, ?, ?) AND minute >= ? AND minute < ? GROUP BY kind, name`,
				kindCounter, kindGauge, kindTimer, minuteOf(from), ceilMinute(to))
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var k key
				var n int64
				if err := rows.Scan(&k.kind, &k.name, &n); err != nil {
					return err
				}
				counts[k] += n
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("store: metric names: %w", err)
		}
	}
	names := map[int]string{kindCounter: "counter", kindGauge: "gauge", kindTimer: "timer"}
	out := make([]MetricName, 0, len(counts))
	for k, n := range counts {
		out = append(out, MetricName{Name: k.name, Kind: names[k.kind], Count: n})
	}
	slices.SortFunc(out, func(a, b MetricName) int {
		if a.Kind != b.Kind {
			if a.Kind < b.Kind {
				return -1
			}
			return 1
		}
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out, nil
}
