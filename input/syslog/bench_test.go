package syslog

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input"
)

// countSink counts what it is handed and keeps nothing.
type countSink struct{ n int }

func (s *countSink) Deliver(_ context.Context, msgs []*metlog.Message, _ input.DeliverOptions) error {
	s.n += len(msgs)
	return nil
}

// BenchmarkTCP measures a connection's read, framing, parsing and
// batching, per message, with a sink that keeps nothing.
func BenchmarkTCP(b *testing.B) {
	for _, tt := range []struct{ name, msg string }{
		{"rfc5424-octet", "<165>1 2026-11-22T04:59:59.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut=\"3\"] An application event log entry"},
		{"rfc3164-newline", "<13>Nov 22 04:59:59 vm sshd[1234]: Accepted publickey for alice from 10.0.0.1 port 52144 ssh2"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			var frame []byte
			if tt.name == "rfc5424-octet" {
				frame = []byte(strconv.Itoa(len(tt.msg)) + " " + tt.msg)
			} else {
				frame = []byte(tt.msg + "\n")
			}
			const perWrite = 256
			var chunk []byte
			for range perWrite {
				chunk = append(chunk, frame...)
			}
			cfg := testConfig()
			in := &Input{cfg: cfg, log: discardLog(), parser: newTestParser(cfg)}
			server, client := net.Pipe()
			sink := &countSink{}
			done := make(chan struct{})
			go func() {
				defer close(done)
				in.serveConn(context.Background(), server, sink)
			}()
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += perWrite {
				if _, err := client.Write(chunk[:min(perWrite, b.N-i)*len(frame)]); err != nil {
					b.Fatal(err)
				}
			}
			client.Close()
			<-done
			b.StopTimer()
			if sink.n != b.N {
				b.Fatalf("%d messages, want %d", sink.n, b.N)
			}
		})
	}
}
