package match

import (
	"math"

	"github.com/metlog/metlog"
)

// The messages the tables and fuzz targets match against.

const testUUID = "0190d3e4-7c1a-7b3e-8f00-0123456789ab"

// hekaMessage has the shape of the message Heka's own matcher tests use:
// its headers and fields, repeated "foo" included.
func hekaMessage() *metlog.Message {
	u, err := metlog.ParseUUID(testUUID)
	if err != nil {
		panic(err)
	}
	return &metlog.Message{
		UUID:       u,
		Timestamp:  1700000000123456789, // 2023-11-14T22:13:20.123456789Z
		Type:       "TEST",
		Logger:     "GoSpec",
		Severity:   metlog.Info,
		Payload:    "Test Payload",
		EnvVersion: "0.8",
		Pid:        14098,
		Hostname:   "example.host",
		Fields: []metlog.Field{
			metlog.String("foo", "bar"),
			metlog.Int("number", 64),
			metlog.Bytes("bytes", []byte("data")),
			metlog.Ints("int", 999, 1024),
			metlog.Float("double", 99.9),
			metlog.Bool("bool", true),
			metlog.String("foo", "alternate"),
			metlog.String("Payload", "name=test;type=web;"),
			metlog.String("Timestamp", "Mon Jan 02 15:04:05 -0700 2006").WithRepresentation("date-time"),
			metlog.Int("zero", 0),
			metlog.String("string", "43"),
		},
	}
}

// timerMessage is a metlog timer with the fields the design's example
// expression tests, plus the awkward cases: dotted, spaced and empty names,
// arrays, big integers, NaN, negative zero and invalid UTF-8.
func timerMessage() *metlog.Message {
	return &metlog.Message{
		Timestamp:  -1500000000, // before the epoch
		Type:       "timer",
		Logger:     "app",
		Severity:   metlog.Warning,
		Payload:    "12",
		EnvVersion: "0.8",
		Pid:        -1,
		Hostname:   "web-1.example.com",
		Fields: []metlog.Field{
			metlog.String("name", "db.query"),
			metlog.Float("rate", 1),
			metlog.String("headers.path", "/api/v1/users"),
			metlog.String("user agent", "curl/8.5"),
			metlog.String("", "anonymous"),
			metlog.Bools("flags", true, false),
			metlog.Floats("doubles", 1.5, math.NaN(), math.Copysign(0, -1)),
			metlog.Ints("big", 9007199254740993, math.MaxInt64, math.MinInt64),
			metlog.Int("neg", -5),
			metlog.Bytes("raw", []byte("\xff\xfeabc")),
			metlog.String("quote", `it's "quoted" \ here`),
			metlog.String("unicode", "café ☕"),
			metlog.Strings("tags", "a", "b", "c"),
			metlog.Strings("empty"),
			metlog.String("json", `{"a":1}`).WithRepresentation(metlog.RepresentationJSON),
			metlog.String("name", "second name"),
		},
	}
}

// emptyMessage is the zero message.
func emptyMessage() *metlog.Message { return &metlog.Message{} }

var testMessages = map[string]func() *metlog.Message{
	"heka":  hekaMessage,
	"timer": timerMessage,
	"empty": emptyMessage,
}

// fuzzMessages are every test message, for the fuzz targets.
func fuzzMessages() []*metlog.Message {
	return []*metlog.Message{hekaMessage(), timerMessage(), emptyMessage()}
}
