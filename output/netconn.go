package output

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"
)

// LineConn is the client side of a plaintext line protocol that the server
// never answers, such as carbon's or statsd's: it dials on the first Send,
// writes each batch of newline-terminated lines with a deadline, and drops
// the connection on any error so that the next Send dials again.
//
// On TCP a batch is one write. On UDP it is packed into as few datagrams
// of at most MaxDatagram bytes as its lines fit; a line is never split, so
// a longer one goes alone in a datagram of its own.
//
// A LineConn is not safe for concurrent use: the output that owns it
// serialises its calls.
type LineConn struct {
	// Network is "tcp" or "udp".
	Network string
	// Address is the server's host:port.
	Address string
	// Timeout bounds connecting and writing one batch.
	Timeout time.Duration
	// MaxDatagram is the largest UDP datagram sent, in bytes.
	MaxDatagram int
	// Peer names the server in logs and errors: "carbon", "statsd".
	Peer string
	// Log receives a line when the server is found to have closed an idle
	// connection.
	Log *slog.Logger

	conn net.Conn
}

// Send writes buf, a run of whole lines, connecting first when needed. It
// returns once buf is handed to the socket, or with the first error, after
// which the connection is closed. The write ends at Timeout or when ctx is
// done, whichever comes first; either way the error wraps
// os.ErrDeadlineExceeded.
func (c *LineConn) Send(ctx context.Context, buf []byte) error {
	if err := c.connect(ctx); err != nil {
		return err
	}
	deadline := time.Now().Add(c.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.conn.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { c.conn.SetWriteDeadline(time.Now()) })
	defer stop()
	if c.Network == "tcp" {
		if _, err := c.conn.Write(buf); err != nil {
			return c.fail(err)
		}
		return nil
	}
	for len(buf) > 0 {
		n := datagramEnd(buf, c.MaxDatagram)
		if _, err := c.conn.Write(buf[:n]); err != nil {
			return c.fail(err)
		}
		buf = buf[n:]
	}
	return nil
}

// datagramEnd returns the length of the longest run of whole lines at the
// start of buf that fits max bytes, or the first line when even that does
// not fit.
func datagramEnd(buf []byte, max int) int {
	if len(buf) <= max {
		return len(buf)
	}
	end := 0
	for end < len(buf) {
		next := len(buf)
		if i := bytes.IndexByte(buf[end:], '\n'); i >= 0 {
			next = end + i + 1
		}
		if next > max && end > 0 {
			break
		}
		end = next
		if end >= max {
			break
		}
	}
	return end
}

// connect dials when there is no connection. On TCP it first checks that
// an idle connection is still open: writing into one that a restarted
// server closed would seem to succeed and lose the batch.
func (c *LineConn) connect(ctx context.Context) error {
	if c.conn != nil && c.Network == "tcp" && peerClosed(c.conn) {
		c.Log.Info(c.Peer+" closed the connection; reconnecting", "address", c.Address)
		c.conn.Close()
		c.conn = nil
	}
	if c.conn != nil {
		return nil
	}
	d := net.Dialer{Timeout: c.Timeout}
	conn, err := d.DialContext(ctx, c.Network, c.Address)
	if err != nil {
		return err
	}
	c.conn = conn
	return nil
}

// fail closes the connection after err.
func (c *LineConn) fail(err error) error {
	c.conn.Close()
	c.conn = nil
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("writing to %s at %s: %w", c.Peer, c.Address, err)
	}
	return err
}

// Close closes the connection, if there is one; the next Send dials again.
func (c *LineConn) Close() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}
