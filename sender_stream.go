package metlog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"
)

// Reconnect backoff of the stream senders: the wait doubles from
// minBackoff up to maxBackoff, with ±25% jitter so that many clients of
// one router do not reconnect in step.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// streamSender writes batches to a TCP or Unix stream socket, one write
// per batch. It connects lazily; after a failure it waits out a backoff
// before dialling again, failing batches immediately meanwhile, so a dead
// router never holds up the client's sender goroutine for long.
//
//	no conn ──now ≥ retryAt──▶ dial ──ok──▶ connected ──write error──▶ no conn
//	   ▲   └─now < retryAt: fail batch          │ dial error                 │
//	   └────────── retryAt = now + backoff ◀────┴────────────────────────────┘
type streamSender struct {
	network, addr string
	tls           *tls.Config // nil: plain TCP
	format        wireFormat
	conn          net.Conn
	buf           []byte
	ends          []int // end offset in buf of each encoded message
	backoff       time.Duration
	retryAt       time.Time
	now           func() time.Time // for the backoff; a test seam
}

// errBackoff is the cause of batches failed while waiting to reconnect.
var errBackoff = errors.New("not connected; waiting to reconnect")

func newStreamSender(network, addr string, f wireFormat) *streamSender {
	return &streamSender{network: network, addr: addr, format: f, now: time.Now}
}

// Send encodes the batch into one buffer and writes it.
func (s *streamSender) Send(ctx context.Context, msgs []*Message) error {
	if s.conn == nil {
		if err := s.connect(ctx); err != nil {
			return &SendError{Failed: len(msgs), Err: err}
		}
	}
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	var first error
	failed := 0
	for _, m := range msgs {
		var err error
		s.buf, err = appendEncoded(s.buf, m, s.format, true)
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
			continue
		}
		s.ends = append(s.ends, len(s.buf))
	}
	if len(s.buf) > 0 {
		n, err := s.write(ctx)
		if err != nil {
			written := 0
			for _, end := range s.ends {
				if end <= n {
					written++
				}
			}
			failed += len(s.ends) - written
			if first == nil {
				first = err
			}
			s.disconnect()
		} else {
			s.backoff = 0
		}
	}
	if cap(s.buf) > 4<<20 {
		s.buf = nil
	}
	if failed > 0 {
		return &SendError{Failed: failed, Err: first}
	}
	return nil
}

// write writes s.buf with a deadline, cut short when ctx is done.
func (s *streamSender) write(ctx context.Context) (int, error) {
	deadline := time.Now().Add(writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn := s.conn
	conn.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	return conn.Write(s.buf)
}

// connect dials unless still backing off from a failure.
func (s *streamSender) connect(ctx context.Context) error {
	if now := s.now(); now.Before(s.retryAt) {
		return fmt.Errorf("%s %s: %w (%v left)", s.network, s.addr, errBackoff,
			s.retryAt.Sub(now).Round(time.Millisecond))
	}
	var conn net.Conn
	var err error
	if s.tls != nil {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: dialTimeout}, Config: s.tls}
		conn, err = d.DialContext(ctx, s.network, s.addr)
	} else {
		d := net.Dialer{Timeout: dialTimeout}
		conn, err = d.DialContext(ctx, s.network, s.addr)
	}
	if err != nil {
		s.scheduleRetry()
		return err
	}
	s.conn = conn
	// Reads only tell us that the router went away; the writes will
	// notice that too, so nothing is read. A router never sends to an
	// unacknowledged client.
	if c, ok := conn.(interface{ CloseRead() error }); ok {
		c.CloseRead()
	}
	return nil
}

func (s *streamSender) disconnect() {
	s.conn.Close()
	s.conn = nil
	s.scheduleRetry()
}

// scheduleRetry sets when the next dial may happen, doubling the backoff.
func (s *streamSender) scheduleRetry() {
	switch {
	case s.backoff == 0:
		s.backoff = minBackoff
	case s.backoff < maxBackoff:
		s.backoff = min(2*s.backoff, maxBackoff)
	}
	jitter := time.Duration(rand.Int64N(int64(s.backoff)/2)) - s.backoff/4
	s.retryAt = s.now().Add(s.backoff + jitter)
}

func (s *streamSender) Close() error {
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// writerSender appends batches to a file or standard output, one write per
// batch.
type writerSender struct {
	w      io.Writer
	closer io.Closer // nil for standard output, which it does not close
	format wireFormat
	buf    []byte
}

func newWriterSender(w io.WriteCloser, closeIt bool, f wireFormat) *writerSender {
	s := &writerSender{w: w, format: f}
	if closeIt {
		s.closer = w
	}
	return s
}

func (s *writerSender) Send(_ context.Context, msgs []*Message) error {
	s.buf = s.buf[:0]
	var first error
	failed := 0
	for _, m := range msgs {
		var err error
		s.buf, err = appendEncoded(s.buf, m, s.format, true)
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return err
	}
	if cap(s.buf) > 4<<20 {
		s.buf = nil
	}
	if failed > 0 {
		return &SendError{Failed: failed, Err: first}
	}
	return nil
}

func (s *writerSender) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}
