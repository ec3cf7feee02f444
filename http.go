package metlog

import (
	"net/http"
	"time"
)

// HTTPOptions configure Client.Middleware. The zero value is usable.
type HTTPOptions struct {
	// Name returns the timer name of a request that no ServeMux pattern
	// matched (Request.Pattern is empty after the handler ran). The
	// default is the method followed by " unmatched", so that unknown
	// paths cannot create unbounded timer names.
	Name func(r *http.Request) string
	// Prefix is put before every timer name (default none).
	Prefix string
}

// Middleware returns net/http middleware that times every request and
// captures handler panics:
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /users/{id}", getUser)
//	http.ListenAndServe(addr, c.Middleware(nil)(mux))
//
// Each request sends a "timer" message named after its route: the
// ServeMux pattern that matched ("GET /users/{id}", read from
// Request.Pattern once the handler returns, so the middleware may wrap the
// mux), else opts.Name. Its fields are "status" (the response code, as an
// integer) and "method". A panic in the handler is reported as by
// ReportPanic, with the fields "http.method", "http.path" and "http.route";
// the client gets a 500 response if nothing was written yet, the timer's
// status is 500 either way, and the server goes on. http.ErrAbortHandler is passed on, as the server expects.
func (c *Client) Middleware(opts *HTTPOptions) func(http.Handler) http.Handler {
	var o HTTPOptions
	if opts != nil {
		o = *opts
	}
	if o.Name == nil {
		o.Name = func(r *http.Request) string { return r.Method + " unmatched" }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := mono()
			sw := &statusWriter{ResponseWriter: w}
			defer func() {
				route := r.Pattern
				if route == "" {
					route = o.Name(r)
				}
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					c.ReportPanic(v,
						String("http.method", r.Method),
						String("http.path", r.URL.Path),
						String("http.route", route))
					if sw.status == 0 {
						http.Error(sw, http.StatusText(http.StatusInternalServerError),
							http.StatusInternalServerError)
					}
					sw.status = http.StatusInternalServerError
				}
				status := sw.status
				if status == 0 {
					status = http.StatusOK // the server writes 200 for a silent handler
				}
				c.Timing(o.Prefix+route, time.Duration(mono()-start),
					Int("status", int64(status)), String("method", r.Method))
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// statusWriter remembers the response status. Unwrap lets
// http.ResponseController reach the underlying writer's other abilities
// (hijacking, deadlines).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes flushes on, for handlers that stream.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
