package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/match"
)

// Query selects messages.
type Query struct {
	// Match is a matcher expression; "" matches everything.
	Match string
	// From and To bound the message timestamps, in ns since the epoch:
	// From inclusive, To exclusive; 0 leaves a side open.
	From, To int64
	// Words are full-text search terms; a message must contain every one
	// (case-insensitively, as whole words; "conn*" is a prefix). Needs
	// the full_text option.
	Words []string
	// Limit is the most messages returned; 0 means 100, and at most
	// MaxLimit.
	Limit int
	// Cursor continues a previous query: Page.Next.
	Cursor string
}

// MaxLimit is the most messages one query returns.
const MaxLimit = 10000

// maxScan bounds the rows one query reads to filter in Go (for a matcher
// SQL cannot express). A query that reaches it returns what it found with
// a Next cursor to continue from.
const maxScan = 200_000

// Page is one page of results, newest first.
type Page struct {
	Messages []*metlog.Message
	// Next continues the query past the last message read, or is empty
	// when there is nothing more.
	Next string

	ids []int64 // the row id of each message, for the cursor
}

// QueryError is a query that cannot run as written; its text says what to
// fix.
type QueryError struct {
	// Param is the query part at fault: "match", "cursor", "words", ...
	Param string
	Err   error
}

func (e *QueryError) Error() string {
	msg := e.Err.Error()
	if strings.HasPrefix(msg, e.Param+": ") {
		return msg
	}
	return e.Param + ": " + msg
}

func (e *QueryError) Unwrap() error { return e.Err }

// cursor is the position of the last message of a page.
type cursor struct {
	ts, id int64
}

func (c cursor) String() string {
	return strconv.FormatInt(c.ts, 36) + "." + strconv.FormatInt(c.id, 36)
}

func parseCursor(s string) (cursor, error) {
	a, b, ok := strings.Cut(s, ".")
	ts, err1 := strconv.ParseInt(a, 36, 64)
	id, err2 := strconv.ParseInt(b, 36, 64)
	if !ok || err1 != nil || err2 != nil {
		return cursor{}, errors.New("not a cursor of this store: pass back the \"next\" value of a previous page unchanged")
	}
	return cursor{ts, id}, nil
}

// ftsQuery turns search words into an FTS5 query: each word is split into
// the tokens the index holds, and every token must occur.
func ftsQuery(words []string) string {
	var b strings.Builder
	for _, w := range words {
		prefix := strings.HasSuffix(w, "*")
		toks := strings.FieldsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
		for i, tok := range toks {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteByte('"')
			b.WriteString(tok)
			b.WriteByte('"')
			if prefix && i == len(toks)-1 {
				b.WriteByte('*')
			}
		}
	}
	return b.String()
}

// Messages returns the messages that q selects, newest first. A matcher
// that SQL cannot fully express is finished in Go with the router's own
// matcher, so the results are exactly the messages the router would
// match.
func (s *Store) Messages(ctx context.Context, q Query) (*Page, error) {
	expr := q.Match
	if strings.TrimSpace(expr) == "" {
		expr = "TRUE"
	}
	m, err := match.Compile(expr)
	if err != nil {
		return nil, &QueryError{"match", err}
	}
	f := translate(match.Simplify(m.Expr()))
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > MaxLimit {
		return nil, &QueryError{"limit", fmt.Errorf("%d is over the maximum of %d", q.Limit, MaxLimit)}
	}
	if q.To != 0 && q.From >= q.To {
		return nil, &QueryError{"from", errors.New("the range is empty: from must be before to")}
	}
	var fts string
	if len(q.Words) > 0 {
		if !s.cfg.FullText {
			return nil, &QueryError{"q", errors.New("word search needs full_text = true in the store's config")}
		}
		if fts = ftsQuery(q.Words); fts == "" {
			return nil, &QueryError{"q", errors.New("no letters or digits to search for")}
		}
	}
	var at *cursor
	if q.Cursor != "" {
		c, err := parseCursor(q.Cursor)
		if err != nil {
			return nil, &QueryError{"cursor", err}
		}
		at = &c
	}
	to := q.To
	if at != nil && (to == 0 || at.ts+1 < to) {
		to = at.ts + 1
	}
	page := &Page{}
	scanned := 0
	for _, p := range s.partitions(q.From, to) {
		last, done, err := s.scanPartition(ctx, p, q, f, m, fts, at, &scanned, page)
		if err != nil {
			return nil, err
		}
		if done {
			if last != nil {
				page.Next = last.String()
			}
			return page, nil
		}
		at = nil
	}
	return page, nil
}

// scanPartition adds to page the matching messages of p, from the cursor
// at (or the newest) back. done reports that the page is full or the scan
// budget spent, with last the position of the last row read.
func (s *Store) scanPartition(ctx context.Context, p *partition, q Query, f sqlFilter, m *match.Matcher,
	fts string, at *cursor, scanned *int, page *Page) (last *cursor, done bool, err error) {
	if !p.acquire() {
		return nil, false, nil
	}
	defer p.release()
	var b strings.Builder
	b.WriteString("SELECT id, ts, uuid, msg FROM messages WHERE ")
	b.WriteString(f.where)
	args := append([]any(nil), f.args...)
	if q.From != 0 {
		b.WriteString(" AND ts >= ?")
		args = append(args, q.From)
	}
	if q.To != 0 {
		b.WriteString(" AND ts < ?")
		args = append(args, q.To)
	}
	// A word found in few messages selects them through the index; a
	// common one is checked on each chunk of rows read newest first, over
	// the chunk's id range, so that the newest matches are found without
	// reading every match.
	walkFTS := ""
	if fts != "" {
		if p.ix == nil {
			return nil, false, nil // full text is off
		}
		p.ix.wait(ctx, indexWait)
		ids, err := p.ix.matches(ctx, fts, ftsFew)
		if err != nil {
			return nil, false, &QueryError{"q", fmt.Errorf("%v: search for plain words", err)}
		}
		switch {
		case len(ids) == 0:
			return nil, false, nil
		case len(ids) < ftsFew:
			b.WriteString(" AND id IN (SELECT value FROM json_each(?))")
			args = append(args, jsonIDs(ids))
		default:
			walkFTS = fts
		}
	}
	// After the cursor: ts <= first, as a range SQLite reads through the
	// (ts, uuid) index newest first (written as an OR of ts < and ts =,
	// it would read both and sort everything).
	b.WriteString(" AND ts <= ? AND (ts < ? OR id < ?) ORDER BY ts DESC, id DESC LIMIT ?")
	base := len(args)
	args = append(args, 0, 0, 0, 0)
	pos := cursor{ts: 1<<63 - 1, id: 1<<63 - 1}
	if at != nil {
		pos = *at
	}
	chunk := q.Limit - len(page.Messages) + 1
	if !f.exact || walkFTS != "" {
		chunk = max(chunk*4, 2048)
	}
	for {
		args[base], args[base+1], args[base+2], args[base+3] = pos.ts, pos.ts, pos.id, chunk
		n, err := s.readChunk(ctx, p, b.String(), args, m, f.exact, walkFTS, &pos, q.Limit, page)
		if err != nil {
			return nil, false, err
		}
		*scanned += n
		if len(page.Messages) > q.Limit {
			// One more than asked for: there is a next page.
			page.Messages, page.ids = page.Messages[:q.Limit], page.ids[:q.Limit]
			return &cursor{page.Messages[q.Limit-1].Timestamp, page.ids[q.Limit-1]}, true, nil
		}
		if n < chunk {
			return nil, false, nil // the partition is exhausted
		}
		if *scanned >= maxScan {
			return &pos, true, nil
		}
	}
}

// ftsFew is the number of matches under which a word search selects
// through the full-text index rather than walking the rows. Tests lower it.
var ftsFew = 5000

type row struct {
	id, ts     int64
	uuid, blob []byte
}

// readChunk runs one chunk of a scan, adding the rows that pass m (all of
// them when exact) and, when walkFTS is set, contain its words, to page;
// pos moves to the last row read. It stops early once page holds more
// than limit messages, and returns the rows read.
func (s *Store) readChunk(ctx context.Context, p *partition, query string, args []any, m *match.Matcher,
	exact bool, walkFTS string, pos *cursor, limit int, page *Page) (int, error) {
	rows, err := p.db.QueryContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("store: query: %w", err)
	}
	var chunk []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.ts, &r.uuid, &r.blob); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: query: %w", err)
		}
		chunk = append(chunk, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: query: %w", err)
	}
	var hits map[int64]bool
	if walkFTS != "" && len(chunk) > 0 {
		if hits, err = ftsHits(ctx, p, walkFTS, chunk); err != nil {
			return 0, err
		}
	}
	for _, r := range chunk {
		pos.ts, pos.id = r.ts, r.id
		if hits != nil && !hits[r.id] {
			continue
		}
		msg, err := decodeRow(r.uuid, r.blob)
		if err != nil {
			return 0, fmt.Errorf("store: message %d of %s: %w", r.id, p.path, err)
		}
		if !exact && !m.Match(msg) {
			continue
		}
		page.Messages = append(page.Messages, msg)
		page.ids = append(page.ids, r.id)
		if len(page.Messages) > limit {
			break
		}
	}
	return len(chunk), nil
}

// ftsHits returns which rows of chunk contain the words of fts.
func ftsHits(ctx context.Context, p *partition, fts string, chunk []row) (map[int64]bool, error) {
	lo, hi := chunk[0].id, chunk[0].id
	for _, r := range chunk {
		lo, hi = min(lo, r.id), max(hi, r.id)
	}
	rows, err := p.ix.db.QueryContext(ctx, `SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? AND rowid BETWEEN ? AND ?`, fts, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("store: word search: %w", err)
	}
	defer rows.Close()
	hits := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		hits[id] = true
	}
	return hits, rows.Err()
}

// decodeRow rebuilds a stored message. The row's UUID wins over the one
// in the encoded message, which is zero when the router did not set one.
func decodeRow(uuid, blob []byte) (*metlog.Message, error) {
	msg := new(metlog.Message)
	if err := heka.Unmarshal(blob, msg); err != nil {
		return nil, err
	}
	copy(msg.UUID[:], uuid)
	return msg, nil
}

// messageByID reads one message of p.
func (s *Store) messageByID(ctx context.Context, p *partition, id int64) (*metlog.Message, error) {
	if p == nil || !p.acquire() {
		return nil, nil
	}
	defer p.release()
	var uuid, blob []byte
	err := p.db.QueryRowContext(ctx, `SELECT uuid, msg FROM messages WHERE id = ?`, id).Scan(&uuid, &blob)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return decodeRow(uuid, blob)
}
