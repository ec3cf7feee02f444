package store

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/metlog/metlog"
)

// Exception is what the store reads from a message that reports an error.
type Exception struct {
	// Source is how it was reported: "exception" (the Go client's
	// structured errors and panics), "sentry" (a metlog-raven event) or
	// "traceback" (a log line carrying a Python traceback).
	Source string `json:"source"`
	// ErrorType is the error's type ("*fs.PathError", "ZeroDivisionError").
	ErrorType string `json:"error_type"`
	// Title is the one-line description: type and message.
	Title string `json:"title"`
	// Culprit is where it happened: the innermost function.
	Culprit string `json:"culprit"`
	// Fingerprint groups reports of the same error: it hashes the logger,
	// source, type and the innermost frames (or Sentry's own checksum).
	Fingerprint string `json:"fingerprint"`
}

// maxSentryEvent bounds the decompressed size of a Sentry event.
const maxSentryEvent = 4 << 20

// exceptionOf reads the exception m reports, if any.
func exceptionOf(m *metlog.Message) (Exception, bool) {
	var e Exception
	var key []string
	switch {
	case m.Type == metlog.TypeException:
		e.Source = "exception"
		types, msgs := fieldStrings(m, metlog.FieldErrorType), fieldStrings(m, metlog.FieldErrorMessage)
		if len(types) > 0 {
			e.ErrorType = types[0]
		}
		text := m.Payload
		if len(msgs) > 0 {
			text = msgs[0]
		}
		e.Title = joinTitle(e.ErrorType, text)
		frames := fieldStrings(m, metlog.FieldStackFunc)
		if len(frames) > 0 {
			e.Culprit = frames[0]
		}
		key = append([]string{e.ErrorType}, frames[:min(len(frames), 8)]...)
	case m.Type == "sentry":
		e.Source = "sentry"
		ev, ok := decodeSentry(m.Payload)
		if !ok {
			// Not an encoded event: metlog-raven passes an explicit
			// payload through as text.
			e.Title = joinTitle("", truncate(m.Payload, 200))
			key = []string{e.Title}
			break
		}
		e.ErrorType, e.Title, e.Culprit = ev.errorType(), ev.Message, ev.Culprit
		if e.Title == "" {
			e.Title = e.ErrorType
		}
		if ev.Checksum != "" {
			key = []string{ev.Checksum}
		} else {
			key = []string{e.ErrorType, e.Culprit}
		}
	case strings.Contains(m.Payload, "Traceback (most recent call last):"):
		e.Source = "traceback"
		e.ErrorType, e.Title, e.Culprit = parseTraceback(m.Payload)
		key = []string{e.ErrorType, e.Culprit}
	default:
		return e, false
	}
	h := fnv.New64a()
	for _, s := range append([]string{m.Logger, e.Source}, key...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	e.Fingerprint = strconv.FormatUint(h.Sum64(), 16)
	return e, true
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func joinTitle(typ, text string) string {
	text, _, _ = strings.Cut(text, "\n")
	switch {
	case typ == "":
		return text
	case text == "":
		return typ
	}
	return typ + ": " + text
}

func fieldStrings(m *metlog.Message, name string) []string {
	if f := m.Field(name); f != nil && f.Type == metlog.TypeString {
		return f.Strings
	}
	return nil
}

// sentryEvent is the part of a raven (Sentry protocol 2/3) event the store
// reads.
type sentryEvent struct {
	Message   string          `json:"message"`
	Culprit   string          `json:"culprit"`
	Checksum  string          `json:"checksum"`
	Exception json.RawMessage `json:"sentry.interfaces.Exception"`
	Exc2      json.RawMessage `json:"exception"`
}

type sentryException struct {
	Type   string            `json:"type"`
	Values []sentryException `json:"values"`
}

func (ev *sentryEvent) errorType() string {
	for _, raw := range []json.RawMessage{ev.Exception, ev.Exc2} {
		var x sentryException
		if len(raw) == 0 || json.Unmarshal(raw, &x) != nil {
			continue
		}
		if x.Type != "" {
			return x.Type
		}
		if n := len(x.Values); n > 0 {
			return x.Values[n-1].Type
		}
	}
	return ""
}

// decodeSentry decodes base64(zlib(JSON)), as metlog-raven sends.
func decodeSentry(payload string) (*sentryEvent, bool) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return nil, false
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, false
	}
	defer zr.Close()
	js, err := io.ReadAll(io.LimitReader(zr, maxSentryEvent))
	if err != nil {
		return nil, false
	}
	var ev sentryEvent
	if json.Unmarshal(js, &ev) != nil {
		return nil, false
	}
	return &ev, true
}

// parseTraceback reads a Python traceback: the error is its last line,
// the culprit the function of its last frame.
func parseTraceback(s string) (typ, title, culprit string) {
	lines := strings.Split(strings.TrimRight(s, "\n "), "\n")
	title = strings.TrimSpace(lines[len(lines)-1])
	typ, _, _ = strings.Cut(title, ":")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(l, "File ") {
			continue
		}
		file, _, _ := strings.Cut(strings.TrimPrefix(l, "File "), ",")
		if _, fn, ok := strings.Cut(l, ", in "); ok {
			culprit = strings.Trim(file, `"`) + " in " + fn
		}
		break
	}
	return typ, title, culprit
}

// excGroup accumulates one fingerprint's reports within a batch.
type excGroup struct {
	Exception
	logger      string
	first, last int64
	count       int64
	sampleID    int64
}

func (g *ingester) addException(m *metlog.Message, e Exception, id int64) {
	x := g.excs[e.Fingerprint]
	if x == nil {
		x = &excGroup{Exception: e, logger: m.Logger, first: m.Timestamp, last: m.Timestamp, sampleID: id}
		g.excs[e.Fingerprint] = x
	}
	x.count++
	x.first = min(x.first, m.Timestamp)
	if m.Timestamp >= x.last {
		x.last, x.sampleID, x.Title = m.Timestamp, id, e.Title
	}
	r := g.roll(kindException, e.Fingerprint, m.Timestamp)
	r.count++
	r.sum++
}

func (g *ingester) flushExceptions(stmts *txStmts) error {
	for _, x := range g.excs {
		_, err := stmts.exec(`INSERT INTO exceptions
			(fingerprint, source, logger, error_type, title, culprit, first_ts, last_ts, count, sample_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET
			count = count + excluded.count,
			first_ts = min(first_ts, excluded.first_ts),
			title = CASE WHEN excluded.last_ts >= last_ts THEN excluded.title ELSE title END,
			sample_id = CASE WHEN excluded.last_ts >= last_ts THEN excluded.sample_id ELSE sample_id END,
			last_ts = max(last_ts, excluded.last_ts)`,
			x.Fingerprint, x.Source, x.logger, x.ErrorType, x.Title, x.Culprit, x.first, x.last, x.count, x.sampleID)
		if err != nil {
			return fmt.Errorf("store: exception group: %w", err)
		}
	}
	return nil
}

// ExceptionQuery selects exception groups.
type ExceptionQuery struct {
	// From and To bound the time range, in ns since the epoch: From
	// inclusive, To exclusive; 0 leaves a side open.
	From, To int64
	// Logger, when set, keeps only the groups of that logger.
	Logger string
	// Buckets is the number of counts in each group's sparkline over
	// [From, To); 0 means 30. When From is 0, the sparkline covers the
	// last day before To (or now).
	Buckets int
	// Limit is the most groups returned, the most recently seen first;
	// 0 means 100.
	Limit int
}

// ExceptionGroup is the reports of one error, grouped by fingerprint.
type ExceptionGroup struct {
	Exception
	Logger string `json:"logger"`
	// Count is the number of reports in the range; FirstSeen and
	// LastSeen (ns) the earliest and latest report held by the store.
	Count     int64 `json:"count"`
	FirstSeen int64 `json:"first_seen"`
	LastSeen  int64 `json:"last_seen"`
	// Sparkline counts the reports in equal intervals of SparkStep ns from
	// SparkStart.
	SparkStart int64   `json:"spark_start"`
	SparkStep  int64   `json:"spark_step"`
	Sparkline  []int64 `json:"sparkline"`
	// Sample is the latest report.
	Sample *metlog.Message `json:"-"`
}

// Exceptions returns the exception groups seen in q's range.
func (s *Store) Exceptions(ctx context.Context, q ExceptionQuery) ([]*ExceptionGroup, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Buckets <= 0 {
		q.Buckets = 30
	}
	to := q.To
	if to == 0 {
		to = s.now().UnixNano()
	}
	from := q.From
	if from == 0 {
		from = to - 24*3600e9
	}
	step := max((to-from+int64(q.Buckets)-1)/int64(q.Buckets), 60e9)
	step = (step + 60e9 - 1) / 60e9 * 60e9
	groups := map[string]*ExceptionGroup{}
	samples := map[string]struct {
		p  *partition
		id int64
	}{}
	for _, p := range s.partitions(q.From, q.To) {
		if !p.acquire() {
			continue
		}
		err := func() error {
			defer p.release()
			rows, err := p.db.QueryContext(ctx, `SELECT e.fingerprint, e.source, e.logger, e.error_type, e.title, e.culprit,
				e.first_ts, e.last_ts, e.sample_id, r.minute, r.count
				FROM rollups r JOIN exceptions e ON e.fingerprint = r.name
				WHERE r.kind = ? AND r.minute >= ? AND r.minute < ? AND (? = '' OR e.logger = ?)`,
				kindException, minuteOf(q.From), ceilMinute(q.To), q.Logger, q.Logger)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var g ExceptionGroup
				var sampleID, minute, count int64
				if err := rows.Scan(&g.Fingerprint, &g.Source, &g.Logger, &g.ErrorType, &g.Title, &g.Culprit,
					&g.FirstSeen, &g.LastSeen, &sampleID, &minute, &count); err != nil {
					return err
				}
				x := groups[g.Fingerprint]
				if x == nil {
					x = &g
					x.SparkStart, x.SparkStep = from, step
					x.Sparkline = make([]int64, (to-from+step-1)/step)
					groups[g.Fingerprint] = x
				}
				x.Count += count
				x.FirstSeen = min(x.FirstSeen, g.FirstSeen)
				if g.LastSeen >= x.LastSeen {
					x.LastSeen, x.Title = g.LastSeen, g.Title
					samples[g.Fingerprint] = struct {
						p  *partition
						id int64
					}{p, sampleID}
				}
				if b := (minute*60e9 - from) / step; minute*60e9 >= from && b < int64(len(x.Sparkline)) {
					x.Sparkline[b] += count
				}
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, fmt.Errorf("store: exceptions: %w", err)
		}
	}
	out := make([]*ExceptionGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *ExceptionGroup) int {
		if c := cmpInt64(b.LastSeen, a.LastSeen); c != 0 {
			return c
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	for _, g := range out {
		smp := samples[g.Fingerprint]
		m, err := s.messageByID(ctx, smp.p, smp.id)
		if err != nil {
			return nil, err
		}
		g.Sample = m
	}
	return out, nil
}

// ceilMinute is the first minute at or after ns; for 0 (open) the largest.
func ceilMinute(ns int64) int64 {
	if ns == 0 {
		return 1 << 62
	}
	return minuteOf(ns + 60e9 - 1)
}

// ExceptionOf reads the exception m reports, if any, as the store reads
// and groups it: other backends of the API use it to group the same way.
func ExceptionOf(m *metlog.Message) (Exception, bool) { return exceptionOf(m) }
