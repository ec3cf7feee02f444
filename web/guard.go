package web

import (
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// TokenCookie is the cookie the login page sets, so that the web UI's
// requests (fetch, EventSource) carry the token a browser cannot put in a
// header.
const TokenCookie = "metlog_token"

// Guard protects the router's HTTP address. Its Handler sets security
// headers on every response and rejects cross-site state changes; Require
// wraps each route with the role it needs. With no tokens set,
// authentication is off and every route is served to everyone (the
// default: the router listens on loopback). It is safe for concurrent use;
// SetTokens may be called while it serves.
type Guard struct {
	log    *slog.Logger
	tokens atomic.Pointer[Tokens]
	cross  *http.CrossOriginProtection
}

// NewGuard returns a Guard with authentication off.
func NewGuard(log *slog.Logger) *Guard {
	g := &Guard{log: log, cross: http.NewCrossOriginProtection()}
	g.cross.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.log.Warn("cross-site request refused", "method", r.Method, "path", r.URL.Path, "from", r.RemoteAddr, "origin", r.Header.Get("Origin"))
		writeJSON(w, http.StatusForbidden, errorBody{Error: "cross-site request refused"})
	}))
	return g
}

// SetTokens replaces the tokens; nil turns authentication off.
func (g *Guard) SetTokens(t *Tokens) { g.tokens.Store(t) }

// Enabled reports whether authentication is on.
func (g *Guard) Enabled() bool { return g.tokens.Load() != nil }

// contentSecurityPolicy allows the UI's own script, style, images and
// requests, and nothing else; no page may frame it. Styles may be inline:
// the charting library sets element styles.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Handler wraps the whole HTTP address: security headers on every
// response; state-changing requests (POST, PUT, PATCH, DELETE) from
// another site, told by Sec-Fetch-Site or Origin, are refused with 403;
// and the login and logout endpoints.
func (g *Guard) Handler(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", g.loginForm)
	mux.HandleFunc("POST /login", g.login)
	mux.HandleFunc("POST /logout", g.logout)
	mux.Handle("/", next)
	guarded := g.cross.Handler(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		guarded.ServeHTTP(w, r)
	})
}

// Require serves next only to requests with a token of role min or
// better; without, it answers 401 (403 for a token of a lesser role) as
// JSON, or sends a browser asking for a page to the sign-in form (GET
// /login). RoleNone requires nothing.
func (g *Guard) Require(min Role, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokens := g.tokens.Load()
		if tokens == nil || min == RoleNone {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := requestToken(r)
		role := tokens.Role(token)
		if role >= min {
			next.ServeHTTP(w, r)
			return
		}
		// The token itself is never logged.
		g.log.Info("request refused", "method", r.Method, "path", r.URL.Path, "from", r.RemoteAddr,
			"token_given", ok, "role", role.String(), "needs", min.String())
		if role != RoleNone {
			writeJSON(w, http.StatusForbidden, errorBody{Error: "this token may not " + verb(min)})
			return
		}
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && wantsPage(r) {
			http.Redirect(w, r, "/login?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="metlog"`)
		writeJSON(w, http.StatusUnauthorized, errorBody{Error: "authentication required: send Authorization: Bearer <token>"})
	})
}

// RequireByMethod is Require with the role the request's method needs:
// read for GET, HEAD and OPTIONS, admin for anything that may change
// state.
func (g *Guard) RequireByMethod(next http.Handler) http.Handler {
	read, admin := g.Require(RoleRead, next), g.Require(RoleAdmin, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			read.ServeHTTP(w, r)
		default:
			admin.ServeHTTP(w, r)
		}
	})
}

func verb(r Role) string {
	if r == RoleAdmin {
		return "change state or read the profiler (admin token needed)"
	}
	return "read"
}

// requestToken returns the bearer token of r, or its token cookie, and
// whether it had either.
func requestToken(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), true
		}
		return "", true
	}
	if c, err := r.Cookie(TokenCookie); err == nil {
		return c.Value, true
	}
	return "", false
}

func wantsPage(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>metlog: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>
<body><main><h1>metlog</h1>
{{if .Failed}}<p role="alert">That token is not valid here.</p>{{end}}
<form method="post" action="/login">
<label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<input type="hidden" name="next" value="{{.Next}}">
<button type="submit">Sign in</button>
</form></main></body></html>
`))

// localPath returns next if it is a path on this server, else "/": the
// sign-in form never redirects elsewhere.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return "/"
	}
	return next
}

// loginForm serves the sign-in form; next is where to go once signed in,
// and failed says that the previous attempt was refused.
func (g *Guard) loginForm(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	loginTemplate.Execute(w, struct {
		Next   string
		Failed bool
	}{localPath(q.Get("next")), q.Get("failed") != ""})
}

// login takes a token from the sign-in form and, if valid, sets the token
// cookie: HttpOnly (scripts cannot read it), SameSite=Strict (other sites
// cannot send it), Secure over TLS. A refused token leads back to the form
// (a redirect, so that reloading the page posts nothing).
func (g *Guard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	token := r.PostFormValue("token")
	next := localPath(r.PostFormValue("next"))
	tokens := g.tokens.Load()
	if tokens == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if tokens.Role(token) == RoleNone {
		g.log.Info("sign-in refused", "from", r.RemoteAddr)
		http.Redirect(w, r, "/login?"+url.Values{"next": {next}, "failed": {"1"}}.Encode(), http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: TokenCookie, Value: token, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int((12 * time.Hour).Seconds()),
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (g *Guard) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]bool{"ok": true})
}
