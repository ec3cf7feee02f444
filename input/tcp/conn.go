package tcp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/codec/metlogjson"
	"github.com/metlog/metlog/input"
)

// Control message types of the acknowledged protocol (docs/protocol.md).
const (
	TypeHello = "metlog.hello"
	TypeAck   = "metlog.ack"
)

// readSize is the size of the reads from a connection: 64 KiB carries a
// few hundred messages, so reads and journal appends are few.
const readSize = 64 << 10

// yieldEvery is how many messages a connection reads between yields of
// its core. Go's scheduler is fair among goroutines, and a router has more
// of them reading inputs (a reader and a deliverer per connection) than
// working for its outputs, so a connection reading flat out would take
// most of the CPU and leave the outputs' share of the work to be done
// after the load stops. Yielding costs nothing when no other goroutine is
// runnable, and never waits for an output.
const yieldEvery = 128

// handshakeTimeout bounds a TLS handshake.
const handshakeTimeout = 10 * time.Second

// drainTimeout bounds how long a closing connection may wait to deliver
// what it had already read.
const drainTimeout = 5 * time.Second

// batch is a set of messages read from a connection and delivered together:
// decoded, or encoded as records for an input.RecordSink.
type batch struct {
	pool []metlog.Message // storage, reused
	msgs []*metlog.Message
	// data holds the records, recs[i] ending at ends[i].
	data []byte
	ends []int
	recs [][]byte
	size int
	// count is how many records the batch settles (acknowledged mode):
	// delivered and rejected alike; rejected is how many were rejected.
	count, rejected int64
}

func (b *batch) next() *metlog.Message { return &b.pool[len(b.msgs)] }

func (b *batch) reset() {
	b.msgs, b.size, b.count, b.rejected = b.msgs[:0], 0, 0, 0
	b.data, b.ends, b.recs = b.data[:0], b.ends[:0], b.recs[:0]
}

// records returns the batch's records.
func (b *batch) records() [][]byte {
	b.recs = b.recs[:0]
	start := 0
	for _, end := range b.ends {
		b.recs = append(b.recs, b.data[start:end:end])
		start = end
	}
	return b.recs
}

// connection serves one accepted connection.
type connection struct {
	in   *Input
	conn net.Conn
	sink input.Sink
	ack  bool
	// tlsClient names the verified client certificate, if any.
	tlsClient string
	// src is the client's address, for the rate limit.
	src netip.Addr

	cur  *batch
	free chan *batch // empty batches
	full chan *batch // batches to deliver, in order
	// failed is closed by the deliverer when it gives up; the reader
	// stops then.
	failed chan struct{}

	// Totals the deliverer acknowledges, cumulative per connection.
	acked, ackedRejected int64
	ackBuf               []byte
	// deadlineSet is when the read deadline was last moved.
	deadlineSet time.Time

	// For an input.RecordSink: the sink, the time of the last read (the
	// time of receipt the records carry) and the records' UUIDs.
	records input.RecordSink
	readAt  int64
	uuids   *metlog.UUIDGenerator
}

func newConnection(in *Input, conn net.Conn, sink input.Sink) *connection {
	c := &connection{
		in: in, conn: conn, sink: sink, src: input.SourceOf(conn.RemoteAddr()),
		free:   make(chan *batch, 3),
		full:   make(chan *batch, 2),
		failed: make(chan struct{}),
	}
	for range 3 {
		c.free <- &batch{pool: make([]metlog.Message, in.cfg.Batch)}
	}
	c.cur = <-c.free
	return c
}

// serve reads the connection to its end, delivering as it goes.
func (c *connection) serve(ctx context.Context) {
	// Deliveries outlive ctx by drainTimeout, so that what was read when
	// the input stops still reaches the journal.
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(drainTimeout, cancel) })
	defer stop()

	if tc, ok := input.TLSConn(c.conn); ok {
		hctx, hcancel := context.WithTimeout(ctx, handshakeTimeout)
		err := tc.HandshakeContext(hctx)
		hcancel()
		if err != nil {
			c.in.log.Debug("TLS handshake", "from", c.conn.RemoteAddr(), "err", err)
			return
		}
		cs := tc.ConnectionState()
		c.tlsClient = input.ClientName(&cs)
	}
	delivered := make(chan struct{})
	go func() {
		defer close(delivered)
		c.deliverLoop(dctx)
	}()
	if err := c.read(); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.in.log.Debug("connection ends", "from", c.conn.RemoteAddr(), "err", err)
	}
	c.push()
	close(c.full)
	<-delivered
}

// read detects the format from the first bytes and decodes until the
// stream ends.
func (c *connection) read() error {
	first := make([]byte, 4096)
	n := 0
	for n == 0 || onlySpace(first[:n]) {
		if n == len(first) {
			n = 0 // a flood of white space: keep the buffer small
		}
		c.setReadDeadline()
		k, err := c.conn.Read(first[n:])
		n += k
		if err != nil {
			if onlySpace(first[:n]) {
				return err
			}
			break
		}
	}
	r := io.MultiReader(bytes.NewReader(first[:n]), flushReader{c})
	if heka.LooksJSON(first[:n]) {
		return c.readJSON(r)
	}
	return c.readHeka(r)
}

func onlySpace(b []byte) bool {
	for _, x := range b {
		if x != ' ' && x != '\n' && x != '\r' && x != '\t' {
			return false
		}
	}
	return true
}

func (c *connection) readJSON(r io.Reader) error {
	dec := metlogjson.NewDecoderSize(r, readSize)
	dec.Limits.MaxSize = c.in.cfg.MaxMessageSize
	if rs, ok := c.sink.(input.RecordSink); ok && c.tlsClient == "" && !c.in.dec.RequireSignature &&
		(c.in.dec.Format == input.FormatAuto || c.in.dec.Format == input.FormatMetlogJSON) {
		c.records = rs
		return c.readJSONRecords(dec)
	}
	// Decode reads the socket mid-message, which hands the current batch
	// to the deliverer (flushReader), so it decodes into a message of the
	// connection's own, swapped into the batch once complete.
	var scratch metlog.Message
	var jerr *metlogjson.Error // out of the loop: errors.As moves it to the heap
	for {
		start := dec.InputOffset()
		err := dec.Decode(&scratch)
		switch {
		case err == nil:
			if c.in.dec.RequireSignature {
				c.in.counters.Rejected(input.ReasonUnsigned)
				continue
			}
			if !c.in.dec.Format.AcceptsJSON() {
				c.in.counters.Rejected(input.ReasonMalformed)
				continue
			}
			c.in.dec.Format.Lift(&scratch)
			if !c.in.limiter.Allow(c.src, 1) {
				c.in.counters.Rejected(input.ReasonRateLimited)
				continue
			}
			m := c.cur.next()
			*m, scratch = scratch, *m
			input.Identify(m, c.tlsClient, "")
			c.add(m, int(dec.InputOffset()-start))
		case errors.As(err, &jerr):
			c.in.counters.Rejected(input.JSONReason(err))
			c.in.log.Debug("message rejected", "from", c.conn.RemoteAddr(), "err", err)
		default:
			return err
		}
		if c.stopped() {
			return nil
		}
	}
}

// readJSONRecords is readJSON for an input.RecordSink: the messages are
// delivered as records, most of them transcoded without a Message
// (metlogjson.Decoder.NextRecord), the others decoded, treated as
// readJSON treats them, and encoded. The connection then has no TLS client
// name or signature requirement, and its format reads metlog JSON as it is
// (auto or metlog-json).
func (c *connection) readJSONRecords(dec *metlogjson.Decoder) error {
	dec.Reserved = input.IdentityField
	c.uuids = metlog.NewUUIDGenerator()
	c.readAt = time.Now().UnixNano()
	var scratch metlog.Message
	var jerr *metlogjson.Error // out of the loop: errors.As moves it to the heap
	for {
		start := dec.InputOffset()
		now := c.readAt
		id := c.uuids.New(now)
		// The record is made in place, after the batch's records. If the
		// decoder's read handed the batch over meanwhile, the record
		// went after the records of a batch now the deliverer's, which
		// it does not read, and is moved to the new batch.
		b := c.cur
		at := len(b.data)
		rec, decoded, err := dec.NextRecord(b.data, &scratch, id, now)
		switch {
		case err == nil:
			if decoded {
				c.in.dec.Format.Lift(&scratch)
				input.Identify(&scratch, "", "")
				if scratch.Timestamp == 0 {
					scratch.Timestamp = now
				}
				if scratch.UUID.IsZero() {
					scratch.UUID = id
				}
				rec, b, at = scratch.AppendProtobuf(c.cur.data), c.cur, len(c.cur.data)
			} else if b != c.cur {
				b = c.cur
				rec = append(b.data, rec[at:]...)
				at = len(b.data)
			}
			if !c.in.limiter.Allow(c.src, 1) {
				c.in.counters.Rejected(input.ReasonRateLimited)
				b.data = rec[:at]
				continue
			}
			b.data = rec
			b.ends = append(b.ends, len(b.data))
			if len(b.ends)%yieldEvery == 0 {
				runtime.Gosched()
			}
			b.size += int(dec.InputOffset() - start)
			b.count++
			if len(b.ends) == len(b.pool) {
				c.push()
			}
		case errors.As(err, &jerr):
			c.in.counters.Rejected(input.JSONReason(err))
			c.in.log.Debug("message rejected", "from", c.conn.RemoteAddr(), "err", err)
		default:
			return err
		}
		if c.stopped() {
			return nil
		}
	}
}

func (c *connection) readHeka(r io.Reader) error {
	rd := heka.NewReaderSize(r, c.in.cfg.MaxMessageSize, readSize)
	firstRecord := true
	var skipped int64
	for {
		rec, err := rd.Next()
		if s := rd.Skipped(); s > skipped {
			// Garbage between records: one rejection per span skipped.
			skipped = s
			c.in.counters.Rejected(input.ReasonMalformed)
		}
		if err != nil {
			return err
		}
		m := c.cur.next()
		reason, err := c.in.dec.RecordFrom(rec, m, c.tlsClient)
		if firstRecord {
			firstRecord = false
			if err == nil && m.Type == TypeHello {
				if f := m.Field("ack"); f != nil && f.Type == metlog.TypeBool && len(f.Bools) == 1 && f.Bools[0] {
					c.ack = true
				}
				continue
			}
		}
		if err == nil && !c.in.limiter.Allow(c.src, 1) {
			reason, err = input.ReasonRateLimited, errors.New("over the source's rate limit")
		}
		if err != nil {
			c.in.counters.Rejected(reason)
			c.in.log.Debug("record rejected", "from", c.conn.RemoteAddr(), "reason", reason, "err", err)
			c.cur.count++
			c.cur.rejected++
		} else {
			c.add(m, len(rec.Message))
		}
		if c.stopped() {
			return nil
		}
	}
}

// add puts m, already decoded into the current batch's storage, into the
// batch, delivering the batch when it is full.
func (c *connection) add(m *metlog.Message, size int) {
	c.cur.msgs = append(c.cur.msgs, m)
	if len(c.cur.msgs)%yieldEvery == 0 {
		runtime.Gosched()
	}
	c.cur.size += size
	c.cur.count++
	if len(c.cur.msgs) == len(c.cur.pool) {
		c.push()
	}
}

// push hands the current batch to the deliverer, if it holds anything,
// and takes an empty one; it waits while the deliverer is busy with two
// batches already (backpressure).
func (c *connection) push() {
	if c.cur.count == 0 {
		return
	}
	select {
	case c.full <- c.cur:
	case <-c.failed:
		c.cur.reset()
		return
	}
	select {
	case c.cur = <-c.free:
	case <-c.failed:
		c.cur = &batch{pool: make([]metlog.Message, c.in.cfg.Batch)}
	}
}

func (c *connection) stopped() bool {
	select {
	case <-c.failed:
		return true
	default:
		return false
	}
}

// deliverLoop appends batches to the journal in order and, acknowledged,
// acks each once it is durable.
func (c *connection) deliverLoop(ctx context.Context) {
	failed := false
	for b := range c.full {
		if !failed {
			if err := c.deliver(ctx, b); err != nil {
				c.in.log.Warn("closing connection: cannot deliver", "from", c.conn.RemoteAddr(), "err", err)
				failed = true
				close(c.failed)
				c.conn.Close()
			}
		}
		b.reset()
		c.free <- b
	}
}

func (c *connection) deliver(ctx context.Context, b *batch) error {
	if len(b.ends) > 0 {
		if err := c.records.DeliverRecords(ctx, b.records(), input.DeliverOptions{Durable: c.ack}); err != nil {
			return err
		}
		c.in.counters.Received(len(b.ends), b.size)
	}
	if len(b.msgs) > 0 {
		if err := c.sink.Deliver(ctx, b.msgs, input.DeliverOptions{Durable: c.ack}); err != nil {
			return err
		}
		c.in.counters.Received(len(b.msgs), b.size)
	}
	if !c.ack {
		return nil
	}
	c.acked += b.count
	c.ackedRejected += b.rejected
	ack := metlog.Message{
		Timestamp: time.Now().UnixNano(), Type: TypeAck, Logger: "metlog", Severity: metlog.Info,
		EnvVersion: metlog.EnvVersion,
		Fields:     []metlog.Field{metlog.Int("count", c.acked), metlog.Int("rejected", c.ackedRejected)},
	}
	var err error
	if c.ackBuf, err = heka.AppendRecord(c.ackBuf[:0], &ack, nil); err != nil {
		return err
	}
	c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err = c.conn.Write(c.ackBuf)
	return err
}

// setReadDeadline pushes the idle deadline forward. Moving a deadline is
// not free, so it is moved only once a sixteenth of the timeout has passed.
func (c *connection) setReadDeadline() {
	d := c.in.cfg.IdleTimeout.D()
	if d <= 0 {
		return
	}
	now := time.Now()
	if now.Sub(c.deadlineSet) < d/16 {
		return
	}
	c.deadlineSet = now
	c.conn.SetReadDeadline(now.Add(d))
}

// flushReader reads the connection, first handing over the batch decoded
// so far: a decoder reads the socket only when it has used up what it
// buffered, so nothing decoded waits for more input to arrive.
type flushReader struct{ c *connection }

func (f flushReader) Read(p []byte) (int, error) {
	f.c.push()
	f.c.setReadDeadline()
	n, err := f.c.conn.Read(p)
	if f.c.records != nil {
		f.c.readAt = time.Now().UnixNano()
	}
	return n, err
}
