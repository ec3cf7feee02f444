package metlog

import (
	"math"
	"time"
	"testing"
)

// ts parses an RFC 3339 timestamp for the tests.
func ts(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixNano()
}

func TestAppendJSONCaptures(t *testing.T) {
	tests := []struct {
		name string
		msg  func(t *testing.T) *Message
		want string
	}{
		{
			name: "01-metlog-basic",
			msg: func(t *testing.T) *Message {
				return &Message{
					Severity: 6, Timestamp: ts(t, "2026-11-22T01:49:29.187659Z"), Hostname: "vm",
					Fields: []Field{Int("a", 1), String("nested.b", "[1, 2.5, null, true]").WithRepresentation(RepresentationJSON)},
					Pid:    18208, Logger: "interop-app", Type: "custom", Payload: "hello world", EnvVersion: "0.8",
				}
			},
			want: `{"severity": 6, "timestamp": "2026-11-22T01:49:29.187659Z", "metlog_hostname": "vm", "fields": {"a": 1, "nested": {"b": [1, 2.5, null, true]}}, "metlog_pid": 18208, "logger": "interop-app", "type": "custom", "payload": "hello world", "env_version": "0.8"}`,
		},
		{
			name: "17-unicode-payload",
			msg: func(t *testing.T) *Message {
				return &Message{
					Severity: 6, Timestamp: ts(t, "2026-11-22T01:49:30.214360Z"), Hostname: "vm",
					Fields: []Field{String("k\u00e9y", "v\u2603")},
					Pid:    18208, Logger: "interop-app", Type: "unicode", Payload: "caf\u00e9 \u2603 \U0001f600", EnvVersion: "0.8",
				}
			},
			want: `{"severity": 6, "timestamp": "2026-11-22T01:49:30.214360Z", "metlog_hostname": "vm", "fields": {"k\u00e9y": "v\u2603"}, "metlog_pid": 18208, "logger": "interop-app", "type": "unicode", "payload": "caf\u00e9 \u2603 \ud83d\ude00", "env_version": "0.8"}`,
		},
		{
			name: "30-procinfo-shape-synthetic",
			msg: func(t *testing.T) *Message {
				return &Message{
					Severity: 5, Timestamp: ts(t, "2026-11-22T01:49:33.254360Z"), Hostname: "vm",
					Fields: []Field{String("logger", "psutil.meminfo.vm.18208"), String("name", "rss"), String("rate", "1"),
						String(PayloadTypeField, "json").WithRepresentation(RepresentationJSON)},
					Pid: 18208, Logger: "ini-app", Type: "procinfo", Payload: "12345678", EnvVersion: "0.8",
				}
			},
			want: `{"severity": 5, "timestamp": "2026-11-22T01:49:33.254360Z", "metlog_hostname": "vm", "fields": {"logger": "psutil.meminfo.vm.18208", "name": "rss", "rate": "1"}, "metlog_pid": 18208, "logger": "ini-app", "type": "procinfo", "payload": 12345678, "env_version": "0.8"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(tt.msg(t).AppendJSON(nil))
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
	_ = math.NaN
}
