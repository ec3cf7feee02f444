package metlog

import (
	"net/http"
	"strings"
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
	// Headers lists the request headers reported with a panic. The
	// default is Accept, Accept-Language, Content-Length, Content-Type,
	// Host, Referer, User-Agent and X-Request-Id. Credentials are never
	// reported, whatever this says: Authorization, Proxy-Authorization,
	// Cookie and any header whose name mentions a token, key, secret,
	// password, session, signature or auth are left out.
	Headers []string
}

// defaultPanicHeaders are the request headers a panic report carries
// unless HTTPOptions.Headers says otherwise.
var defaultPanicHeaders = []string{"Accept", "Accept-Language", "Content-Length", "Content-Type",
	"Host", "Referer", "User-Agent", "X-Request-Id"}

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
// ReportPanic, with the request (see RequestFields): "http.method",
// "http.url" (without credentials), "http.path", "http.route" and the
// selected headers as "http.headers.NAME"; the client gets a 500 response
// if nothing was written yet, the timer's status is 500 either way, and the
// server goes on. http.ErrAbortHandler is passed on, as the server expects.
func (c *Client) Middleware(opts *HTTPOptions) func(http.Handler) http.Handler {
	var o HTTPOptions
	if opts != nil {
		o = *opts
	}
	if o.Name == nil {
		o.Name = func(r *http.Request) string { return r.Method + " unmatched" }
	}
	if o.Headers == nil {
		o.Headers = defaultPanicHeaders
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
					c.ReportPanic(v, requestFields(r, route, o.Headers)...)
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

// RequestFields describes r for an exception report, as the middleware
// does for a panic: "http.method"; "http.url", the absolute URL without
// user credentials and with the values of query parameters that look like
// secrets (token, key, password, …) replaced by "[Filtered]"; "http.path";
// "http.route", the ServeMux pattern that matched, when there is one; and
// "http.headers.NAME" for each of headers (nil: those of HTTPOptions) that
// the request carries, credentials excepted (see HTTPOptions.Headers).
//
//	c.Exception(err, metlog.RequestFields(r, nil)...)
func RequestFields(r *http.Request, headers []string) []Field {
	if headers == nil {
		headers = defaultPanicHeaders
	}
	return requestFields(r, r.Pattern, headers)
}

func requestFields(r *http.Request, route string, headers []string) []Field {
	fields := make([]Field, 0, 4+len(headers))
	fields = append(fields,
		String("http.method", r.Method),
		String("http.url", requestURL(r)),
		String("http.path", r.URL.Path))
	if route != "" {
		fields = append(fields, String("http.route", route))
	}
	for _, name := range headers {
		name = http.CanonicalHeaderKey(name)
		if sensitiveName(name) {
			continue
		}
		if v := r.Header.Values(name); len(v) > 0 {
			fields = append(fields, String("http.headers."+name, strings.Join(v, ", ")))
		} else if name == "Host" && r.Host != "" {
			fields = append(fields, String("http.headers.Host", r.Host))
		}
	}
	return fields
}

// requestURL returns the absolute URL of r without credentials.
func requestURL(r *http.Request) string {
	u := *r.URL
	u.User = nil
	if u.Host == "" {
		u.Host = r.Host
	}
	if u.Scheme == "" {
		u.Scheme = "http"
		if r.TLS != nil {
			u.Scheme = "https"
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		filtered := false
		for k, vs := range q {
			if sensitiveName(k) {
				for i := range vs {
					vs[i] = "[Filtered]"
				}
				filtered = true
			}
		}
		if filtered {
			u.RawQuery = q.Encode()
		}
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// sensitiveName reports whether a header or query parameter name suggests
// that its value is a credential.
func sensitiveName(name string) bool {
	n := strings.ToLower(name)
	if n == "cookie" || n == "set-cookie" {
		return true
	}
	for _, s := range sensitiveWords {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

var sensitiveWords = []string{"auth", "token", "key", "secret", "passw", "pwd", "session",
	"signature", "credential", "cookie", "csrf"}

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
