// Package sentrytest is a stand-in Sentry for tests: an HTTP server that
// accepts envelopes the way Sentry does and checks everything it is sent —
// the endpoint, the X-Sentry-Auth header, the envelope framing, and each
// event against Sentry's own event JSON schema (testdata/event.schema.json,
// from getsentry/sentry-data-schemas; see testdata/README.md). Whatever
// fails a check is a test error and is answered with 400.
package sentrytest

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed testdata/event.schema.json
var eventSchema []byte

// Key is the public key of every DSN a Server hands out.
const Key = "0123456789abcdef0123456789abcdef"

var (
	compileOnce sync.Once
	compiled    *jsonschema.Schema
	compileErr  error
)

// Schema returns Sentry's event schema, compiled. Formats are asserted, as
// the schema's draft (07) says.
func Schema() (*jsonschema.Schema, error) {
	compileOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(eventSchema))
		if err != nil {
			compileErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("event.schema.json", doc); err != nil {
			compileErr = err
			return
		}
		compiled, compileErr = c.Compile("event.schema.json")
	})
	return compiled, compileErr
}

// ValidateEvent checks one event's JSON against the schema.
func ValidateEvent(event []byte) error {
	s, err := Schema()
	if err != nil {
		return fmt.Errorf("compiling the schema: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return fmt.Errorf("event is not JSON: %w", err)
	}
	return s.Validate(inst)
}

// Event is one event the server accepted.
type Event struct {
	// Project is the project ID of the URL it was posted to.
	Project string
	// ID is the event ID of the envelope header.
	ID string
	// JSON is the event as sent.
	JSON []byte
	// Fields is the event decoded.
	Fields map[string]any
}

// Reply is what the server answers: a status and headers. The zero Reply
// is 200 with Sentry's {"id": …} body.
type Reply struct {
	Status int
	Header http.Header
}

// Server is a stand-in Sentry.
type Server struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	events   []Event
	requests int
	reply    func(n int) Reply // n: 0-based index of the request
	changed  chan struct{}     // closed and replaced on every request
}

// NewServer starts a server; it is closed when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	if _, err := Schema(); err != nil {
		t.Fatalf("sentry event schema: %v", err)
	}
	s := &Server{t: t, changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// DSN returns the DSN of a project on this server.
func (s *Server) DSN(project string) string {
	return strings.Replace(s.srv.URL, "http://", "http://"+Key+"@", 1) + "/" + project
}

// SetReply makes the server answer request n (counting from 0, every
// request the server got) with reply(n); nil restores the default.
// Events are recorded only when the reply is a 2xx.
func (s *Server) SetReply(reply func(n int) Reply) {
	s.mu.Lock()
	s.reply = reply
	s.mu.Unlock()
}

// Events returns the events accepted so far.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Requests returns how many requests the server got.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// WaitEvents waits until at least n events were accepted, and returns
// them; it fails the test after timeout.
func (s *Server) WaitEvents(n int, timeout time.Duration) []Event {
	s.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.events), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Events()
		}
		select {
		case <-changed:
		case <-deadline.C:
			s.t.Fatalf("sentry: %d events after %v, want %d", got, timeout, n)
			return nil
		}
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := s.requests
	s.requests++
	reply := s.reply
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}()

	ev, err := s.check(r)
	if err != nil {
		s.t.Errorf("sentry: %s %s: %v", r.Method, r.URL.Path, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var rep Reply
	if reply != nil {
		rep = reply(n)
	}
	for k, v := range rep.Header {
		w.Header()[k] = v
	}
	if rep.Status != 0 && (rep.Status < 200 || rep.Status > 299) {
		w.WriteHeader(rep.Status)
		return
	}
	s.mu.Lock()
	s.events = append(s.events, *ev)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"id\":%q}", ev.ID)
}

// check verifies one request and returns the event it carries.
func (s *Server) check(r *http.Request) (*Event, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("method %s, want POST", r.Method)
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/")
	project, ok2 := strings.CutSuffix(rest, "/envelope/")
	if !ok || !ok2 || project == "" || strings.Contains(project, "/") {
		return nil, fmt.Errorf("path %q, want /api/PROJECT_ID/envelope/", r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-sentry-envelope" {
		return nil, fmt.Errorf("content type %q", ct)
	}
	if err := checkAuth(r.Header.Get("X-Sentry-Auth")); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 20<<20))
	if err != nil {
		return nil, err
	}
	ev, err := parseEnvelope(body)
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	ev.Project = project
	return ev, nil
}

// checkAuth verifies "Sentry sentry_version=7, sentry_client=…, sentry_key=KEY".
func checkAuth(h string) error {
	rest, ok := strings.CutPrefix(h, "Sentry ")
	if !ok {
		return fmt.Errorf("X-Sentry-Auth %q does not start with \"Sentry \"", h)
	}
	kv := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("X-Sentry-Auth: malformed %q", part)
		}
		kv[k] = v
	}
	switch {
	case kv["sentry_version"] != "7":
		return fmt.Errorf("X-Sentry-Auth: sentry_version %q, want 7", kv["sentry_version"])
	case kv["sentry_key"] != Key:
		return fmt.Errorf("X-Sentry-Auth: sentry_key %q, want the DSN's key", kv["sentry_key"])
	case kv["sentry_client"] == "":
		return fmt.Errorf("X-Sentry-Auth: no sentry_client")
	}
	return nil
}

// parseEnvelope checks the framing of an envelope of one event item:
//
//	{envelope header}\n{item header}\n{payload of exactly length bytes}(\n)?
func parseEnvelope(body []byte) (*Event, error) {
	br := bufio.NewReader(bytes.NewReader(body))
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("no envelope header line")
	}
	var head struct {
		EventID string `json:"event_id"`
		DSN     string `json:"dsn"`
		SentAt  string `json:"sent_at"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		return nil, fmt.Errorf("envelope header: %v", err)
	}
	if head.DSN != "" && !strings.Contains(head.DSN, Key+"@") {
		return nil, fmt.Errorf("envelope header dsn %q", head.DSN)
	}
	if head.SentAt != "" {
		if _, err := time.Parse(time.RFC3339Nano, head.SentAt); err != nil {
			return nil, fmt.Errorf("envelope header sent_at: %v", err)
		}
	}
	line, err = br.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("no item header line")
	}
	var item struct {
		Type        string `json:"type"`
		Length      *int   `json:"length"`
		ContentType string `json:"content_type"`
	}
	if err := json.Unmarshal(line, &item); err != nil {
		return nil, fmt.Errorf("item header: %v", err)
	}
	if item.Type != "event" {
		return nil, fmt.Errorf("item type %q, want event", item.Type)
	}
	if item.Length == nil {
		return nil, fmt.Errorf("item header has no length")
	}
	payload := make([]byte, *item.Length)
	if _, err := io.ReadFull(br, payload); err != nil {
		return nil, fmt.Errorf("item of length %d: %v", *item.Length, err)
	}
	tail, _ := io.ReadAll(br)
	if len(tail) > 0 && !bytes.Equal(tail, []byte("\n")) {
		return nil, fmt.Errorf("%d bytes after the item (length %s wrong?)", len(tail), strconv.Itoa(*item.Length))
	}
	if err := ValidateEvent(payload); err != nil {
		return nil, fmt.Errorf("event does not match Sentry's schema: %v\n%s", err, payload)
	}
	var fields map[string]any
	if err := json.Unmarshal(payload, &fields); err != nil {
		return nil, err
	}
	if id, _ := fields["event_id"].(string); id != head.EventID {
		return nil, fmt.Errorf("envelope event_id %q, event's %q", head.EventID, id)
	}
	return &Event{ID: head.EventID, JSON: payload, Fields: fields}, nil
}
