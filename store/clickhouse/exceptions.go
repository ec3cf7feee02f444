package clickhouse

import (
	"context"
	"slices"
	"strings"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/store"
)

// Exceptions returns the exception groups seen in q's range: it reads the
// messages that may report an error (types "exception" and "sentry", and
// payloads holding a Python traceback) and groups them as the embedded
// store does. FirstSeen and LastSeen are taken over the range's minutes.
func (s *Store) Exceptions(ctx context.Context, q store.ExceptionQuery) ([]*store.ExceptionGroup, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Buckets <= 0 {
		q.Buckets = 30
	}
	to := q.To
	if to == 0 {
		to = s.now()
	}
	from := q.From
	if from == 0 {
		from = to - 24*3600e9
	}
	step := max((to-from+int64(q.Buckets)-1)/int64(q.Buckets), 60e9)
	step = (step + 60e9 - 1) / 60e9 * 60e9
	where := and("type IN ('exception', 'sentry') OR position(payload, 'Traceback (most recent call last):') > 0",
		minuteRange(q.From, q.To))
	if q.Logger != "" {
		where = and(where, "logger = "+quote(q.Logger))
	}
	groups := map[string]*store.ExceptionGroup{}
	_, err := s.scan(ctx, where, "ORDER BY timestamp, uuid", func(m *metlog.Message) bool {
		e, ok := store.ExceptionOf(m)
		if !ok {
			return true
		}
		g := groups[e.Fingerprint]
		if g == nil {
			g = &store.ExceptionGroup{Exception: e, Logger: m.Logger, FirstSeen: m.Timestamp, LastSeen: m.Timestamp,
				SparkStart: from, SparkStep: step, Sparkline: make([]int64, (to-from+step-1)/step)}
			groups[e.Fingerprint] = g
		}
		g.Count++
		g.FirstSeen = min(g.FirstSeen, m.Timestamp)
		if m.Timestamp >= g.LastSeen {
			g.LastSeen, g.Title, g.Sample = m.Timestamp, e.Title, m
		}
		mn := minuteOf(m.Timestamp)
		if b := (mn*minute - from) / step; mn*minute >= from && b < int64(len(g.Sparkline)) {
			g.Sparkline[b]++
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	out := make([]*store.ExceptionGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *store.ExceptionGroup) int {
		switch {
		case a.LastSeen > b.LastSeen:
			return -1
		case a.LastSeen < b.LastSeen:
			return 1
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}
