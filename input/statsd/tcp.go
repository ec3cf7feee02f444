package statsd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/statsd"
	"github.com/metlog/metlog/input"
)

// handshakeTimeout bounds a TLS handshake.
const handshakeTimeout = 10 * time.Second

// drainTimeout bounds how long a closing connection may wait to deliver
// what it had already read.
const drainTimeout = 5 * time.Second

// readSize is the least room a connection reads into.
const readSize = 64 << 10

// acceptTCP accepts connections until the listener is closed, serving each
// in its own goroutine, and waits for them.
func (in *Input) acceptTCP(ctx context.Context, sink input.Sink) error {
	return in.conns.Serve(ctx, in.TCP, func(conn net.Conn) { in.serveConn(ctx, conn, sink) })
}

// serveConn reads newline-separated lines from conn until it ends, fails,
// idles out or the input stops, delivering them as it goes: a batch when it
// is full, and whatever was read before each wait for more input. Deliver
// waits while the journal is full, and so does the sender.
func (in *Input) serveConn(ctx context.Context, conn net.Conn, sink input.Sink) {
	// Deliveries outlive ctx by drainTimeout, so that what was read when
	// the input stops still reaches the journal.
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(drainTimeout, cancel) })
	defer stop()

	tlsClient := ""
	src := input.SourceOf(conn.RemoteAddr())
	if tc, ok := input.TLSConn(conn); ok {
		hctx, hcancel := context.WithTimeout(ctx, handshakeTimeout)
		err := tc.HandshakeContext(hctx)
		hcancel()
		if err != nil {
			in.log.Debug("TLS handshake", "from", conn.RemoteAddr(), "err", err)
			return
		}
		cs := tc.ConnectionState()
		tlsClient = input.ClientName(&cs)
	}
	b := in.newRecorder()
	deliver := func() bool {
		msgs := b.batch()
		defer b.reset()
		if len(msgs) == 0 {
			return true
		}
		if tlsClient != "" {
			for _, m := range msgs {
				m.Fields = append(m.Fields, metlog.String(input.FieldTLSClient, tlsClient))
			}
		}
		if err := sink.Deliver(dctx, msgs, input.DeliverOptions{}); err != nil {
			in.log.Warn("closing connection: cannot deliver", "from", conn.RemoteAddr(), "err", err)
			return false
		}
		in.counters.Received(b.lines, b.size)
		return true
	}
	// add parses the whole lines of p; it returns false when delivery
	// failed.
	add := func(p []byte, now int64) bool {
		for line := range statsd.Lines(p) {
			if in.limiter != nil && !in.limiter.Allow(src, 1) {
				in.counters.Rejected(input.ReasonRateLimited)
				continue
			}
			b.add(line, now)
			if b.full() && !deliver() {
				return false
			}
		}
		return true
	}

	// A line of up to MaxLineSize bytes, its "\r" and "\n" fit in buf with
	// readSize to spare.
	buf := make([]byte, in.cfg.MaxLineSize+2+readSize)
	start, end := 0, 0 // buf[start:end] is read and not yet parsed
	skipping := false  // dropping the rest of a line over MaxLineSize
	var deadlineSet time.Time
	for {
		if start > 0 {
			end = copy(buf, buf[start:end])
			start = 0
		}
		if d := in.cfg.IdleTimeout.D(); d > 0 {
			// Moving a deadline is not free: move it only once a
			// sixteenth of the timeout has passed.
			if now := time.Now(); now.Sub(deadlineSet) >= d/16 {
				deadlineSet = now
				conn.SetReadDeadline(now.Add(d))
			}
		}
		n, err := conn.Read(buf[end:])
		now := time.Now().UnixNano()
		end += n
		if skipping {
			i := bytes.IndexByte(buf[start:end], '\n')
			if i < 0 {
				start, end = 0, 0
			} else {
				start += i + 1
				skipping = false
			}
		}
		if i := bytes.LastIndexByte(buf[start:end], '\n'); i >= 0 {
			if !add(buf[start:start+i+1], now) {
				return
			}
			start += i + 1
		}
		if end-start > in.cfg.MaxLineSize+1 { // +1: room for a "\r"
			in.reject(buf[start:end], errTooLarge)
			start, end, skipping = 0, 0, true
		}
		if err != nil {
			// The last line needs no newline.
			if errors.Is(err, io.EOF) && !skipping && !add(buf[start:end], now) {
				return
			}
			var ne net.Error
			switch {
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			case errors.As(err, &ne) && ne.Timeout():
				in.log.Debug("closing idle connection", "from", conn.RemoteAddr())
			default:
				in.log.Debug("connection ends", "from", conn.RemoteAddr(), "err", err)
			}
			deliver()
			return
		}
		if !deliver() {
			return
		}
	}
}
