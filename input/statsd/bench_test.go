package statsd

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/statsd"
	"github.com/metlog/metlog/input"
)

// benchDatagrams returns n datagrams of 100 lines each over 1,000 names,
// half counters (some sampled) and half timers.
func benchDatagrams(n int) [][]byte {
	out := make([][]byte, n)
	k := 0
	for i := range out {
		var d []byte
		for range 100 {
			name := k * 7919 % 1000
			if k%2 == 0 {
				d = fmt.Appendf(d, "app.requests.endpoint_%d:1|c", name)
				if k%6 == 0 {
					d = append(d, "|@0.1"...)
				}
			} else {
				d = fmt.Appendf(d, "app.latency.endpoint_%d:%d|ms", name, k%997)
			}
			d = append(d, '\n')
			k++
		}
		out[i] = d
	}
	return out
}

// BenchmarkBuild is the cost of a line from bytes to a complete message,
// without sockets.
func BenchmarkBuild(b *testing.B) {
	in := testInput(Defaults())
	bld := testBuilder(in, 65536)
	ds := benchDatagrams(100)
	b.ReportAllocs()
	lines := 0
	for i := 0; b.Loop(); i++ {
		for line := range statsd.Lines(ds[i%len(ds)]) {
			bld.add(line, now)
		}
		lines += len(bld.batch())
		bld.reset()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(lines), "ns/line")
}

// countSink counts what it is given and notes the end marker, a set; with
// encode, it also does what the router's sink does with each message:
// give it a UUID and append its protobuf encoding to a reused buffer.
type countSink struct {
	encode bool
	lines  atomic.Int64
	ended  chan struct{}
	end    sync.Once
	buf    []byte
	uuids  *metlog.UUIDGenerator
}

func (s *countSink) Deliver(_ context.Context, msgs []*metlog.Message, _ input.DeliverOptions) error {
	if s.encode {
		s.buf = s.buf[:0]
		for _, m := range msgs {
			if m.UUID.IsZero() {
				m.UUID = s.uuids.New(m.Timestamp)
			}
			s.buf = m.AppendProtobuf(s.buf)
		}
	}
	n := 0
	for _, m := range msgs {
		if m.Type == "set" {
			s.end.Do(func() { close(s.ended) })
		} else {
			n++
		}
	}
	s.lines.Add(int64(n))
	return nil
}

var benchSinks = []struct {
	name   string
	encode bool
}{{"discard", false}, {"protobuf", true}}

// sender writes datagrams to addr in batches of up to 64 per system call
// (sendmmsg on Linux).
type sender struct {
	pc  *ipv4.PacketConn
	buf []ipv4.Message
}

func newSender(b *testing.B, addr net.Addr) *sender {
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return &sender{pc: ipv4.NewPacketConn(c.(*net.UDPConn)), buf: make([]ipv4.Message, 64)}
}

func (s *sender) send(b *testing.B, ds [][]byte) {
	for len(ds) > 0 {
		n := min(len(ds), len(s.buf))
		for i := range n {
			s.buf[i].Buffers = ds[i : i+1]
		}
		k, err := s.pc.WriteBatch(s.buf[:n], 0)
		if err != nil {
			b.Fatal(err)
		}
		ds = ds[k:]
	}
}

// endInput sends the end marker until the sink sees it: every datagram
// sent before it has then been read or dropped.
func endInput(b *testing.B, s *sender, sink *countSink) {
	marker := [][]byte{[]byte("end:x|s")}
	for {
		s.send(b, marker)
		select {
		case <-sink.ended:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// BenchmarkUDPSaturation sends datagrams of 100 lines over loopback as
// fast as one goroutine can and reports how many lines per second the
// input turns into messages (lines/s) and what share was lost (lost%,
// counted by the input as dropped datagrams). One op is one datagram
// sent.
func BenchmarkUDPSaturation(b *testing.B) {
	ds := benchDatagrams(1000)
	for _, bs := range benchSinks {
		b.Run(bs.name, func(b *testing.B) {
			sink := &countSink{encode: bs.encode, ended: make(chan struct{}), uuids: metlog.NewUUIDGenerator()}
			in, stop := start(b, Defaults(), sink, false)
			s := newSender(b, in.Addr())
			b.ResetTimer()
			for sent := 0; sent < b.N; {
				n := min(b.N-sent, len(ds))
				s.send(b, ds[:n])
				sent += n
			}
			endInput(b, s, sink)
			b.StopTimer()
			stop()
			report(b, sink, in, int64(b.N)*100)
		})
	}
}

// BenchmarkUDPOffered1M offers 1,000,000 lines per second: every
// millisecond, 10 datagrams of 100 lines. One op is one millisecond of
// traffic; run it with -benchtime 3000x for three seconds. It reports the
// lines lost (lost, lost%).
func BenchmarkUDPOffered1M(b *testing.B) {
	ds := benchDatagrams(1000)
	for _, bs := range benchSinks {
		b.Run(bs.name, func(b *testing.B) {
			sink := &countSink{encode: bs.encode, ended: make(chan struct{}), uuids: metlog.NewUUIDGenerator()}
			in, stop := start(b, Defaults(), sink, false)
			s := newSender(b, in.Addr())
			b.ResetTimer()
			begin := time.Now()
			for i := range b.N {
				// Pace by the clock: a late tick is made up at once.
				if d := time.Until(begin.Add(time.Duration(i) * time.Millisecond)); d > 0 {
					time.Sleep(d)
				}
				j := i * 10 % len(ds)
				s.send(b, ds[j:j+10])
			}
			endInput(b, s, sink)
			b.StopTimer()
			stop()
			report(b, sink, in, int64(b.N)*1000)
		})
	}
}

func report(b *testing.B, sink *countSink, in *Input, sent int64) {
	got := sink.lines.Load()
	b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(sent-got), "lost")
	b.ReportMetric(100*float64(sent-got)/float64(sent), "lost%")
	if s := in.Counters().Snapshot(); s.Rejected["malformed"] != 0 {
		b.Errorf("rejected %v", s.Rejected)
	}
}

// BenchmarkTCP sends lines over one TCP connection as fast as it goes; one
// op is one line.
func BenchmarkTCP(b *testing.B) {
	ds := benchDatagrams(1000)
	for _, bs := range benchSinks {
		b.Run(bs.name, func(b *testing.B) {
			sink := &countSink{encode: bs.encode, ended: make(chan struct{}), uuids: metlog.NewUUIDGenerator()}
			in, stop := start(b, Defaults(), sink, true)
			c, err := net.Dial("tcp", in.TCPAddr().String())
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for sent := 0; sent < b.N; sent += 100 {
				if _, err := c.Write(ds[sent/100%len(ds)]); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := c.Write([]byte("end:x|s\n")); err != nil {
				b.Fatal(err)
			}
			<-sink.ended
			b.StopTimer()
			c.Close()
			stop()
			report(b, sink, in, int64((b.N+99)/100*100))
		})
	}
}
