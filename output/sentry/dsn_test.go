package sentry

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseDSN(t *testing.T) {
	tests := []struct {
		dsn, url, auth, str, err string
	}{
		{dsn: "https://abc@o1.ingest.sentry.io/42", url: "https://o1.ingest.sentry.io/api/42/envelope/",
			auth: "Sentry sentry_version=7, sentry_client=c/1, sentry_key=abc", str: "https://***@o1.ingest.sentry.io/42"},
		{dsn: "http://abc:shh@127.0.0.1:9000/sentry/7/", url: "http://127.0.0.1:9000/sentry/api/7/envelope/",
			auth: "Sentry sentry_version=7, sentry_client=c/1, sentry_key=abc, sentry_secret=shh", str: "http://***@127.0.0.1:9000/sentry/7"},
		{dsn: "udp://abc:shh@127.0.0.1:9001/2", err: "scheme"},
		{dsn: "https://sentry.io/1", err: "public key"},
		{dsn: "https://abc@sentry.io/", err: "project"},
		{dsn: "https://abc@/1", err: "host"},
		{dsn: "https://abc:shh@sentry.io:bad/1", err: "dsn"},
	}
	for _, tt := range tests {
		d, err := ParseDSN(tt.dsn)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.dsn, err, tt.err)
			}
			if err != nil && (strings.Contains(err.Error(), "shh") || strings.Contains(err.Error(), "abc")) {
				t.Errorf("%s: the error shows the key: %v", tt.dsn, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.dsn, err)
			continue
		}
		if d.EnvelopeURL() != tt.url || d.AuthHeader("c/1") != tt.auth || d.String() != tt.str {
			t.Errorf("%s: url %s auth %s string %s", tt.dsn, d.EnvelopeURL(), d.AuthHeader("c/1"), d)
		}
		if strings.Contains(d.envelopeDSN(), "shh") {
			t.Errorf("%s: envelope dsn %s carries the secret", tt.dsn, d.envelopeDSN())
		}
	}
}

func TestParseRateLimits(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		header string
		want   map[string]time.Duration // category -> limit
	}{
		{"60:error;transaction:project", map[string]time.Duration{"error": time.Minute}},
		{"60:transaction:project", map[string]time.Duration{}},
		{"2.5::organization:quota_exceeded", map[string]time.Duration{"": 2500 * time.Millisecond}},
		{"10:default:key, 30:error:project", map[string]time.Duration{"error": 30 * time.Second}},
		{"x:error:project, :error, -5:error:key", map[string]time.Duration{}},
	}
	for _, tt := range tests {
		got := map[string]time.Duration{}
		for _, rl := range parseRateLimits(tt.header, now) {
			for _, c := range rl.categories {
				if d := rl.until.Sub(now); d > got[c] {
					got[c] = d
				}
			}
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q: %v, want %v", tt.header, got, tt.want)
			continue
		}
		for c, d := range tt.want {
			if got[c] != d {
				t.Errorf("%q: %v, want %v", tt.header, got, tt.want)
			}
		}
	}
	if d := retryAfter(now.Add(90*time.Second).UTC().Format(http.TimeFormat), now).Sub(now); d != 90*time.Second {
		t.Errorf("Retry-After as a date: %v", d)
	}
	if d := retryAfter("soon", now).Sub(now); d != defaultRetryAfter {
		t.Errorf("unreadable Retry-After: %v", d)
	}
}
