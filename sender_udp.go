package metlog

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// udpSender writes one message per datagram on a connected UDP socket. A
// connected socket lets the kernel report a router that is not listening
// (ECONNREFUSED), which counts as a failure like any other.
type udpSender struct {
	network, addr string
	format        wireFormat
	conn          net.Conn
	buf           []byte
}

func newUDPSender(network, addr string, f wireFormat) *udpSender {
	return &udpSender{network: network, addr: addr, format: f}
}

// Send writes every message as its own datagram, all in one wakeup.
func (s *udpSender) Send(ctx context.Context, msgs []*Message) error {
	if s.conn == nil {
		d := net.Dialer{Timeout: dialTimeout}
		conn, err := d.DialContext(ctx, s.network, s.addr)
		if err != nil {
			return err
		}
		s.conn = conn
	}
	deadline := time.Now().Add(writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	s.conn.SetWriteDeadline(deadline)
	var first error
	failed := 0
	fail := func(err error) {
		failed++
		if first == nil {
			first = err
		}
	}
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			failed += len(msgs) - i
			if first == nil {
				first = err
			}
			break
		}
		var err error
		s.buf, err = appendEncoded(s.buf[:0], m, s.format, false)
		if err != nil {
			fail(err)
			continue
		}
		if len(s.buf) > maxDatagram {
			fail(errTooLarge)
			continue
		}
		if _, err := s.conn.Write(s.buf); err != nil {
			fail(err)
			if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.EMSGSIZE) {
				// Timeouts and anything unexpected: start afresh next
				// batch (the name may resolve elsewhere by then).
				s.conn.Close()
				s.conn = nil
				failed += len(msgs) - i - 1
				break
			}
		}
	}
	if cap(s.buf) > 1<<20 {
		s.buf = nil // do not keep one huge message's buffer
	}
	if failed > 0 {
		return &SendError{Failed: failed, Err: first}
	}
	return nil
}

func (s *udpSender) Close() error {
	if s.conn == nil {
		return nil
	}
	return s.conn.Close()
}
