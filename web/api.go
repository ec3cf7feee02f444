package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/store"
)

// Queryer is what the API reads: the embedded store (store.Store) or a
// ClickHouse table (store/clickhouse.Store). Its methods are
// called concurrently, and return *store.QueryError for a query that
// cannot run as written.
type Queryer interface {
	Messages(ctx context.Context, q store.Query) (*store.Page, error)
	Series(ctx context.Context, q store.SeriesQuery) ([]*store.Series, error)
	MetricNames(ctx context.Context, from, to int64) ([]store.MetricName, error)
	Exceptions(ctx context.Context, q store.ExceptionQuery) ([]*store.ExceptionGroup, error)
}

// API serves the JSON API over a Queryer.
type API struct {
	q   Queryer
	log *slog.Logger
	now func() time.Time
}

// NewAPI returns the API over q.
func NewAPI(q Queryer, log *slog.Logger) *API {
	return &API{q: q, log: log, now: time.Now}
}

// Routes returns the API's handlers by ServeMux pattern.
func (a *API) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /api/messages":     a.handle(a.messages, "match", "from", "to", "q", "limit", "cursor"),
		"GET /api/series":       a.handle(a.series, "kind", "name", "from", "to", "step"),
		"GET /api/series/names": a.handle(a.seriesNames, "from", "to"),
		"GET /api/exceptions":   a.handle(a.exceptions, "from", "to", "logger", "buckets", "limit"),
		"/api/":                 http.HandlerFunc(notFound),
	}
}

// apiError is an error answered as JSON with a status.
type apiError struct {
	status int
	param  string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badParam(param, format string, args ...any) error {
	return &apiError{http.StatusBadRequest, param, param + ": " + fmt.Sprintf(format, args...)}
}

// handle wraps an endpoint: it rejects unknown parameters, and answers the
// endpoint's value or error as JSON.
func (a *API) handle(fn func(*http.Request, url.Values) (any, error), params ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vals := r.URL.Query()
		for k := range vals {
			if !slices.Contains(params, k) {
				writeError(w, badParam(k, "unknown parameter; this endpoint takes %s", strings.Join(params, ", ")))
				return
			}
		}
		v, err := fn(r, vals)
		if err != nil {
			if r.Context().Err() == nil {
				var ae *apiError
				var qe *store.QueryError
				if !errors.As(err, &ae) && !errors.As(err, &qe) {
					a.log.Error("api", "path", r.URL.Path, "err", err)
				}
			}
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// errorBody is the JSON of every error.
type errorBody struct {
	// Error says what went wrong and what to fix.
	Error string `json:"error"`
	// Param names the query parameter at fault, when one is.
	Param string `json:"param,omitempty"`
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	var qe *store.QueryError
	switch {
	case errors.As(err, &ae):
		writeJSON(w, ae.status, errorBody{ae.msg, ae.param})
	case errors.As(err, &qe):
		writeJSON(w, http.StatusBadRequest, errorBody{qe.Error(), qe.Param})
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "the query was cancelled or took too long; narrow the time range"})
	default:
		writeJSON(w, http.StatusInternalServerError, errorBody{Error: err.Error()})
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, errorBody{Error: "no API endpoint " + r.Method + " " + r.URL.Path +
		"; there are GET /api/messages, /api/series, /api/series/names, /api/exceptions, /api/status and /api/stream"})
}

// parseTime reads a time parameter: RFC 3339, ns since the epoch, or a
// duration before now. Empty is 0.
func (a *API) parseTime(vals url.Values, param string) (int64, error) {
	s := strings.TrimSpace(vals.Get(param))
	if s == "" {
		return 0, nil
	}
	if ns, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ns, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d >= 0 {
		return a.now().Add(-d).UnixNano(), nil
	}
	return 0, badParam(param, "%q is not a time: write RFC 3339 (2026-11-22T10:00:00Z), nanoseconds since the epoch, or a duration before now (15m)", s)
}

func parseInt(vals url.Values, param string) (int, error) {
	s := vals.Get(param)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, badParam(param, "%q is not a non-negative whole number", s)
	}
	return n, nil
}

func (a *API) timeRange(vals url.Values) (from, to int64, err error) {
	if from, err = a.parseTime(vals, "from"); err != nil {
		return 0, 0, err
	}
	to, err = a.parseTime(vals, "to")
	return from, to, err
}

// messagesBody is the answer of /api/messages.
type messagesBody struct {
	Messages []*Message `json:"messages"`
	// Next is the cursor of the next page; absent on the last page.
	Next string `json:"next,omitempty"`
}

func (a *API) messages(r *http.Request, vals url.Values) (any, error) {
	q := store.Query{Match: vals.Get("match"), Cursor: vals.Get("cursor")}
	var err error
	if q.From, q.To, err = a.timeRange(vals); err != nil {
		return nil, err
	}
	if q.Limit, err = parseInt(vals, "limit"); err != nil {
		return nil, err
	}
	q.Words = strings.Fields(vals.Get("q"))
	page, err := a.q.Messages(r.Context(), q)
	if err != nil {
		return nil, err
	}
	body := messagesBody{Messages: make([]*Message, len(page.Messages)), Next: page.Next}
	for i, m := range page.Messages {
		body.Messages[i] = NewMessage(m)
	}
	return body, nil
}

func (a *API) series(r *http.Request, vals url.Values) (any, error) {
	q := store.SeriesQuery{Kind: vals.Get("kind"), Names: vals["name"]}
	var err error
	if q.From, q.To, err = a.timeRange(vals); err != nil {
		return nil, err
	}
	if q.From == 0 {
		q.From = a.now().Add(-time.Hour).UnixNano()
	}
	if q.To == 0 {
		q.To = a.now().UnixNano()
	}
	if s := vals.Get("step"); s != "" {
		if q.Step, err = time.ParseDuration(s); err != nil {
			return nil, badParam("step", "%q is not a duration: write one such as 1m or 1h", s)
		}
	}
	ser, err := a.q.Series(r.Context(), q)
	if err != nil {
		return nil, err
	}
	return map[string]any{"series": ser}, nil
}

func (a *API) seriesNames(r *http.Request, vals url.Values) (any, error) {
	from, to, err := a.timeRange(vals)
	if err != nil {
		return nil, err
	}
	names, err := a.q.MetricNames(r.Context(), from, to)
	if err != nil {
		return nil, err
	}
	return map[string]any{"names": names}, nil
}

// exceptionGroup is a group as /api/exceptions answers it.
type exceptionGroup struct {
	*store.ExceptionGroup
	Sample *Message `json:"sample"`
}

func (a *API) exceptions(r *http.Request, vals url.Values) (any, error) {
	q := store.ExceptionQuery{Logger: vals.Get("logger")}
	var err error
	if q.From, q.To, err = a.timeRange(vals); err != nil {
		return nil, err
	}
	if q.Buckets, err = parseInt(vals, "buckets"); err != nil {
		return nil, err
	}
	if q.Buckets > 1000 {
		return nil, badParam("buckets", "%d is over the maximum of 1000", q.Buckets)
	}
	if q.Limit, err = parseInt(vals, "limit"); err != nil {
		return nil, err
	}
	groups, err := a.q.Exceptions(r.Context(), q)
	if err != nil {
		return nil, err
	}
	out := make([]exceptionGroup, len(groups))
	for i, g := range groups {
		out[i] = exceptionGroup{ExceptionGroup: g}
		if g.Sample != nil {
			out[i].Sample = NewMessage(g.Sample)
		}
	}
	return map[string]any{"groups": out}, nil
}

// Message is a message as the API shows it: every header, and the fields
// in order with their types.
type Message struct {
	UUID       string  `json:"uuid"`
	Timestamp  string  `json:"timestamp"` // RFC 3339 with nanoseconds, UTC
	Type       string  `json:"type"`
	Logger     string  `json:"logger"`
	Severity   int     `json:"severity"`
	Payload    string  `json:"payload"`
	EnvVersion string  `json:"env_version"`
	Pid        int32   `json:"pid"`
	Hostname   string  `json:"hostname"`
	Fields     []Field `json:"fields"`
}

// Field is one field of a Message. Values holds strings, base64 bytes,
// integers, numbers or booleans as Type says; a double that is NaN or
// infinite is the string "NaN", "+Inf" or "-Inf".
type Field struct {
	Name           string `json:"name"`
	Type           string `json:"type"`
	Representation string `json:"representation,omitempty"`
	Values         []any  `json:"values"`
}

// NewMessage returns the API form of m.
func NewMessage(m *metlog.Message) *Message {
	out := &Message{
		UUID:       m.UUID.String(),
		Timestamp:  m.Time().Format(time.RFC3339Nano),
		Type:       m.Type,
		Logger:     m.Logger,
		Severity:   int(m.Severity),
		Payload:    m.Payload,
		EnvVersion: m.EnvVersion,
		Pid:        m.Pid,
		Hostname:   m.Hostname,
		Fields:     make([]Field, len(m.Fields)),
	}
	for i := range m.Fields {
		f := &m.Fields[i]
		of := Field{Name: f.Name, Type: f.Type.String(), Representation: f.Representation}
		switch f.Type {
		case metlog.TypeString:
			of.Values = anys(f.Strings)
		case metlog.TypeBytes:
			of.Values = anys(f.Bytes)
		case metlog.TypeInteger:
			of.Values = anys(f.Integers)
		case metlog.TypeDouble:
			of.Values = make([]any, len(f.Doubles))
			for j, d := range f.Doubles {
				switch {
				case math.IsNaN(d):
					of.Values[j] = "NaN"
				case math.IsInf(d, 1):
					of.Values[j] = "+Inf"
				case math.IsInf(d, -1):
					of.Values[j] = "-Inf"
				default:
					of.Values[j] = d
				}
			}
		case metlog.TypeBool:
			of.Values = anys(f.Bools)
		}
		if of.Values == nil {
			of.Values = []any{}
		}
		out.Fields[i] = of
	}
	return out
}

func anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
