package metlogjson

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/internal/cputime"
)

// benchInputs are a typical 250-byte message (a timer with fields), the
// nested one, and the 60 KB one.
var benchInputs = []struct{ name, file string }{
	{"timer-249B", "07-timer-context.json"},
	{"nested-255B", "01-metlog-basic.json"},
	{"big-60KB", "22-big-payload-60000.json"},
}

func BenchmarkDecode(b *testing.B) {
	for _, in := range benchInputs {
		data, err := os.ReadFile("testdata/" + in.file)
		if err != nil {
			b.Fatal(err)
		}
		// Into a reused message: what a router input does.
		b.Run(in.name+"/reused", func(b *testing.B) {
			var m metlog.Message
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Decode(data, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
		// Into a fresh message each time: every string allocated.
		b.Run(in.name+"/fresh", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				var m metlog.Message
				if err := Decode(data, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeMix decodes the small captures in turn into one message,
// so that consecutive messages differ as they do on a router's input.
func BenchmarkDecodeMix(b *testing.B) {
	var msgs [][]byte
	size := 0
	for _, file := range captures(b) {
		data, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		if len(data) < 1000 {
			msgs = append(msgs, data)
			size += len(data)
		}
	}
	var m metlog.Message
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := Decode(msgs[i], &m); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % len(msgs)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	for _, in := range benchInputs {
		data, err := os.ReadFile("testdata/" + in.file)
		if err != nil {
			b.Fatal(err)
		}
		m, err := Unmarshal(data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(in.name, func(b *testing.B) {
			buf := make([]byte, 0, 2*len(data))
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				buf = m.AppendJSON(buf[:0])
			}
		})
	}
}

func BenchmarkDecoder(b *testing.B) {
	data, err := os.ReadFile("testdata/07-timer-context.json")
	if err != nil {
		b.Fatal(err)
	}
	line := append(data, '\n')
	r := &repeatReader{line: line}
	d := NewDecoder(r)
	var m metlog.Message
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(&m); err != nil {
			b.Fatal(err)
		}
	}
}

// repeatReader reads line over and over.
type repeatReader struct {
	line []byte
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.line[r.off:])
		n += c
		r.off = (r.off + c) % len(r.line)
	}
	return n, nil
}

// routingLines returns n lines of the routing benchmark's load
// (bench/harness): oldstyle messages with one integer field, each payload
// carrying its own sequence number and padded with x to make the line 250
// bytes, newline included.
func routingLines(n int) [][]byte {
	m := metlog.Message{
		Timestamp: 1767323045000000000, Type: "oldstyle", Logger: "bench",
		Severity: metlog.Info, EnvVersion: "0.8", Pid: 4242, Hostname: "web1",
		Fields:  []metlog.Field{metlog.Int("status", 200)},
		Payload: "#s=0000000000 @t=1767323045123456789 ",
	}
	pad := strings.Repeat("x", 249-len(m.AppendJSON(nil)))
	lines := make([][]byte, n)
	for i := range lines {
		m.Payload = fmt.Sprintf("#s=%010d @t=1767323045123456789 %s", i, pad)
		lines[i] = append(m.AppendJSON(nil), '\n')
	}
	return lines
}

// BenchmarkDecodeRouting decodes routing lines, whose payloads differ as
// on a router's input: one at a time into a reused message, and from a
// stream as the TCP input reads them.
func BenchmarkDecodeRouting(b *testing.B) {
	lines := routingLines(1024)
	b.Run("line", func(b *testing.B) {
		var m metlog.Message
		b.SetBytes(int64(len(lines[0])))
		b.ReportAllocs()
		cpu := cputime.Now()
		i := 0
		for b.Loop() {
			if err := Decode(lines[i%len(lines)], &m); err != nil {
				b.Fatal(err)
			}
			i++
		}
		cpu.Report(b)
	})
	b.Run("stream", func(b *testing.B) {
		d := NewDecoderSize(&repeatReader{line: bytes.Join(lines, nil)}, 64<<10)
		var m metlog.Message
		b.SetBytes(int64(len(lines[0])))
		b.ReportAllocs()
		cpu := cputime.Now()
		for b.Loop() {
			if err := d.Decode(&m); err != nil {
				b.Fatal(err)
			}
		}
		cpu.Report(b)
	})
}

// BenchmarkRecordRouting turns a stream of routing lines into the records
// a router journals: decoded into a message and encoded (decode+encode),
// and transcoded by NextRecord (transcode); transcode-distinct gives each
// line a field value of its own, so that no line is like the one before
// (see NextRecord).
func BenchmarkRecordRouting(b *testing.B) {
	stream := bytes.Join(routingLines(1024), nil)
	var distinct []byte
	for i, line := range routingLines(1024) {
		distinct = append(distinct, bytes.Replace(line, []byte(`"status": 200`), fmt.Appendf(nil, `"status": %d`, 200+i), 1)...)
	}
	id := metlog.UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	b.Run("decode+encode", func(b *testing.B) {
		d := NewDecoderSize(&repeatReader{line: stream}, 64<<10)
		var m metlog.Message
		var rec []byte
		b.SetBytes(int64(len(stream) / 1024))
		b.ReportAllocs()
		cpu := cputime.Now()
		for b.Loop() {
			if err := d.Decode(&m); err != nil {
				b.Fatal(err)
			}
			m.UUID = id
			rec = m.AppendProtobuf(rec[:0])
		}
		cpu.Report(b)
	})
	transcode := func(stream []byte) func(b *testing.B) {
		return func(b *testing.B) {
			d := NewDecoderSize(&repeatReader{line: stream}, 64<<10)
			var m metlog.Message
			var rec []byte
			b.SetBytes(int64(len(stream) / 1024))
			b.ReportAllocs()
			cpu := cputime.Now()
			for b.Loop() {
				var decoded bool
				var err error
				if rec, decoded, err = d.NextRecord(rec[:0], &m, id, 1); err != nil || decoded {
					b.Fatal(err, decoded)
				}
			}
			cpu.Report(b)
		}
	}
	b.Run("transcode", transcode(stream))
	b.Run("transcode-distinct", transcode(distinct))
}
