package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/metlog/metlog"
)

// The kinds of rollup rows.
const (
	kindCounter   = 1
	kindGauge     = 2
	kindTimer     = 3
	kindException = 4
)

// maxIndexedText bounds the text of one message given to the full-text
// index.
const maxIndexedText = 64 << 10

// ingester writes batches into partitions. It is used under Store.wmu.
type ingester struct {
	fullText bool
	// gauges holds each gauge's current value, so that deltas apply
	// across batches and partitions.
	gauges map[string]float64

	buf   []byte
	text  strings.Builder
	rolls map[rollKey]*rollup
	excs  map[string]*excGroup
}

type rollKey struct {
	kind   int
	name   string
	minute int64
}

type rollup struct {
	count  int64
	sum    float64
	last   float64
	lastTS int64
	sketch *Sketch
}

func newIngester(fullText bool) ingester {
	return ingester{
		fullText: fullText,
		gauges:   map[string]float64{},
		rolls:    map[rollKey]*rollup{},
		excs:     map[string]*excGroup{},
	}
}

// loadGauges restores the last value of every gauge in p; called for each
// partition oldest first.
func (g *ingester) loadGauges(ctx context.Context, p *partition) error {
	rows, err := p.db.QueryContext(ctx,
		`SELECT name, last, max(minute) FROM rollups WHERE kind = ? GROUP BY name`, kindGauge)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var last sql.NullFloat64
		var minute int64
		if err := rows.Scan(&name, &last, &minute); err != nil {
			return err
		}
		if last.Valid {
			g.gauges[name] = last.Float64
		}
	}
	return rows.Err()
}

// insert stores msgs, which all fall into p, in one transaction, and
// returns how many were new.
func (g *ingester) insert(ctx context.Context, p *partition, msgs []*metlog.Message) (stored int, err error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	if !p.acquire() {
		return 0, ErrClosed
	}
	defer p.release()
	clear(g.rolls)
	clear(g.excs)
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO messages
		(ts, uuid, type, logger, severity, pid, hostname, name, msg) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, fmt.Errorf("store: prepare: %w", err)
	}
	defer ins.Close()
	var fts *sql.Stmt
	if g.fullText {
		if fts, err = tx.PrepareContext(ctx, `INSERT INTO messages_fts (rowid, text) VALUES (?, ?)`); err != nil {
			return 0, fmt.Errorf("store: prepare: %w", err)
		}
		defer fts.Close()
	}
	for _, m := range msgs {
		uuid := m.UUID
		if uuid.IsZero() {
			uuid = metlog.NewUUID()
		}
		g.buf = m.AppendProtobuf(g.buf[:0])
		var name any
		if n, ok := fieldString(m, "name"); ok {
			name = n
		}
		res, err := ins.ExecContext(ctx, m.Timestamp, uuid[:], m.Type, m.Logger, int64(m.Severity),
			int64(m.Pid), m.Hostname, name, g.buf)
		if err != nil {
			return 0, fmt.Errorf("store: insert: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // a duplicate
		}
		stored++
		id, err := res.LastInsertId()
		if err != nil {
			return 0, fmt.Errorf("store: insert: %w", err)
		}
		exc, isExc := exceptionOf(m)
		if fts != nil {
			if _, err := fts.ExecContext(ctx, id, g.indexText(m, exc.Title, isExc)); err != nil {
				return 0, fmt.Errorf("store: index: %w", err)
			}
		}
		if isExc {
			g.addException(m, exc, id)
		} else {
			g.addMetric(m)
		}
	}
	if err := g.flushRollups(ctx, tx); err != nil {
		return 0, err
	}
	if err := g.flushExceptions(ctx, tx); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: commit: %w", err)
	}
	return stored, nil
}

// indexText is what the full-text index holds for m: the payload (the
// exception title for an exception, whose payload may be encoded) and the
// values of string fields.
func (g *ingester) indexText(m *metlog.Message, title string, isExc bool) string {
	g.text.Reset()
	if isExc && m.Type == "sentry" {
		g.text.WriteString(title)
	} else {
		g.text.WriteString(m.Payload)
	}
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Type != metlog.TypeString || f.Name == metlog.PayloadTypeField {
			continue
		}
		for _, s := range f.Strings {
			if g.text.Len()+len(s) > maxIndexedText {
				break
			}
			g.text.WriteByte(' ')
			g.text.WriteString(s)
		}
	}
	s := g.text.String()
	if len(s) > maxIndexedText {
		s = s[:maxIndexedText]
	}
	return s
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

func minuteOf(ts int64) int64 {
	const minute = 60e9
	if ts < 0 && ts%minute != 0 {
		return ts/minute - 1
	}
	return ts / minute
}

func (g *ingester) roll(kind int, name string, ts int64) *rollup {
	k := rollKey{kind, name, minuteOf(ts)}
	r := g.rolls[k]
	if r == nil {
		r = &rollup{lastTS: math.MinInt64}
		g.rolls[k] = r
	}
	return r
}

// addMetric adds a counter, timer or gauge message to the rollups. Other
// messages, and metrics without a name or a numeric payload, add nothing.
func (g *ingester) addMetric(m *metlog.Message) {
	var kind int
	switch m.Type {
	case "counter":
		kind = kindCounter
	case "timer":
		kind = kindTimer
	case "gauge":
		kind = kindGauge
	default:
		return
	}
	name, ok := fieldString(m, "name")
	if !ok {
		return
	}
	payload := strings.TrimSpace(m.Payload)
	v, err := strconv.ParseFloat(payload, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	r := g.roll(kind, name, m.Timestamp)
	switch kind {
	case kindCounter:
		rate, ok := fieldNumber(m, "rate")
		if !ok || !(rate > 0 && rate <= 1) {
			rate = 1
		}
		r.count++
		r.sum += v / rate
	case kindTimer:
		if r.sketch == nil {
			r.sketch = new(Sketch)
		}
		r.sketch.Add(v)
		r.count++
		r.sum += v
	case kindGauge:
		if payload[0] == '+' || payload[0] == '-' {
			v += g.gauges[name]
		}
		g.gauges[name] = v
		r.count++
		r.sum += v
		if m.Timestamp >= r.lastTS {
			r.last, r.lastTS = v, m.Timestamp
		}
	}
}

func (g *ingester) flushRollups(ctx context.Context, tx *sql.Tx) error {
	if len(g.rolls) == 0 {
		return nil
	}
	for k, r := range g.rolls {
		var err error
		switch k.kind {
		case kindTimer:
			err = flushTimer(ctx, tx, k, r)
		case kindGauge:
			_, err = tx.ExecContext(ctx, `INSERT INTO rollups (kind, name, minute, count, sum, last, last_ts)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET
				count = count + excluded.count, sum = sum + excluded.sum,
				last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
				last_ts = max(last_ts, excluded.last_ts)`,
				k.kind, k.name, k.minute, r.count, r.sum, r.last, r.lastTS)
		default:
			_, err = tx.ExecContext(ctx, `INSERT INTO rollups (kind, name, minute, count, sum)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET
				count = count + excluded.count, sum = sum + excluded.sum`,
				k.kind, k.name, k.minute, r.count, r.sum)
		}
		if err != nil {
			return fmt.Errorf("store: rollup: %w", err)
		}
	}
	return nil
}

// flushTimer merges r into the stored sketch of its minute.
func flushTimer(ctx context.Context, tx *sql.Tx, k rollKey, r *rollup) error {
	var blob []byte
	var count int64
	var sum float64
	err := tx.QueryRowContext(ctx, `SELECT count, sum, sketch FROM rollups WHERE kind = ? AND name = ? AND minute = ?`,
		k.kind, k.name, k.minute).Scan(&count, &sum, &blob)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return err
	default:
		var old Sketch
		if err := old.UnmarshalBinary(blob); err == nil {
			r.sketch.Merge(&old)
		}
		r.count += count
		r.sum += sum
	}
	blob, _ = r.sketch.MarshalBinary()
	_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO rollups (kind, name, minute, count, sum, sketch)
		VALUES (?, ?, ?, ?, ?, ?)`, k.kind, k.name, k.minute, r.count, r.sum, blob)
	return err
}
