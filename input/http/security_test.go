package http

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
)

func postWith(t *testing.T, client *http.Client, url, token, body string) (int, response) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/messages", strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r response
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("response is not JSON: %v", err)
	}
	return resp.StatusCode, r
}

func TestIngestTokens(t *testing.T) {
	dir := t.TempDir()
	billing := filepath.Join(dir, "billing.token")
	os.WriteFile(billing, []byte("billing-token-1\n"), 0o600)
	t.Setenv("TEST_METLOG_INGEST_WEB", "web-token-1")
	cfg := Defaults()
	cfg.Tokens = []IngestToken{{Source: "billing", TokenFile: billing}, {Source: "web", TokenEnv: "TEST_METLOG_INGEST_WEB"}}
	in, sink, srv := serve(t, cfg)

	const forged = `{"type": "t", "fields": {"ingest_source": "billing", "signer": "x"}}`
	tests := []struct {
		name, token string
		want        int
		source      string
	}{
		{"no token", "", 401, ""},
		{"unknown token", "guess", 401, ""},
		{"billing", "billing-token-1", 200, "billing"},
		{"web", "web-token-1", 200, "web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(sink.Messages())
			code, r := postWith(t, http.DefaultClient, srv.URL, tt.token, forged)
			if code != tt.want {
				t.Fatalf("status %d, want %d (%+v)", code, tt.want, r)
			}
			msgs := sink.Messages()
			if tt.want != 200 {
				if len(msgs) != before {
					t.Error("stored without a valid token")
				}
				return
			}
			m := msgs[len(msgs)-1]
			if len(m.Fields) != 1 || m.Fields[0].Name != input.FieldSource || m.Fields[0].Strings[0] != tt.source {
				t.Errorf("fields %+v", m.Fields)
			}
		})
	}

	// Rotation: a reload reads the file again.
	os.WriteFile(billing, []byte("billing-token-2\n"), 0o600)
	if err := in.Reload(); err != nil {
		t.Fatal(err)
	}
	if code, _ := postWith(t, http.DefaultClient, srv.URL, "billing-token-1", forged); code != 401 {
		t.Errorf("retired token: %d", code)
	}
	if code, _ := postWith(t, http.DefaultClient, srv.URL, "billing-token-2", forged); code != 200 {
		t.Errorf("new token: %d", code)
	}
}

func TestIngestTokenConfig(t *testing.T) {
	cfg := Defaults()
	cfg.Tokens = []IngestToken{{Source: "a"}}
	if cfg.Validate() == nil {
		t.Error("a token without token_file or token_env accepted")
	}
	cfg.Tokens = []IngestToken{{Source: "a", TokenEnv: "TEST_METLOG_UNSET_VARIABLE"}}
	if _, err := New(cfg, nil); err == nil {
		t.Error("an unset token variable accepted")
	}
}

func TestRateLimit(t *testing.T) {
	cfg := Defaults()
	cfg.Rate, cfg.Burst = 0.001, 3 // three at once, then one per 1000 s
	in, sink, srv := serve(t, cfg)
	two := `{"type": "a"}` + "\n" + `{"type": "b"}` + "\n"
	if code, _ := postWith(t, http.DefaultClient, srv.URL, "", two); code != 200 {
		t.Fatalf("first request: %d", code)
	}
	if code, r := postWith(t, http.DefaultClient, srv.URL, "", two); code != http.StatusTooManyRequests {
		t.Fatalf("second request: %d %+v", code, r)
	}
	if n := len(sink.Messages()); n != 2 {
		t.Errorf("%d messages stored", n)
	}
	if r := in.Counters().Snapshot().Rejected; r["rate_limited"] != 2 {
		t.Errorf("rejected %v", r)
	}
}

func TestMutualTLSClient(t *testing.T) {
	ca := inputtest.NewCA(t)
	srvCert := ca.Server()
	in, err := New(Defaults(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := &inputtest.Sink{}
	srv := httptest.NewUnstartedServer(in.Handler(sink))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{srvCert.Cert}, ClientCAs: ca.Pool, ClientAuth: tls.RequireAndVerifyClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: ca.Pool, Certificates: []tls.Certificate{ca.Client("collector-7").Cert}}}}
	t.Cleanup(client.CloseIdleConnections)
	if code, r := postWith(t, client, srv.URL, "", `{"type": "t", "fields": {"tls_client": "forged"}}`); code != 200 {
		t.Fatalf("status %d %+v", code, r)
	}
	m := sink.Messages()[0]
	if f := m.Field(input.FieldTLSClient); f == nil || f.Strings[0] != "collector-7" || len(m.Fields) != 1 {
		t.Errorf("fields %+v", m.Fields)
	}
}
