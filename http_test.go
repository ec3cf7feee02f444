package metlog

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestMiddleware(t *testing.T) {
	c, mem := newTestClient(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "user "+r.PathValue("id"))
	})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	mux.HandleFunc("GET /silent", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) {
		panic(errors.New("handler exploded"))
	})
	mux.HandleFunc("GET /late-boom", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		panic("after the header")
	})
	srv := httptest.NewServer(c.Middleware(&HTTPOptions{Prefix: "web "})(mux))
	defer srv.Close()

	tests := []struct {
		method, path string
		status       int
		route        string
	}{
		{"GET", "/users/42", 200, "web GET /users/{id}"},
		{"POST", "/items", 201, "web POST /items"},
		{"GET", "/silent", 200, "web GET /silent"},
		{"GET", "/nowhere", 404, "web GET unmatched"},
		{"GET", "/boom", 500, "web GET /boom"},
		{"GET", "/late-boom", 202, "web GET /late-boom"},
		{"GET", "/users/7", 200, "web GET /users/{id}"}, // the server survived
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
	}
	var timers []*Message
	var exceptions []*Message
	for _, m := range flushed(t, c, mem) {
		switch m.Type {
		case TypeTimer:
			timers = append(timers, m)
		case TypeException:
			exceptions = append(exceptions, m)
		}
	}
	if len(timers) != len(tests) {
		t.Fatalf("got %d timers, want %d", len(timers), len(tests))
	}
	for i, tt := range tests {
		m := timers[i]
		wantStatus := int64(tt.status)
		if tt.path == "/late-boom" {
			wantStatus = 500 // what the middleware reports for any panic
		}
		if fieldValue(m, "name") != tt.route || fieldValue(m, "status") != wantStatus || fieldValue(m, "method") != tt.method {
			t.Errorf("timer %d: name %v status %v method %v, want %q %d %s", i,
				fieldValue(m, "name"), fieldValue(m, "status"), fieldValue(m, "method"), tt.route, wantStatus, tt.method)
		}
	}
	if len(exceptions) != 2 {
		t.Fatalf("got %d exceptions, want 2", len(exceptions))
	}
	m := exceptions[0]
	if m.Payload != "handler exploded" || m.Severity != Critical || fieldValue(m, "http.route") != "GET /boom" ||
		fieldValue(m, "http.path") != "/boom" || fieldValue(m, FieldMechanism) != "panic" {
		t.Errorf("exception %+v", m)
	}
}

func TestMiddlewareAbortHandler(t *testing.T) {
	c, mem := newTestClient(t)
	h := c.Middleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler passed on", v)
		}
		for _, m := range flushed(t, c, mem) {
			if m.Type == TypeException {
				t.Errorf("ErrAbortHandler reported as an exception")
			}
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}

func TestMiddlewareFlushes(t *testing.T) {
	c, _ := newTestClient(t)
	rec := httptest.NewRecorder()
	h := c.Middleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the middleware: %v", err)
		}
	}))
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !rec.Flushed {
		t.Error("the flush did not reach the underlying writer")
	}
}
