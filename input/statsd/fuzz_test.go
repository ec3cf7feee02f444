package statsd

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/statsd"
)

// FuzzTCPFraming checks that a TCP stream, however it is cut into reads,
// gives the messages and rejections of its lines taken one by one: lines
// over max_line_size rejected as too_large, the others parsed.
func FuzzTCPFraming(f *testing.F) {
	f.Add([]byte(tcpStream), uint8(1))
	f.Add([]byte(tcpStream), uint8(7))
	f.Add([]byte("a:1|c\r\n"+strings.Repeat("x", 40)+"\nb:2|c"), uint8(5))
	f.Add([]byte("a:1|c\r"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		const maxLine = 16
		cfg := Defaults()
		cfg.MaxLineSize = maxLine
		cfg.Batch = 4

		// The lines taken one by one.
		var want []string
		var tooLarge, malformed uint64
		var m statsd.Metric
		for line := range statsd.Lines(data) {
			switch {
			case len(line) > maxLine:
				tooLarge++
			case statsd.Parse(line, &m) != nil:
				malformed++
			default:
				want = append(want, string(m.Name)+" "+string(m.Value))
			}
		}

		in := testInput(cfg)
		sink := newLineSink(false)
		server, client := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer server.Close()
			in.serveConn(context.Background(), server, sink)
		}()
		step := int(chunk%32) + 1
		for p := data; len(p) > 0; {
			n := min(step, len(p))
			if _, err := client.Write(p[:n]); err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		client.Close()
		<-done

		got := sink.Messages()
		if len(got) != len(want) {
			t.Fatalf("%d messages, want %d", len(got), len(want))
		}
		for i, m := range got {
			if s := m.Fields[0].Strings[0] + " " + m.Payload; s != want[i] {
				t.Fatalf("message %d: %q, want %q", i, s, want[i])
			}
		}
		s := in.counters.Snapshot()
		if s.Rejected["too_large"] != tooLarge || s.Rejected["malformed"] != malformed {
			t.Fatalf("rejected %v, want too_large %d, malformed %d", s.Rejected, tooLarge, malformed)
		}
	})
}

// FuzzExpand checks that any record payload (a journal may be damaged or
// written by something else) expands without panicking, into no more
// messages than it has good lines, the same however it is resumed.
func FuzzExpand(f *testing.F) {
	f.Add("a:1|c\nb:2|ms|@0.5|#k:v\n\nnot a line\nc:+3|g", 0, 2)
	f.Add("x:1|c|T1700000000", 1, 0)
	f.Add("", 0, 0)
	f.Fuzz(func(t *testing.T, payload string, from, max int) {
		from, max = from%64, max%64
		rec := &metlog.Message{Type: RecordType, Payload: payload, UUID: metlog.UUID{1, 2, 3}}
		good := 0
		var m statsd.Metric
		for line := range statsd.Lines([]byte(payload)) {
			if statsd.Parse(line, &m) == nil {
				good++
			}
		}
		all, next := NewExpander().Expand(nil, rec, 0, 0)
		if next != -1 || len(all) > good+strings.Count(payload, "\r") {
			t.Fatalf("%d messages from %d good lines, next %d", len(all), good, next)
		}
		if from < 0 || max < 0 {
			return
		}
		e := NewExpander()
		var parts []*metlog.Message
		for at := from; at >= 0; {
			n := len(parts)
			parts, at = e.Expand(parts, rec, at, max)
			if at >= 0 && len(parts) == n {
				t.Fatalf("no progress at line %d", at)
			}
		}
		if from == 0 && len(parts) != len(all) {
			t.Fatalf("resumed: %d messages, at once: %d", len(parts), len(all))
		}
	})
}
