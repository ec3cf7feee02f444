package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
)

// Markers in every generated payload: a sequence number (seqDigits
// decimal digits) and the send time in ns since the epoch (timeDigits
// digits). A tail of the output finds them whatever the output's format
// does to the rest of the line.
const (
	seqMarker  = "#s="
	timeMarker = "@t="
	seqDigits  = 10
	timeDigits = 19
)

// lineMaker writes metlog JSON lines of one size whose payload carries a
// sequence number and a send time, filled in place.
type lineMaker struct {
	tmpl          []byte // one line, newline included
	seqAt, timeAt int    // where the digits go
}

// newLineMaker returns a maker of lines of size bytes, newline included;
// a size too small for the envelope gives the smallest line possible.
func newLineMaker(size int) *lineMaker {
	m := &metlog.Message{
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano(), Type: "oldstyle", Logger: "bench",
		Severity: metlog.Info, EnvVersion: "0.8", Pid: 4242, Hostname: "web1",
		Fields: []metlog.Field{metlog.Int("status", 200)},
	}
	m.Payload = seqMarker + strings.Repeat("0", seqDigits) + " " + timeMarker + strings.Repeat("0", timeDigits) + " "
	pad := max(0, size-1-len(m.AppendJSON(nil)))
	m.Payload += strings.Repeat("x", pad)
	line := append(m.AppendJSON(nil), '\n')
	return &lineMaker{
		tmpl:   line,
		seqAt:  bytes.Index(line, []byte(seqMarker)) + len(seqMarker),
		timeAt: bytes.Index(line, []byte(timeMarker)) + len(timeMarker),
	}
}

// appendLine appends a line with the given sequence number and send time.
func (m *lineMaker) appendLine(dst []byte, seq uint64, sent int64) []byte {
	n := len(dst)
	dst = append(dst, m.tmpl...)
	putDigits(dst[n+m.seqAt:n+m.seqAt+seqDigits], seq)
	if sent != 0 {
		putDigits(dst[n+m.timeAt:n+m.timeAt+timeDigits], uint64(sent))
	}
	return dst
}

// putDigits writes v in decimal right-aligned in b, zero-padded.
func putDigits(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// parseDigits reads the fixed-width number after marker in line; ok is
// false when the marker is missing or not followed by n digits.
func parseDigits(line []byte, marker string, n int) (uint64, bool) {
	i := bytes.Index(line, []byte(marker))
	if i < 0 || i+len(marker)+n > len(line) {
		return 0, false
	}
	var v uint64
	for _, c := range line[i+len(marker) : i+len(marker)+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// tcpLoad sends generated lines over TCP connections.
type tcpLoad struct {
	addr  string
	conns int
	// total is how many lines to send in all; 0 sends until the deadline.
	total uint64
	// rate is lines per second in all; 0 sends as fast as the connections
	// take them.
	rate     float64
	deadline time.Time
	maker    *lineMaker
	// stamp puts the send time into every line.
	stamp bool
	// sent counts lines written to the sockets so far.
	sent atomic.Uint64
}

// writeChunk is how much a connection buffers before writing.
const writeChunk = 256 << 10

// run sends until total lines are sent, the deadline passes or ctx ends
// (which cuts a write short); it returns the first connection error. Connection k sends sequence
// numbers k, k+conns, k+2·conns, …
func (l *tcpLoad) run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, l.conns)
	start := time.Now()
	for k := range l.conns {
		wg.Go(func() { errs[k] = l.conn(ctx, k, start) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (l *tcpLoad) conn(ctx context.Context, k int, start time.Time) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", l.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	context.AfterFunc(ctx, func() { c.SetWriteDeadline(time.Now()) })
	buf := make([]byte, 0, writeChunk+len(l.maker.tmpl))
	pending := uint64(0)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if _, err := c.Write(buf); err != nil {
			return err
		}
		l.sent.Add(pending)
		buf, pending = buf[:0], 0
		return nil
	}
	perConn := l.rate / float64(l.conns)
	var i uint64 // lines this connection sent
	for seq := uint64(k); l.total == 0 || seq < l.total; {
		if i%64 == 0 && (ctx.Err() != nil || time.Now().After(l.deadline)) {
			break
		}
		// At a set rate, send what is due, then sleep a millisecond: lines
		// leave in small batches close to their stamped time.
		if perConn > 0 && i >= uint64(time.Since(start).Seconds()*perConn) {
			if err := flush(); err != nil {
				return ignoreDeadline(ctx, err)
			}
			if ctx.Err() != nil || time.Now().After(l.deadline) {
				break
			}
			time.Sleep(time.Millisecond)
			continue
		}
		var ts int64
		if l.stamp {
			ts = time.Now().UnixNano()
		}
		buf = l.maker.appendLine(buf, seq, ts)
		pending++
		i++
		seq += uint64(l.conns)
		if len(buf) >= writeChunk {
			if err := flush(); err != nil {
				return ignoreDeadline(ctx, err)
			}
		}
	}
	return ignoreDeadline(ctx, flush())
}

// ignoreDeadline drops the error of a write cut short by the end of the
// run.
func ignoreDeadline(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}

// statsdLoad sends statsd lines, several per datagram, from one UDP
// socket.
type statsdLoad struct {
	addr string
	// rate is lines per second; 0 sends as fast as the socket takes them.
	rate     float64
	duration time.Duration
	// perDatagram lines in each datagram; names distinct metric names,
	// half counters and half timers.
	perDatagram, names int
	// sent counts lines in datagrams the kernel accepted.
	sent atomic.Uint64
}

// datagrams builds the payloads the load cycles through.
func (l *statsdLoad) datagrams() [][]byte {
	var out [][]byte
	n := 0
	for len(out) == 0 || n%l.names != 0 {
		var b []byte
		for j := range l.perDatagram {
			name := n % l.names
			if j > 0 {
				b = append(b, '\n')
			}
			if name%2 == 0 {
				b = fmt.Appendf(b, "bench.requests.%d:1|c", name)
			} else {
				b = fmt.Appendf(b, "bench.latency.%d:%d|ms", name, 1+n%997)
			}
			n++
		}
		out = append(out, b)
	}
	return out
}

// run sends for the duration or until ctx ends.
func (l *statsdLoad) run(ctx context.Context) error {
	c, err := net.Dial("udp", l.addr)
	if err != nil {
		return err
	}
	defer c.Close()
	dgrams := l.datagrams()
	start := time.Now()
	end := start.Add(l.duration)
	per := uint64(l.perDatagram)
	perSecond := l.rate / float64(l.perDatagram)
	// At a set rate, a sender that fell behind (it was not scheduled)
	// catches up by at most 5ms worth of datagrams: the offered load stays
	// smooth, and what it could not send is not counted as sent.
	burst := uint64(perSecond*0.005) + 1
	var i, skipped uint64 // datagrams sent, and not sent for being late
	for {
		if i%64 == 0 {
			if ctx.Err() != nil || time.Now().After(end) {
				return nil
			}
		}
		if l.rate > 0 {
			due := uint64(time.Since(start).Seconds()*perSecond) - skipped
			if due > i+burst {
				skipped += due - i - burst
			}
			if i >= due {
				if time.Now().After(end) || ctx.Err() != nil {
					return nil
				}
				time.Sleep(time.Millisecond)
				continue
			}
		}
		if _, err := c.Write(dgrams[i%uint64(len(dgrams))]); err == nil {
			l.sent.Add(per)
		} else if !isNoBuffers(err) {
			return err
		}
		i++
	}
}

// isNoBuffers reports a transient ENOBUFS from a flooded socket.
func isNoBuffers(err error) bool {
	return strings.Contains(err.Error(), "no buffer space")
}

// formatCount writes n with thousands separators.
func formatCount(n float64) string {
	s := strconv.FormatInt(int64(math.Round(n)), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
