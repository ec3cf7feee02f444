package syslog

import (
	"testing"
	"time"

	"github.com/metlog/metlog"
)

func BenchmarkParse(b *testing.B) {
	lines := []struct{ name, line string }{
		{"rfc3164", "<13>Nov 22 04:59:59 vm sshd[1234]: Accepted publickey for alice from 10.0.0.1 port 52144 ssh2"},
		{"rfc5424", "<165>1 2026-11-22T04:59:59.003Z mymachine.example.com evntslog - ID47 - An application event log entry"},
		{"rfc5424-sd", `<165>1 2026-11-22T04:59:59.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry`},
	}
	p := &Parser{Now: func() time.Time { return testNow }}
	for _, l := range lines {
		b.Run(l.name, func(b *testing.B) {
			line := []byte(l.line)
			var m metlog.Message
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Parse(line, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	m := metlog.Message{Timestamp: testNow.UnixNano(), Severity: metlog.Info, Hostname: "vm", Logger: "app", Pid: 1234,
		Payload: "Accepted publickey for alice from 10.0.0.1 port 52144 ssh2",
		Fields:  []metlog.Field{metlog.String("facility", "local4"), metlog.String("x@1.a", "b")}}
	var buf []byte
	b.Run("rfc5424", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h := HeaderOf(&m, User)
			buf = AppendRFC5424(buf[:0], &h, m.Fields, m.Payload)
		}
	})
	b.Run("rfc3164", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h := HeaderOf(&m, User)
			buf = AppendRFC3164(buf[:0], &h, time.UTC, m.Payload)
		}
	})
}
