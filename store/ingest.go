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

	text    strings.Builder
	args    []any
	ftsRows []ftsRow // the text of this transaction's messages, for the index
	uuids   []metlog.UUID
	added   map[int64]bool // ids of the rows an insert added, when it ignored some
	rolls   map[rollKey]*rollup
	excs    map[string]*excGroup
	written int // bytes of messages encoded in this transaction
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
		added:    map[int64]bool{},
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

// rowsPerInsert is how many messages one INSERT statement carries: one
// statement per row would spend more time in database/sql than in SQLite.
const rowsPerInsert = 64

// insertSQL returns the INSERT of n messages, with their ids. A message
// whose UUID is stored already is ignored.
func insertSQL(n int) string {
	return rowsSQL("INSERT OR IGNORE INTO messages (id, ts, uuid, type, logger, severity, pid, hostname, name, msg) VALUES ", 10, n)
}

// rowsSQL returns insert followed by n rows of cols placeholders each.
func rowsSQL(insert string, cols, n int) string {
	row := "(?" + strings.Repeat(",?", cols-1) + ")"
	var b strings.Builder
	b.WriteString(insert)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

var insertFull = insertSQL(rowsPerInsert)

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
	g.written = 0
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if p.nextID == 0 {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) + 1 FROM messages`).Scan(&p.nextID); err != nil {
			return 0, fmt.Errorf("store: insert: %w", err)
		}
	}
	first := p.nextID
	g.ftsRows = nil // handed to the indexer with the last batch
	stmts := &txStmts{ctx: ctx, tx: tx, cache: p.stmts}
	for len(msgs) > 0 {
		n := min(len(msgs), rowsPerInsert)
		k, err := g.insertRows(ctx, p, stmts, msgs[:n])
		if err != nil {
			return 0, err
		}
		stored += k
		msgs = msgs[n:]
	}
	if err := g.flushRollups(stmts); err != nil {
		return 0, err
	}
	if err := g.flushExceptions(stmts); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: commit: %w", err)
	}
	p.committed(g.written)
	if p.ix != nil {
		p.ix.add(ftsBatch{from: first, to: p.nextID - 1, rows: g.ftsRows})
	}
	return stored, nil
}

// insertRows inserts up to rowsPerInsert messages with one statement and
// indexes and rolls up those that were new.
func (g *ingester) insertRows(ctx context.Context, p *partition, stmts *txStmts, msgs []*metlog.Message) (int, error) {
	tx := stmts.tx
	size := 0
	for _, m := range msgs {
		size += m.ProtobufSize()
	}
	// One slab for every encoded message: the arguments must stay valid
	// until the statement runs.
	g.written += size
	slab := make([]byte, 0, size)
	args := g.args[:0]
	uuids := g.uuids[:0]
	first := p.nextID
	for i, m := range msgs {
		u := m.UUID
		if u.IsZero() {
			u = metlog.NewUUID()
		}
		uuids = append(uuids, u)
		var name any
		if n, ok := fieldString(m, "name"); ok {
			name = n
		}
		off := len(slab)
		slab = m.AppendProtobuf(slab)
		args = append(args, first+int64(i), m.Timestamp, uuids[len(uuids)-1][:], m.Type, m.Logger, int64(m.Severity),
			int64(m.Pid), m.Hostname, name, slab[off:len(slab):len(slab)])
	}
	g.args, g.uuids = args, uuids
	query := insertFull
	if len(msgs) < rowsPerInsert {
		query = insertSQL(len(msgs))
	}
	res, err := stmts.exec(query, args...)
	if err != nil {
		return 0, fmt.Errorf("store: insert: %w", err)
	}
	// Row i has id first+i unless its UUID was stored already; ids of
	// ignored rows are left unused.
	p.nextID += int64(len(msgs))
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: insert: %w", err)
	}
	added := func(int) bool { return true }
	if int(n) < len(msgs) {
		clear(g.added)
		rows, err := tx.QueryContext(ctx, `SELECT id FROM messages WHERE id BETWEEN ? AND ?`, first, first+int64(len(msgs))-1)
		if err != nil {
			return 0, fmt.Errorf("store: insert: %w", err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, fmt.Errorf("store: insert: %w", err)
			}
			g.added[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("store: insert: %w", err)
		}
		added = func(i int) bool { return g.added[first+int64(i)] }
	}
	stored := 0
	for i, m := range msgs {
		if !added(i) {
			continue // a duplicate, of a stored message or of one earlier in msgs
		}
		id := first + int64(i)
		stored++
		exc, isExc := exceptionOf(m)
		if g.fullText {
			g.ftsRows = append(g.ftsRows, ftsRow{id, indexText(&g.text, m, exc.Title, isExc)})
		}
		if isExc {
			g.addException(m, exc, id)
		} else {
			g.addMetric(m)
		}
	}
	return stored, nil
}

// indexText is what the full-text index holds for m: the payload (the
// exception title for an exception, whose payload may be encoded) and the
// values of string fields.
func indexText(b *strings.Builder, m *metlog.Message, title string, isExc bool) string {
	b.Reset()
	if isExc && m.Type == "sentry" {
		b.WriteString(title)
	} else {
		b.WriteString(m.Payload)
	}
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Type != metlog.TypeString || f.Name == metlog.PayloadTypeField {
			continue
		}
		for _, s := range f.Strings {
			if b.Len()+len(s) > maxIndexedText {
				break
			}
			b.WriteByte(' ')
			b.WriteString(s)
		}
	}
	s := b.String()
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

const (
	upsertGauge = `INSERT INTO rollups (kind, name, minute, count, sum, last, last_ts)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET
		count = count + excluded.count, sum = sum + excluded.sum,
		last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
		last_ts = max(last_ts, excluded.last_ts)`
	upsertSum = `INSERT INTO rollups (kind, name, minute, count, sum)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET
		count = count + excluded.count, sum = sum + excluded.sum`
	selectTimer  = `SELECT count, sum, sketch FROM rollups WHERE kind = ? AND name = ? AND minute = ?`
	replaceTimer = `INSERT OR REPLACE INTO rollups (kind, name, minute, count, sum, sketch) VALUES (?, ?, ?, ?, ?, ?)`
)

func (g *ingester) flushRollups(stmts *txStmts) error {
	if len(g.rolls) == 0 {
		return nil
	}
	for k, r := range g.rolls {
		var err error
		switch k.kind {
		case kindTimer:
			err = flushTimer(stmts, k, r)
		case kindGauge:
			_, err = stmts.exec(upsertGauge, k.kind, k.name, k.minute, r.count, r.sum, r.last, r.lastTS)
		default:
			_, err = stmts.exec(upsertSum, k.kind, k.name, k.minute, r.count, r.sum)
		}
		if err != nil {
			return fmt.Errorf("store: rollup: %w", err)
		}
	}
	return nil
}

// flushTimer merges r into the stored sketch of its minute.
func flushTimer(stmts *txStmts, k rollKey, r *rollup) error {
	sel, err := stmts.get(selectTimer)
	if err != nil {
		return err
	}
	var blob []byte
	var count int64
	var sum float64
	err = sel.QueryRowContext(stmts.ctx, k.kind, k.name, k.minute).Scan(&count, &sum, &blob)
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
	_, err = stmts.exec(replaceTimer, k.kind, k.name, k.minute, r.count, r.sum, blob)
	return err
}
