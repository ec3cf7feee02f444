package sentry

import (
	"fmt"
	"io/fs"
	"testing"

	"github.com/metlog/metlog"
)

// BenchmarkExceptionEnvelope measures turning one client exception (a
// three-error chain and its stack) into an envelope, without the request.
func BenchmarkExceptionEnvelope(b *testing.B) {
	msgs := clientMessages(&testing.T{}, func(c *metlog.Client) {
		c.Exception(fmt.Errorf("load: %w", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}),
			metlog.String("user", "bob"))
	})
	o, err := New(Config{DSN: "https://k@sentry.example/1", Timeout: 1}, discard)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.envelope(o.dsn, msgs[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRavenEnvelope measures forwarding metlog-raven's capture 27.
func BenchmarkRavenEnvelope(b *testing.B) {
	m := readCapture(&testing.T{}, "27-raven-plugin.json")
	o, err := New(Config{DSN: "https://k@sentry.example/1", Timeout: 1}, discard)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.envelope(o.dsn, m); err != nil {
			b.Fatal(err)
		}
	}
}
