package syslog

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/metlog/metlog/input"
)

// drainTimeout bounds how long a closing connection may wait to deliver
// what it had already read.
const drainTimeout = 5 * time.Second

// handshakeTimeout bounds a TLS handshake.
const handshakeTimeout = 10 * time.Second

// serveConn reads messages from conn until it ends, fails, idles out or
// the input stops, delivering them as it goes: a batch when it is full, and
// whatever was read before each wait for more input. Deliver waits while
// the journal is full, and so does the sender.
func (in *Input) serveConn(ctx context.Context, conn net.Conn, sink input.Sink) {
	// Deliveries outlive ctx by drainTimeout, so that what was read when
	// the input stops still reaches the journal.
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(drainTimeout, cancel) })
	defer stop()

	var tlsClient string
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
	src := input.SourceOf(conn.RemoteAddr())
	b := newBatch(in.cfg.Batch)
	deliver := func() bool {
		defer b.reset()
		if b.n == 0 {
			return true
		}
		if err := sink.Deliver(dctx, b.msgs[:b.n], input.DeliverOptions{}); err != nil {
			in.log.Warn("closing connection: cannot deliver", "from", conn.RemoteAddr(), "err", err)
			return false
		}
		in.counters.Received(b.n, b.size)
		return true
	}
	var deadlineSet time.Time
	f := newFramer(conn, in.cfg.MaxMessageSize, func() bool {
		if !deliver() {
			return false
		}
		if d := in.cfg.IdleTimeout.D(); d > 0 {
			// Moving a deadline is not free: move it only once a
			// sixteenth of the timeout has passed.
			if now := time.Now(); now.Sub(deadlineSet) >= d/16 {
				deadlineSet = now
				conn.SetReadDeadline(now.Add(d))
			}
		}
		return true
	})
	for {
		msg, truncated, err := f.next()
		if err != nil {
			var ne net.Error
			switch {
			case errors.Is(err, errStop):
				return
			case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			case errors.As(err, &ne) && ne.Timeout():
				in.log.Debug("closing idle connection", "from", conn.RemoteAddr())
			default:
				in.log.Debug("connection ends", "from", conn.RemoteAddr(), "err", err)
			}
			deliver()
			return
		}
		in.add(b, msg, truncated, src, tlsClient)
		if b.full() && !deliver() {
			return
		}
	}
}
