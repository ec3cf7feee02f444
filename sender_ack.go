package metlog

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// DefaultResendBuffer is how many unacknowledged messages a reliable
// (tcp+ack://) sender keeps for resending.
const DefaultResendBuffer = 65536

// ackSender is the reliable sender of tcp+ack:// targets: the acknowledged
// stream protocol of docs/protocol.md. Every record stays in a bounded
// resend buffer until the router acknowledges that it is durable; after a
// broken connection, a new one resends everything unacknowledged, in order.
// A record may so reach the router twice, always with the same UUID.
//
// Send only buffers (waiting while the buffer is full, which in turn fills
// the client's queue: the application never waits); one goroutine owns the
// connection, writing what is buffered, reconnecting with backoff, and
// reading acknowledgements.
//
//	Send ──▶ pending [ acked… | written, unacked | not yet written ] ──▶ loop ──▶ router
//	             ▲ dropped from the front as acks arrive ◀── ack reader ◀─────────┘
type ackSender struct {
	network, addr string
	tls           *tls.Config // nil: plain TCP
	limit         int

	mu      sync.Mutex
	pending [][]byte // unacknowledged records, oldest first
	written int      // of pending, how many the current connection has written
	// connAcked is the count of the current connection's latest ack.
	connAcked int64
	rejected  int64 // records the router rejected, in all

	work    chan struct{} // records added (cap 1)
	space   chan struct{} // acks made room (cap 1)
	closing chan struct{} // Close was called
	abandon chan struct{} // Close's deadline passed: stop even with records pending
	done    chan struct{} // the loop has ended
	once    sync.Once
}

// newAckSender starts a sender to addr, over TLS when tc is not nil.
func newAckSender(network, addr string, tc *tls.Config, limit int) *ackSender {
	s := &ackSender{
		network: network, addr: addr, tls: tc, limit: limit,
		work:    make(chan struct{}, 1),
		space:   make(chan struct{}, 1),
		closing: make(chan struct{}),
		abandon: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.loop()
	return s
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Send encodes msgs into the resend buffer, waiting while it is full. It
// returns once every message is buffered — the loop delivers them — or
// fails those it could not buffer before ctx ended.
func (s *ackSender) Send(ctx context.Context, msgs []*Message) error {
	recs := make([][]byte, 0, len(msgs))
	failed := 0
	var first error
	for _, m := range msgs {
		rec, err := appendHekaRecord(nil, m)
		if err != nil {
			failed++
			first = cmp(first, err)
			continue
		}
		recs = append(recs, rec)
	}
	for len(recs) > 0 {
		s.mu.Lock()
		if room := s.limit - len(s.pending); room > 0 {
			n := min(room, len(recs))
			s.pending = append(s.pending, recs[:n]...)
			recs = recs[n:]
		}
		s.mu.Unlock()
		signal(s.work)
		if len(recs) == 0 {
			break
		}
		select {
		case <-s.space:
		case <-ctx.Done():
			failed += len(recs)
			first = cmp(first, fmt.Errorf("resend buffer full: %w", ctx.Err()))
			recs = nil
		}
	}
	if failed > 0 {
		return &SendError{Failed: failed, Err: first}
	}
	return nil
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// Close waits until the router has acknowledged everything buffered. It
// keeps waiting while acknowledgements arrive, and gives up once closeWait
// passes without any.
func (s *ackSender) Close() error {
	s.once.Do(func() { close(s.closing) })
	left := s.pendingLen()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	for waiting := true; waiting; {
		select {
		case <-s.done:
			waiting = false
		case <-t.C:
			if n := s.pendingLen(); n < left {
				left = n // progress: wait on
				t.Reset(closeWait)
				continue
			}
			close(s.abandon)
			<-s.done
			waiting = false
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.pending); n > 0 {
		return fmt.Errorf("metlog: %d messages not acknowledged by %s", n, s.addr)
	}
	return nil
}

func (s *ackSender) pendingLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// closeWait is how long Close waits for an acknowledgement before it gives
// up on what is still unacknowledged.
const closeWait = 10 * time.Second

// dial connects, over TLS when configured, completing the handshake.
func (s *ackSender) dial() (net.Conn, error) {
	if s.tls == nil {
		return net.DialTimeout(s.network, s.addr, dialTimeout)
	}
	return tls.DialWithDialer(&net.Dialer{Timeout: dialTimeout}, s.network, s.addr, s.tls)
}

// loop owns the connection.
func (s *ackSender) loop() {
	defer close(s.done)
	backoff := time.Duration(0)
	for {
		if s.finished() {
			return
		}
		conn, err := s.dial()
		if err == nil {
			err = s.serve(conn)
			backoff = 0
		}
		if s.finished() {
			return
		}
		_ = err // the connection broke; everything unacknowledged is resent
		switch {
		case backoff == 0:
			backoff = minBackoff
		case backoff < maxBackoff:
			backoff = min(2*backoff, maxBackoff)
		}
		wait := backoff + time.Duration(rand.Int64N(int64(backoff)/2)) - backoff/4
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.abandon:
			t.Stop()
			return
		}
	}
}

// finished reports whether the loop may end: closing with nothing pending,
// or abandoned.
func (s *ackSender) finished() bool {
	select {
	case <-s.abandon:
		return true
	case <-s.closing:
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.pending) == 0
	default:
		return false
	}
}

// serve runs one connection: hello, then writes whatever is pending while
// a reader goroutine takes acks, until something fails or all is done.
func (s *ackSender) serve(conn net.Conn) error {
	defer conn.Close()
	s.mu.Lock()
	s.written, s.connAcked = 0, 0
	s.mu.Unlock()
	hello := &Message{Type: "metlog.hello", Timestamp: time.Now().UnixNano(), EnvVersion: EnvVersion,
		Fields: []Field{Bool("ack", true), Int("protocol", 1)}}
	buf, _ := appendHekaRecord(nil, hello)
	readErr := make(chan error, 1)
	go func() { readErr <- s.readAcks(conn) }()
	defer func() {
		conn.Close()
		<-readErr
	}()
	for {
		s.mu.Lock()
		for _, rec := range s.pending[s.written:] {
			buf = append(buf, rec...)
		}
		s.written = len(s.pending)
		s.mu.Unlock()
		if len(buf) > 0 {
			conn.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := conn.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
		if s.finished() {
			return nil
		}
		select {
		case <-s.work:
		case <-s.closing:
			// Wait for the acks that finish the work, or the deadline.
			select {
			case <-s.space:
			case err := <-readErr:
				readErr <- err
				return err
			case <-s.abandon:
				return nil
			}
		case err := <-readErr:
			readErr <- err // for the deferred wait
			return err
		case <-s.abandon:
			return nil
		}
	}
}

// readAcks reads ack records and drops what they cover from pending.
func (s *ackSender) readAcks(conn net.Conn) error {
	br := bufio.NewReader(conn)
	for {
		msg, err := readHekaRecord(br)
		if err != nil {
			return err
		}
		count, rejected, ok := parseAck(msg)
		if !ok {
			return errors.New("metlog: the router sent something other than an ack")
		}
		s.mu.Lock()
		if n := count - s.connAcked; n > 0 && int(n) <= s.written {
			clear(s.pending[:n])
			s.pending = s.pending[n:]
			s.written -= int(n)
			s.connAcked = count
			s.rejected = rejected
		}
		s.mu.Unlock()
		signal(s.space)
	}
}

// readHekaRecord reads one framed record and returns its message bytes. It
// understands what the router writes: a header with message_length.
func readHekaRecord(r *bufio.Reader) ([]byte, error) {
	b, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if b != 0x1E {
		return nil, errors.New("metlog: bad record separator from the router")
	}
	hlen, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	header := make([]byte, int(hlen)+1)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, err
	}
	if header[hlen] != 0x1F {
		return nil, errors.New("metlog: bad unit separator from the router")
	}
	size := -1
	for h := header[:hlen]; len(h) > 0; {
		tag, n := binary.Uvarint(h)
		if n <= 0 {
			break
		}
		h = h[n:]
		if tag&7 != 0 { // only varints in the header we read
			break
		}
		v, n := binary.Uvarint(h)
		if n <= 0 {
			break
		}
		h = h[n:]
		if tag>>3 == 1 {
			size = int(v)
		}
	}
	if size < 0 || size > maxHekaMessage {
		return nil, errors.New("metlog: bad record header from the router")
	}
	msg := make([]byte, size)
	_, err = io.ReadFull(r, msg)
	return msg, err
}

// parseAck reads the count and rejected fields of a metlog.ack message.
func parseAck(msg []byte) (count, rejected int64, ok bool) {
	isAck := false
	haveCount := false
	for p := msg; len(p) > 0; {
		tag, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, 0, false
		}
		p = p[n:]
		var val []byte
		switch tag & 7 {
		case 0:
			_, n = binary.Uvarint(p)
		case 1:
			n = 8
		case 2:
			l, m := binary.Uvarint(p)
			if m <= 0 || uint64(len(p)-m) < l {
				return 0, 0, false
			}
			val, n = p[m:m+int(l)], m+int(l)
		case 5:
			n = 4
		default:
			return 0, 0, false
		}
		if n <= 0 || n > len(p) {
			return 0, 0, false
		}
		p = p[n:]
		switch tag >> 3 {
		case 3: // type
			isAck = string(val) == "metlog.ack"
		case 10: // a field
			name, v, found := parseIntField(val)
			switch {
			case !found:
			case name == "count":
				count, haveCount = v, true
			case name == "rejected":
				rejected = v
			}
		}
	}
	return count, rejected, isAck && haveCount
}

// parseIntField reads a Field's name and its first integer value.
func parseIntField(f []byte) (name string, v int64, ok bool) {
	for len(f) > 0 {
		tag, n := binary.Uvarint(f)
		if n <= 0 {
			return "", 0, false
		}
		f = f[n:]
		switch tag & 7 {
		case 0:
			_, n = binary.Uvarint(f)
			if n <= 0 {
				return "", 0, false
			}
			f = f[n:]
		case 2:
			l, m := binary.Uvarint(f)
			if m <= 0 || uint64(len(f)-m) < l {
				return "", 0, false
			}
			val := f[m : m+int(l)]
			f = f[m+int(l):]
			switch tag >> 3 {
			case 1:
				name = string(val)
			case 6: // packed value_integer
				x, k := binary.Uvarint(val)
				if k <= 0 {
					return "", 0, false
				}
				v, ok = int64(x), true
			}
		default:
			return "", 0, false
		}
	}
	return name, v, ok
}
