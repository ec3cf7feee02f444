package sentrytest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func envelope(event string, length int) string {
	return `{"event_id":"01a20158-4cd9-7fea-ac97-3d34f8be4519"}` + "\n" +
		fmt.Sprintf(`{"type":"event","length":%d}`, length) + "\n" + event + "\n"
}

func full(event string) string { return envelope(event, len(event)) }

const goodEvent = `{"event_id":"01a20158-4cd9-7fea-ac97-3d34f8be4519","level":"error","timestamp":1.5}`

// The stand-in refuses what Sentry would refuse, and says why.
func TestServerChecks(t *testing.T) {
	tests := []struct {
		name, path, auth, body string
		wantErr                string // "" for accepted
	}{
		{"good", "/api/1/envelope/", "Sentry sentry_version=7, sentry_client=x/1, sentry_key=" + Key,
			envelope(goodEvent, len(goodEvent)), ""},
		{"wrong path", "/api/1/store/", "Sentry sentry_version=7, sentry_client=x/1, sentry_key=" + Key,
			envelope(goodEvent, len(goodEvent)), "path"},
		{"wrong key", "/api/1/envelope/", "Sentry sentry_version=7, sentry_client=x/1, sentry_key=nope",
			envelope(goodEvent, len(goodEvent)), "sentry_key"},
		{"no auth", "/api/1/envelope/", "", envelope(goodEvent, len(goodEvent)), "X-Sentry-Auth"},
		{"wrong length", "/api/1/envelope/", "Sentry sentry_version=7, sentry_client=x/1, sentry_key=" + Key,
			envelope(goodEvent, len(goodEvent)-3), "length"},
		{"not the schema", "/api/1/envelope/", "Sentry sentry_version=7, sentry_client=x/1, sentry_key=" + Key,
			full(`{"event_id":"01a20158-4cd9-7fea-ac97-3d34f8be4519","level":"loud"}`), "schema"},
		{"unknown key", "/api/1/envelope/", "Sentry sentry_version=7, sentry_client=x/1, sentry_key=" + Key,
			full(`{"event_id":"01a20158-4cd9-7fea-ac97-3d34f8be4519","site":"x"}`), "schema"},
		{"ids differ", "/api/1/envelope/", "Sentry sentry_version=7, sentry_client=x/1, sentry_key=" + Key,
			full(`{"event_id":"01a20158-4cd9-7fea-ac97-3d34f8be4510"}`), "event_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := NewServer(rec)
			req, _ := http.NewRequest("POST", s.srv.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-sentry-envelope")
			if tt.auth != "" {
				req.Header.Set("X-Sentry-Auth", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tt.wantErr == "" {
				if resp.StatusCode != 200 || len(rec.errs) != 0 || len(s.Events()) != 1 {
					t.Errorf("status %d, errors %q", resp.StatusCode, rec.errs)
				}
				return
			}
			if resp.StatusCode != 400 || len(rec.errs) != 1 || !strings.Contains(rec.errs[0], tt.wantErr) {
				t.Errorf("status %d, errors %q, want one mentioning %q", resp.StatusCode, rec.errs, tt.wantErr)
			}
			if len(s.Events()) != 0 {
				t.Error("a refused event was recorded")
			}
		})
	}
}
