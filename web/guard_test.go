package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metlog/metlog/config"
)

func TestTokensRole(t *testing.T) {
	tokens := NewTokens([]string{"adm"}, []string{"rd", "shared"})
	tokens.add("shared", RoleAdmin) // listed in both: the better role wins
	tests := []struct {
		token string
		want  Role
	}{
		{"adm", RoleAdmin},
		{"rd", RoleRead},
		{"shared", RoleAdmin},
		{"", RoleNone},
		{"ad", RoleNone},
		{"adm ", RoleNone},
		{"ADM", RoleNone},
	}
	for _, tt := range tests {
		if got := tokens.Role(tt.token); got != tt.want {
			t.Errorf("Role(%q) = %v, want %v", tt.token, got, tt.want)
		}
	}
}

func TestLoadTokens(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "admin.tokens")
	os.WriteFile(file, []byte("# rotated 2026-11\n\n  new-token  \r\nold-token\n"), 0o600)
	env := map[string]string{"READ": " r-token\n"}
	tokens, err := LoadTokens(config.Auth{AdminTokensFile: file, ReadTokenEnv: "READ"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	for tok, want := range map[string]Role{"new-token": RoleAdmin, "old-token": RoleAdmin, "r-token": RoleRead, "# rotated 2026-11": RoleNone} {
		if got := tokens.Role(tok); got != want {
			t.Errorf("Role(%q) = %v, want %v", tok, got, want)
		}
	}
	if tokens, err := LoadTokens(config.Auth{}, nil); tokens != nil || err != nil {
		t.Errorf("no auth: %v, %v", tokens, err)
	}
}

func TestGuardUnauthenticated(t *testing.T) {
	g := NewGuard(slog.New(slog.NewTextHandler(io.Discard, nil)))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	h := g.Handler(g.RequireByMethod(ok))
	serve := func(method, path string, header map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	// Off: everything is served, with the headers.
	if w := serve("GET", "/ui/x", nil); w.Code != 200 || w.Header().Get("X-Frame-Options") != "DENY" {
		t.Errorf("auth off: %d %v", w.Code, w.Header())
	}
	g.SetTokens(NewTokens([]string{"a"}, nil))
	tests := []struct {
		name, method, path string
		header             map[string]string
		want               int
		body               string
	}{
		{"API", "GET", "/api/x", nil, 401, `"error"`},
		{"page", "GET", "/ui/x?q=1", map[string]string{"Accept": "text/html"}, 303, ""},
		{"sign-in form", "GET", "/login?next=%2Fui%2Fx%3Fq%3D1", nil, 200, `name="next" value="/ui/x?q=1"`},
		{"sign-in form stays here", "GET", "/login?next=https://evil.example/", nil, 200, `name="next" value="/"`},
		{"basic auth is not a token", "GET", "/api/x", map[string]string{"Authorization": "Basic YTph"}, 401, ""},
		{"admin", "GET", "/api/x", map[string]string{"Authorization": "Bearer a"}, 200, "ok"},
		{"cookie", "DELETE", "/api/x", map[string]string{"Cookie": TokenCookie + "=a"}, 200, "ok"},
		{"same-origin", "POST", "/api/x", map[string]string{"Authorization": "Bearer a", "Sec-Fetch-Site": "same-origin"}, 200, "ok"},
		{"cross-site", "POST", "/api/x", map[string]string{"Authorization": "Bearer a", "Sec-Fetch-Site": "cross-site"}, 403, "cross-site"},
		{"cross-site GET is fine", "GET", "/api/x", map[string]string{"Authorization": "Bearer a", "Sec-Fetch-Site": "cross-site"}, 200, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := serve(tt.method, tt.path, tt.header)
			if w.Code != tt.want || !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("%d %q, want %d containing %q", w.Code, w.Body.String(), tt.want, tt.body)
			}
		})
	}
}

func BenchmarkTokensRole(b *testing.B) {
	tokens := NewTokens([]string{"admin-token-0123456789abcdef"}, []string{"read-token-0123456789abcdef", "another-read-token"})
	b.ReportAllocs()
	for b.Loop() {
		tokens.Role("read-token-0123456789abcdef")
	}
}
