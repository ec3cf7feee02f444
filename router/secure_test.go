package router

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input/inputtest"
)

// syncBuffer is a log destination safe for the router's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runRouter runs a router on cfgText, logging to log, until the test ends;
// reload parses cfgText again and reloads, as SIGHUP does.
func runRouter(t *testing.T, cfgText string, log io.Writer) (r *Router, reload func() error) {
	t.Helper()
	parse := func() *config.Config {
		cfg, err := config.Parse("test.toml", []byte(cfgText), Catalog(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	r, err := New(parse(), Options{Logger: slog.New(slog.NewTextHandler(log, nil)), Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	waitFor(t, "Run", func() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.ctx != nil })
	return r, func() error { return r.Reload(parse()) }
}

// TestTLSReloadOnSIGHUP serves the HTTP address and a TCP input over TLS
// and renews both certificates with a reload: new connections see the new
// certificate, a connection opened before still works.
func TestTLSReloadOnSIGHUP(t *testing.T) {
	ca := inputtest.NewCA(t)
	first, second := ca.Server(), ca.Server()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "router.crt"), filepath.Join(dir, "router.key")
	first.CopyTo(t, certFile, keyFile)
	tlsTable := "cert_file = \"" + certFile + "\"\nkey_file = \"" + keyFile + "\"\n"
	r, reload := runRouter(t, `
[router]
data_dir = "`+dir+`"
http = "127.0.0.1:0"
[router.tls]
`+tlsTable+`
[input.tcp]
address = "127.0.0.1:0"
[input.tcp.tls]
`+tlsTable, io.Discard)

	tc := &tls.Config{RootCAs: ca.Pool}
	serial := func(addr string) *big.Int {
		t.Helper()
		c, err := tls.Dial("tcp", addr, tc)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	t.Cleanup(client.CloseIdleConnections)
	get := func() int {
		t.Helper()
		resp, err := client.Get("https://" + r.HTTPAddr().String() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.TLS == nil {
			t.Fatal("not TLS")
		}
		return resp.StatusCode
	}
	if get() != http.StatusOK {
		t.Fatal("/healthz over TLS failed")
	}
	for _, addr := range []string{r.HTTPAddr().String(), r.InputAddr("tcp").String()} {
		if s := serial(addr); s.Cmp(first.Serial) != 0 {
			t.Fatalf("%s: serial %v, want %v", addr, s, first.Serial)
		}
	}
	second.CopyTo(t, certFile, keyFile)
	if err := reload(); err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{r.HTTPAddr().String(), r.InputAddr("tcp").String()} {
		if s := serial(addr); s.Cmp(second.Serial) != 0 {
			t.Errorf("%s after reload: serial %v, want %v", addr, s, second.Serial)
		}
	}
	// The keep-alive connection of the client, opened before, still works.
	if get() != http.StatusOK {
		t.Error("/healthz after reload failed")
	}
	// Plain HTTP gets nothing from a TLS address.
	if resp, err := http.Get("http://" + r.HTTPAddr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served on a TLS address")
		}
	}
}

// TestAuth checks the roles of each route, the login cookie, cross-site
// refusals, the security headers, token rotation on reload, and that no
// token reaches the log.
func TestAuth(t *testing.T) {
	dir := t.TempDir()
	adminFile := filepath.Join(dir, "admin.tokens")
	os.WriteFile(adminFile, []byte("# admins\nadmin-secret-1\n\n"), 0o600)
	t.Setenv("TEST_METLOG_READ_TOKEN", "read-secret-2")
	var log syncBuffer
	r, reload := runRouter(t, `
[router]
data_dir = "`+dir+`"
http = "127.0.0.1:0"
pprof = true
[router.auth]
admin_tokens_file = "`+adminFile+`"
read_token_env = "TEST_METLOG_READ_TOKEN"
[input.http]
[output.store]
path = "`+filepath.Join(dir, "store")+`"
`, &log)
	base := "http://" + r.HTTPAddr().String()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, token string, header map[string]string, body string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	const admin, read = "admin-secret-1", "read-secret-2"
	tests := []struct {
		name, method, path, token string
		header                    map[string]string
		body                      string
		want                      int
	}{
		{"health is open", "GET", "/healthz", "", nil, "", 200},
		{"status needs a token", "GET", "/api/status", "", nil, "", 401},
		{"wrong token", "GET", "/api/status", "nope", nil, "", 401},
		{"read token reads status", "GET", "/api/status", read, nil, "", 200},
		{"admin token reads status", "GET", "/api/status", admin, nil, "", 200},
		{"metrics need a token", "GET", "/metrics", "", nil, "", 401},
		{"metrics with read token", "GET", "/metrics", read, nil, "", 200},
		{"store API needs a token", "GET", "/api/messages", "", nil, "", 401},
		{"store API with read token", "GET", "/api/messages", read, nil, "", 200},
		{"UI page sends a browser to sign in", "GET", "/ui/overview", "", map[string]string{"Accept": "text/html"}, "", 303},
		{"sign-in form", "GET", "/login?next=/ui/overview", "", nil, "", 200},
		{"pprof needs admin", "GET", "/debug/pprof/", read, nil, "", 403},
		{"pprof with admin", "GET", "/debug/pprof/", admin, nil, "", 200},
		{"state change needs admin", "POST", "/api/anything", read, nil, "", 403},
		{"state change with admin", "POST", "/api/anything", admin, nil, "", 404},
		{"cross-site state change", "POST", "/api/anything", admin, map[string]string{"Sec-Fetch-Site": "cross-site"}, "", 403},
		{"foreign origin", "POST", "/api/anything", admin, map[string]string{"Origin": "https://evil.example"}, "", 403},
		{"cross-site ingest", "POST", "/v1/messages", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, `{"type":"x"}`, 403},
		{"ingest has its own tokens", "POST", "/v1/messages", "", nil, `{"type":"x"}`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(tt.method, tt.path, tt.token, tt.header, tt.body)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			h := resp.Header
			if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
				h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("security headers missing: %v", h)
			}
		})
	}

	// The login form sets a cookie the UI's requests carry.
	form := url.Values{"token": {read}, "next": {"/ui/overview"}}.Encode()
	resp := do("POST", "/login", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/overview" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("login cookie %+v", cookies)
	}
	req, _ := http.NewRequest("GET", base+"/ui/overview", nil)
	req.AddCookie(cookies[0])
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("UI with the cookie: %v %v", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
	// A wrong token leads back to the form.
	form = url.Values{"token": {"wrong"}, "next": {"/ui/overview"}}.Encode()
	if resp := do("POST", "/login", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/login?") || len(resp.Cookies()) != 0 {
		t.Errorf("wrong token: %d to %q, cookies %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	// An open redirect is refused.
	form = url.Values{"token": {read}, "next": {"//evil.example/"}}.Encode()
	if resp := do("POST", "/login", "", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form); resp.Header.Get("Location") != "/" {
		t.Errorf("login redirected to %q", resp.Header.Get("Location"))
	}

	// Rotation: a reload reads the token file again.
	os.WriteFile(adminFile, []byte("admin-secret-3\n"), 0o600)
	if err := reload(); err != nil {
		t.Fatal(err)
	}
	if resp := do("GET", "/debug/pprof/", admin, nil, ""); resp.StatusCode != 401 {
		t.Errorf("retired admin token: %d", resp.StatusCode)
	}
	if resp := do("GET", "/debug/pprof/", "admin-secret-3", nil, ""); resp.StatusCode != 200 {
		t.Errorf("new admin token: %d", resp.StatusCode)
	}
	// A file that yields no token leaves the tokens as they were.
	os.WriteFile(adminFile, nil, 0o600)
	if err := reload(); err == nil {
		t.Error("reloading an empty token file succeeded")
	}
	if resp := do("GET", "/debug/pprof/", "admin-secret-3", nil, ""); resp.StatusCode != 200 {
		t.Errorf("after a failed reload: %d", resp.StatusCode)
	}

	for _, secret := range []string{"admin-secret-1", "read-secret-2", "admin-secret-3"} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("the log holds token %q", secret)
		}
	}
}

func TestAuthConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, auth := range map[string]string{
		"unset variable":  `admin_token_env = "TEST_METLOG_UNSET_VARIABLE"`,
		"missing file":    `admin_tokens_file = "` + filepath.Join(dir, "none") + `"`,
		"read token only": `read_token_env = "HOME"`,
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Parse("test.toml", []byte(`
[router]
data_dir = "`+dir+`"
http = "127.0.0.1:0"
[router.auth]
`+auth), Catalog(), nil)
			if err == nil {
				var r *Router
				r, err = New(cfg, Options{Logger: discard, Memory: true})
				if r != nil {
					r.closePlugins()
					r.journal.Close()
				}
			}
			if err == nil {
				t.Error("accepted")
			}
		})
	}
}

// TestMatchOnSigner routes by verified signer: an output matching
// Fields[signer] gets the records billing signed, and neither another
// signer's records nor unsigned ones claiming to be billing's.
func TestMatchOnSigner(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "billing.json")
	r, _ := runRouter(t, `
[router]
data_dir = "`+dir+`"
http = ""
[input.tcp]
address = "127.0.0.1:0"
[[input.tcp.signers]]
name = "billing"
version = 1
key = "old-key"
[[input.tcp.signers]]
name = "billing"
version = 2
key = "new-key"
[[input.tcp.signers]]
name = "web"
version = 1
key = "web-key"
[output.billing]
type = "file"
format = "metlog-json"
match = "Fields[signer] == 'billing'"
path = "`+out+`"
[output.all]
type = "file"
format = "metlog-json"
path = "`+filepath.Join(dir, "all.json")+`"
`, io.Discard)
	record := func(typ string, s *heka.Signer, fields ...metlog.Field) []byte {
		b, err := heka.AppendRecord(nil, &metlog.Message{Type: typ, Fields: fields}, s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var stream []byte
	stream = append(stream, record("billing-v1", &heka.Signer{Name: "billing", Version: 1, Hash: heka.MD5, Key: "old-key"})...)
	stream = append(stream, record("billing-v2", &heka.Signer{Name: "billing", Version: 2, Hash: heka.SHA256, Key: "new-key"})...)
	stream = append(stream, record("web", &heka.Signer{Name: "web", Version: 1, Hash: heka.SHA1, Key: "web-key"})...)
	stream = append(stream, record("forged", nil, metlog.String("signer", "billing"))...)
	c, err := net.Dial("tcp", r.InputAddr("tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write(stream)
	c.Close()
	waitFor(t, "delivery", func() bool { return r.Status().Outputs["all"].Delivered == 4 })
	waitFor(t, "billing's", func() bool { o := r.Status().Outputs["billing"]; return o.Read == 4 && o.Delivered == 2 })
	var got []string
	for _, m := range readJSONLines(t, out) {
		got = append(got, m.Type)
	}
	if strings.Join(got, " ") != "billing-v1 billing-v2" {
		t.Errorf("billing output got %v", got)
	}
}

func TestHTTPConnectionsPerSource(t *testing.T) {
	dir := t.TempDir()
	r, _ := runRouter(t, `
[router]
data_dir = "`+dir+`"
http = "127.0.0.1:0"
http_max_connections_per_source = 1
`, io.Discard)
	idle, err := net.Dial("tcp", r.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get("http://" + r.HTTPAddr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("a second connection from one source was served")
	}
	idle.Close()
	waitFor(t, "the slot to come back", func() bool {
		resp, err := client.Get("http://" + r.HTTPAddr().String() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}
