package sentry

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output/sentry/sentrytest"
)

func ravenPayload(event []byte) string {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(event)
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// Whatever event a metlog-raven message carries, what the output sends
// matches Sentry's schema.
func FuzzRavenEvent(f *testing.F) {
	m := readCapture(&testing.T{}, "27-raven-plugin.json")
	ev, err := DecodeRavenPayload(m.Payload)
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := json.Marshal(ev)
	f.Add(seed)
	for _, s := range []string{
		`{}`, `[]`, `null`, `"text"`,
		`{"message": "m", "level": "warn", "tags": [["a", "b"], ["c", null]], "timestamp": 1.5e9}`,
		`{"exception": {"values": [{"type": "E", "value": 3, "stacktrace": {"frames": [{"lineno": -1, "in_app": "yes", "vars": []}]}}]}}`,
		`{"sentry.interfaces.Exception": [{"type": "E"}], "exception": {}, "sentry.interfaces.Http": {"url": "u", "headers": {"Cookie": "x", "A": 1}, "cookies": "c"}}`,
		`{"sentry.interfaces.User": {"id": 7, "geo": "x"}, "event_id": "not-an-id", "time_spent": -3, "modules": {"a": 1}, "fingerprint": ["{{ default }}", 3]}`,
		`{"stacktrace": {"frames": "no"}, "contexts": {"os": {"name": 3}, "bad": 1}, "extra": 5, "level": 70, "request": {"query_string": {"a": [1]}}}`,
	} {
		f.Add([]byte(s))
	}
	o, err := New(Config{DSN: "https://k@sentry.example/1", Timeout: 1, Environment: "fuzz"}, discard)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := sentrytest.Schema(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, event []byte) {
		m := &metlog.Message{UUID: metlog.NewUUID(), Timestamp: 1, Type: TypeSentry, Severity: metlog.Error,
			Payload: ravenPayload(event), Logger: "app", Hostname: "h",
			Fields: []metlog.Field{metlog.String("dsn", "udp://u:secret@h:1/2")}}
		_, body, err := o.eventJSON(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := sentrytest.ValidateEvent(body); err != nil {
			t.Fatalf("%v\n%s\nfrom %s", err, body, event)
		}
		// The same event as an explicit, undecodable payload.
		m.Payload = string(event)
		if _, body, err = o.eventJSON(m); err != nil {
			t.Fatal(err)
		}
		if err := sentrytest.ValidateEvent(body); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
	})
}

// Whatever an exception message holds, its event matches Sentry's schema.
func FuzzExceptionEvent(f *testing.F) {
	f.Add("*fs.PathError", "open /x: no such file", "main.(*app).load", "/src/app/main.go", int64(42), int64(-1), "panic", "k", "v")
	f.Add("", "", "", "", int64(-5), int64(3), "", "", "")
	f.Add("\xff", "\x00", "a/b.c", "\n", int64(1<<62), int64(0), "error", "user id", "\xfe")
	o, err := New(Config{DSN: "https://k@sentry.example/1", Timeout: 1}, discard)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, typ, msg, fn, file string, line, parent int64, mech, key, value string) {
		m := &metlog.Message{UUID: metlog.NewUUID(), Timestamp: line, Type: metlog.TypeException, Severity: metlog.Severity(line & 7),
			Payload: msg, Hostname: value,
			Fields: []metlog.Field{
				metlog.Strings(metlog.FieldErrorType, typ, typ),
				metlog.Strings(metlog.FieldErrorMessage, msg),
				metlog.Ints(metlog.FieldErrorParent, -1, parent),
				metlog.Strings(metlog.FieldStackFunc, fn, fn, typ),
				metlog.Strings(metlog.FieldStackFile, file),
				metlog.Ints(metlog.FieldStackLine, line, parent),
				metlog.Bools(metlog.FieldStackInApp, true),
				metlog.String(metlog.FieldMechanism, mech),
				metlog.Ints(metlog.FieldGoroutine, line),
				metlog.Strings(metlog.FieldFingerprint, key),
				metlog.String("http.url", value),
				metlog.String("http.headers."+key, value),
				metlog.String(key, value),
				metlog.String(metlog.FieldGoVersion, value),
			}}
		_, body, err := o.eventJSON(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := sentrytest.ValidateEvent(body); err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
	})
}
