package clickhouse

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/match"
	"github.com/metlog/metlog/store"
)

func nowNS() int64 { return time.Now().UnixNano() }

// maxScan bounds the rows one query reads to filter in Go (for a matcher
// or words SQL cannot decide). A query that reaches it returns what it
// found with a Next cursor to continue from, as the embedded store does.
const maxScan = 200_000

// maxIndexedText is how much of a message the embedded store's full-text
// index holds; words past it are not found there, nor here.
const maxIndexedText = 64 << 10

// cursor is the position of the last message of a page.
type cursor struct {
	ts   int64
	uuid metlog.UUID
}

func (c cursor) String() string {
	return strconv.FormatInt(c.ts, 36) + "." + hex.EncodeToString(c.uuid[:])
}

func parseCursor(s string) (cursor, error) {
	a, b, ok := strings.Cut(s, ".")
	ts, err1 := strconv.ParseInt(a, 36, 64)
	u, err2 := hex.DecodeString(b)
	if !ok || err1 != nil || err2 != nil || len(u) != 16 {
		return cursor{}, errors.New("not a cursor of this store: pass back the \"next\" value of a previous page unchanged")
	}
	return cursor{ts, metlog.UUID(u)}, nil
}

// before is the condition that a row comes after c in newest-first order.
func (c cursor) before() string {
	return fmt.Sprintf("(timestamp < %d OR (timestamp = %d AND uuid < unhex('%X')))", c.ts, c.ts, c.uuid[:])
}

// searchTokens splits search words into the tokens to find, as the
// embedded store's index does: runs of letters and digits, lower-cased.
// prefix marks a token that may begin a longer word ("conn*").
type searchToken struct {
	text   string
	prefix bool
}

func searchTokens(words []string) []searchToken {
	var out []searchToken
	for _, w := range words {
		prefix := strings.HasSuffix(w, "*")
		toks := strings.FieldsFunc(w, notWordRune)
		for i, tok := range toks {
			out = append(out, searchToken{strings.ToLower(tok), prefix && i == len(toks)-1})
		}
	}
	return out
}

func notWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }

// tokensSQL is a condition every message holding the tokens meets: each
// token occurs in the payload or a string field value (or the message is
// a Sentry event, whose text is its decoded title).
func tokensSQL(toks []searchToken) string {
	var conds []string
	for _, t := range toks {
		q := quote(t.text)
		conds = append(conds, fmt.Sprintf("type = 'sentry' OR positionCaseInsensitiveUTF8(payload, %s) > 0 OR "+
			"arrayExists(x -> positionCaseInsensitiveUTF8(x, %s) > 0, string_values)", q, q))
	}
	return and(conds...)
}

// indexText is the text the embedded store indexes for m: the payload (a
// Sentry event's title instead of its encoded payload) and the values of
// string fields, cut at maxIndexedText.
func indexText(m *metlog.Message) string {
	var b strings.Builder
	if e, ok := store.ExceptionOf(m); ok && m.Type == "sentry" {
		b.WriteString(e.Title)
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

// hasTokens reports whether m's indexed text holds every token as a word
// (or the start of one, for a prefix token).
func hasTokens(m *metlog.Message, toks []searchToken) bool {
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(indexText(m), notWordRune) {
		words[strings.ToLower(w)] = true
	}
next:
	for _, t := range toks {
		if words[t.text] {
			continue
		}
		if t.prefix {
			for w := range words {
				if strings.HasPrefix(w, t.text) {
					continue next
				}
			}
		}
		return false
	}
	return true
}

// Messages returns the messages that q selects, newest first; messages
// with the same timestamp come in descending UUID order.
func (s *Store) Messages(ctx context.Context, q store.Query) (*store.Page, error) {
	expr := q.Match
	if strings.TrimSpace(expr) == "" {
		expr = "TRUE"
	}
	m, err := match.Compile(expr)
	if err != nil {
		return nil, &store.QueryError{Param: "match", Err: err}
	}
	where, exact := translate(match.Simplify(m.Expr()))
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > store.MaxLimit {
		return nil, &store.QueryError{Param: "limit", Err: fmt.Errorf("%d is over the maximum of %d", q.Limit, store.MaxLimit)}
	}
	if q.To != 0 && q.From >= q.To {
		return nil, &store.QueryError{Param: "from", Err: errors.New("the range is empty: from must be before to")}
	}
	var toks []searchToken
	if len(q.Words) > 0 {
		if toks = searchTokens(q.Words); len(toks) == 0 {
			return nil, &store.QueryError{Param: "q", Err: errors.New("no letters or digits to search for")}
		}
	}
	var pos *cursor
	if q.Cursor != "" {
		c, err := parseCursor(q.Cursor)
		if err != nil {
			return nil, &store.QueryError{Param: "cursor", Err: err}
		}
		pos = &c
	}
	filter := and(where, timeRange(q.From, q.To), partitionRange(q.From, q.To), tokensSQL(toks))
	chunk := q.Limit + 1
	if !exact || len(toks) > 0 {
		chunk = max(chunk*4, 2048)
	}
	page := &store.Page{}
	scanned := 0
	for {
		cond := filter
		if pos != nil {
			cond = and(filter, pos.before())
		}
		full := false
		n, err := s.scan(ctx, cond, fmt.Sprintf("ORDER BY timestamp DESC, uuid DESC LIMIT %d", chunk), func(msg *metlog.Message) bool {
			pos = &cursor{msg.Timestamp, msg.UUID}
			if (!exact && !m.Match(msg)) || (len(toks) > 0 && !hasTokens(msg, toks)) {
				return true
			}
			page.Messages = append(page.Messages, msg)
			full = len(page.Messages) > q.Limit
			return !full
		})
		if err != nil {
			return nil, err
		}
		scanned += n
		if full {
			// One more than asked for: there is a next page.
			page.Messages = page.Messages[:q.Limit]
			last := page.Messages[q.Limit-1]
			page.Next = cursor{last.Timestamp, last.UUID}.String()
			return page, nil
		}
		if n < chunk {
			return page, nil
		}
		if scanned >= maxScan {
			page.Next = pos.String()
			return page, nil
		}
	}
}

// partitionRange is a condition on the time column, which partitions the
// table, that the rows of [from, to) meet; ClickHouse skips the
// partitions outside it.
func partitionRange(from, to int64) string {
	var c []string
	if from > 0 {
		c = append(c, fmt.Sprintf("time >= toDateTime(%d)", min(from/1e9, 1<<32-1)))
	}
	if to > 0 && (to-1)/1e9 < 1<<32-1 {
		c = append(c, fmt.Sprintf("time <= toDateTime(%d)", (to-1)/1e9))
	}
	return and(c...)
}
