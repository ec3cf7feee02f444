package metlog

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

// Sender delivers a Client's messages to their destination: a router over
// UDP, TCP or a Unix socket, a file, standard output, or memory (see Dial,
// NewMemorySender).
//
// A Client calls Send from its one sender goroutine, never concurrently,
// with batches of messages. The messages and everything they reference are
// the client's and are reused once Send returns: a Sender that keeps them
// must copy them (Message.Clone). Send must return promptly once ctx is
// done; the client cancels ctx when Close gives up waiting. Send returns
// nil when every message was delivered; otherwise an error, counted as the
// whole batch failing unless it is (or wraps) a *SendError that says how
// many failed. Send must not panic.
//
// Close releases the Sender's resources. The client calls it once, after
// the last Send has returned.
type Sender interface {
	Send(ctx context.Context, msgs []*Message) error
	Close() error
}

// SendError is the error a Sender returns when only part of a batch was
// delivered.
type SendError struct {
	Failed int   // messages of the batch not delivered
	Err    error // the first cause
}

func (e *SendError) Error() string {
	return fmt.Sprintf("%d messages not sent: %v", e.Failed, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// TypeClientStats is the type of the report a Client emits about itself
// when it dropped or failed to send messages; see WithStatsInterval. Its
// payload is a one-line summary and its integer fields are "dropped",
// "failed" and "sent" (since the previous report), "dropped_total",
// "failed_total" and "queue_size".
const TypeClientStats = "client_stats"

type recordKind uint8

const (
	kindCounter recordKind = iota + 1
	kindTimer
	kindGauge
	kindEvent // any other type, log lines and exceptions included
)

// record is what goes through the queue: a compact description of a
// message, built into a Message on the sender goroutine.
type record struct {
	kind   recordKind
	sev    Severity
	ts     int64  // ns since the epoch; 0 stamps the time when built
	name   string // counter, timer or gauge name; message type for kindEvent
	text   string // payload of kindEvent
	logger string // logger override of kindEvent
	n      int64  // count, or timer nanoseconds
	f      float64
	fields []Field
}

// slot is one reusable message of a batch: its fields keep their value
// slices from message to message, so that building one does not allocate.
type slot struct {
	m Message
}

// queue is a bounded lock-free multi-producer, single-consumer ring of
// records (after Dmitry Vyukov's bounded MPMC queue). Each cell carries a
// sequence number: seq == pos means free for the producer claiming
// position pos, seq == pos+1 means filled and ready for the consumer.
//
//	producers: claim head (CAS) → write cell → seq = pos+1 → wake consumer if asleep
//	consumer:  seq == tail+1?  → read cell → seq = tail+len → tail++
type queue struct {
	head  atomic.Uint64 // next position to claim
	_     [56]byte
	tail  atomic.Uint64 // next position to read; written by the consumer only
	_     [56]byte
	mask  uint64
	cells []cell
}

type cell struct {
	seq atomic.Uint64
	r   record
	// fields holds a copy of the caller's fields, values and all, in
	// storage the cell keeps from lap to lap: the caller's fields (and the
	// one-value slices String, Int... make) need not outlive the call, so
	// they stay on its stack.
	fields []Field
	// names holds the bytes of the fields' names and representations,
	// which the fields' strings point into until the cell is released: the
	// caller's Field values are read, not kept, so they need not escape.
	names []byte
}

func newQueue(size int) *queue {
	n := 2 // with one cell, a filled cell would look free to the next lap
	for n < size {
		n <<= 1
	}
	q := &queue{mask: uint64(n - 1), cells: make([]cell, n)}
	for i := range q.cells {
		q.cells[i].seq.Store(uint64(i))
	}
	return q
}

// push adds r with a copy of fields (r.fields is not read), or reports
// false when the queue is full.
func (q *queue) push(r *record, fields []Field) bool {
	pos := q.head.Load()
	for {
		c := &q.cells[pos&q.mask]
		seq := c.seq.Load()
		switch dif := int64(seq - pos); {
		case dif == 0:
			if q.head.CompareAndSwap(pos, pos+1) {
				c.fields, c.names = copyFieldsNamed(c.fields[:0], c.names[:0], fields)
				c.r = record{kind: r.kind, sev: r.sev, ts: r.ts, name: r.name, text: r.text,
					logger: r.logger, n: r.n, f: r.f, fields: c.fields}
				c.seq.Store(pos + 1)
				return true
			}
			pos = q.head.Load()
		case dif < 0:
			return false
		default:
			pos = q.head.Load()
		}
	}
}

// peek returns the oldest record, or nil when none is ready. It stays the
// consumer's (fields and all) until release. Only the consumer calls it.
func (q *queue) peek() *record {
	pos := q.tail.Load()
	c := &q.cells[pos&q.mask]
	if c.seq.Load() != pos+1 {
		return nil
	}
	return &c.r
}

// release frees the record peek returned for the producers.
func (q *queue) release() {
	pos := q.tail.Load()
	c := &q.cells[pos&q.mask]
	c.r = record{}
	for i := range c.fields {
		clear(c.fields[i].Strings) // no caller's string kept alive
		clear(c.fields[i].Bytes)
	}
	c.seq.Store(pos + q.mask + 1)
	q.tail.Store(pos + 1)
}

// copyFields appends copies of fields, their values included, to dst,
// reusing the value slices of dst's fields beyond its length.
func copyFields(dst, fields []Field) []Field {
	for i := range fields {
		f := &fields[i]
		var d *Field
		dst, d = nextField(dst, f.Name, f.Type)
		d.Representation = f.Representation
		d.Strings = append(d.Strings, f.Strings...)
		d.Bytes = append(d.Bytes, f.Bytes...)
		d.Integers = append(d.Integers, f.Integers...)
		d.Doubles = append(d.Doubles, f.Doubles...)
		d.Bools = append(d.Bools, f.Bools...)
	}
	return dst
}

// copyFieldsNamed is copyFields with the names and representations copied
// into names as well, the copies' strings pointing there: they are valid
// until names is written again from its start. It returns the extended
// dst and names.
func copyFieldsNamed(dst []Field, names []byte, fields []Field) ([]Field, []byte) {
	size := 0
	for i := range fields {
		size += len(fields[i].Name) + len(fields[i].Representation)
	}
	names = slices.Grow(names, size) // no strings cut below move
	for i := range fields {
		f := &fields[i]
		var d *Field
		dst, d = nextField(dst, "", f.Type)
		names, d.Name = appendOwned(names, f.Name)
		names, d.Representation = appendOwned(names, f.Representation)
		d.Strings = append(d.Strings, f.Strings...)
		d.Bytes = append(d.Bytes, f.Bytes...)
		d.Integers = append(d.Integers, f.Integers...)
		d.Doubles = append(d.Doubles, f.Doubles...)
		d.Bools = append(d.Bools, f.Bools...)
	}
	return dst, names
}

// appendOwned appends s to b, which has room for it, and returns the copy
// as a string pointing into b.
func appendOwned(b []byte, s string) ([]byte, string) {
	if s == "" {
		return b, ""
	}
	n := len(b)
	b = append(b, s...)
	return b, unsafe.String(&b[n], len(s))
}

// names interns the field names and representations of the messages a
// client builds, so that a message never points into the queue's copies:
// one allocation per distinct name, up to maxNames of them (a name past
// that is copied for each message).
type names struct{ m map[string]string }

const maxNames = 4096

func (n *names) intern(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := n.m[s]; ok {
		return v
	}
	v := strings.Clone(s)
	if n.m == nil {
		n.m = make(map[string]string)
	}
	if len(n.m) < maxNames {
		n.m[v] = v
	}
	return v
}

// internFields replaces the names and representations of fields by their
// interned copies.
func (n *names) internFields(fields []Field) {
	for i := range fields {
		fields[i].Name = n.intern(fields[i].Name)
		fields[i].Representation = n.intern(fields[i].Representation)
	}
}

// nextField extends dst by a field with no values, reusing the value
// slices of the field that was there before, and returns it.
func nextField(dst []Field, name string, typ ValueType) ([]Field, *Field) {
	n := len(dst)
	if n < cap(dst) {
		dst = dst[:n+1]
	} else {
		dst = append(dst, Field{})
	}
	d := &dst[n]
	*d = Field{Name: name, Type: typ, Strings: d.Strings[:0], Bytes: d.Bytes[:0],
		Integers: d.Integers[:0], Doubles: d.Doubles[:0], Bools: d.Bools[:0]}
	return dst, d
}

// len returns how many records are queued or being written.
func (q *queue) len() int { return int(q.head.Load() - q.tail.Load()) }

// flushWaiter is a Flush call waiting for the consumer to pass target.
type flushWaiter struct {
	target uint64
	ch     chan struct{}
}

// monoBase anchors the client's cheap clock: time.Since of a time with a
// monotonic reading costs one clock read, half of time.Now.
var monoBase = time.Now()

// mono returns monotonic nanoseconds since monoBase.
func mono() int64 { return int64(time.Since(monoBase)) }

// wallNow returns the wall-clock time in ns since the epoch, from the
// monotonic clock and the offset the sender goroutine keeps in step.
func (c *Client) wallNow() int64 { return c.wallOffset.Load() + mono() }

// syncClock re-reads the wall clock, so clock steps show up in timestamps.
func (c *Client) syncClock() {
	t := time.Now()
	c.wallOffset.Store(t.UnixNano() - int64(t.Sub(monoBase)))
}

// wake rouses the sender goroutine if it sleeps.
func (c *Client) wake() {
	if c.sleeping.Load() && c.sleeping.CompareAndSwap(true, false) {
		select {
		case c.wakeCh <- struct{}{}:
		default:
		}
	}
}

// run is the sender goroutine: it owns slots, batch, reported and failing.
func (c *Client) run() {
	defer c.exit()
	var tick <-chan time.Time
	if c.statsInterval > 0 {
		t := time.NewTicker(c.statsInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		for c.takeBatch() {
			select {
			case <-tick:
				c.report()
			case <-c.stop:
				c.drain()
				return
			default:
			}
		}
		if c.linger() {
			continue
		}
		c.sleeping.Store(true)
		if c.q.len() > 0 {
			// Something was queued (or is being written) meanwhile; the
			// producer may not have seen the flag.
			c.sleeping.Store(false)
			runtime.Gosched()
			continue
		}
		select {
		case <-c.wakeCh:
		case <-tick:
			c.report()
		case <-c.stop:
			c.sleeping.Store(false)
			c.drain()
			return
		}
		c.sleeping.Store(false)
	}
}

// linger yields the processor a few times before the sender goroutine goes
// to sleep, and reports whether something was queued meanwhile. Under load
// this saves the producers the cost of waking it for every message.
func (c *Client) linger() bool {
	for range 3 {
		runtime.Gosched()
		if c.q.len() > 0 {
			return true
		}
	}
	return false
}

// takeBatch sends up to one batch of what is queued and reports whether
// the batch was full, so more may be waiting.
func (c *Client) takeBatch() bool {
	n := 0
	for n < c.batchCap {
		r := c.q.peek()
		if r == nil {
			break
		}
		c.take(r)
		c.q.release() // before the Send: the message holds copies
		n++
		if len(c.batch) >= c.batchCap {
			c.flushBatch()
		}
	}
	c.flushBatch()
	c.notifyFlushers(false)
	return n == c.batchCap
}

// drain sends everything queued until the queue is empty or Close gives
// up, then sends the last stats report.
func (c *Client) drain() {
	for c.sendCtx.Err() == nil && c.takeBatch() {
	}
	if c.sendCtx.Err() == nil {
		c.report()
	}
}

// exit releases every Flush still waiting, as the sender goroutine stops.
func (c *Client) exit() {
	c.notifyFlushers(true)
	close(c.done)
}

// notifyFlushers releases the Flush calls whose records have been sent
// (all of them when all is set).
func (c *Client) notifyFlushers(all bool) {
	if c.nWaiters.Load() == 0 {
		return
	}
	done := c.q.tail.Load()
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if all || w.target <= done {
			close(w.ch)
			continue
		}
		kept = append(kept, w)
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
	c.nWaiters.Store(int32(len(kept)))
}

// take builds r into the next message of the batch.
func (c *Client) take(r *record) {
	if r.ts-c.lastSync > int64(time.Second) {
		// Follow wall-clock steps at most once a second, at no cost to
		// the callers.
		c.syncClock()
		c.lastSync = r.ts
	}
	m := c.build(r, &c.slots[len(c.batch)])
	c.batch = append(c.batch, m)
}

// flushBatch applies the message filters and hands the batch to the Sender.
func (c *Client) flushBatch() {
	if len(c.batch) == 0 {
		return
	}
	batch := c.batch
	if len(c.msgFilt) > 0 {
		kept := batch[:0]
		for _, m := range batch {
			if c.keep(m) {
				kept = append(kept, m)
			}
		}
		batch = kept
	}
	if len(batch) > 0 {
		c.send(batch)
	}
	clear(c.batch[:cap(c.batch)])
	c.batch = c.batch[:0]
}

func (c *Client) keep(m *Message) bool {
	for _, f := range c.msgFilt {
		if !f(m) {
			return false
		}
	}
	return true
}

func (c *Client) send(batch []*Message) {
	err := c.sender.Send(c.sendCtx, batch)
	if err == nil {
		c.sent.Add(uint64(len(batch)))
		if c.failing {
			c.failing = false
			c.log.Info("metlog: sending again")
		}
		return
	}
	failed := len(batch)
	var se *SendError
	if errors.As(err, &se) && se.Failed >= 0 && se.Failed <= len(batch) {
		failed = se.Failed
	}
	c.failed.Add(uint64(failed))
	c.sent.Add(uint64(len(batch) - failed))
	if !c.failing {
		c.failing = true
		c.log.Warn("metlog: send failed; counting failures until it recovers", "err", err)
	}
}

// build fills the slot's message from r. Every message gets a version 7
// UUID, so the router and the stores after it can deduplicate.
func (c *Client) build(r *record, s *slot) *Message {
	m := &s.m
	// Not Reset: the fields keep their value slices for the next message.
	*m = Message{Fields: m.Fields[:0]}
	ts := r.ts
	if ts == 0 {
		ts = c.now()
	}
	// Microseconds, as metlog-py writes them: metlog JSON then keeps its
	// six fraction digits, which Python's strptime %f insists on.
	ts -= ts % int64(time.Microsecond)
	m.Timestamp = ts
	m.UUID = c.uuids.New(ts)
	m.Logger = c.logger
	if r.logger != "" {
		m.Logger = r.logger
	}
	m.Severity = r.sev
	m.EnvVersion = EnvVersion
	m.Pid = c.pid
	m.Hostname = c.hostname
	switch r.kind {
	case kindCounter:
		m.Type = TypeCounter
		m.Payload = strconv.FormatInt(r.n, 10)
		addNameRate(m, r, true)
	case kindTimer:
		m.Type = TypeTimer
		m.Payload = strconv.FormatInt(r.n/int64(time.Millisecond), 10)
		addNameRate(m, r, true)
	case kindGauge:
		m.Type = TypeGauge
		m.Payload = strconv.FormatFloat(r.f, 'f', -1, 64)
		addNameRate(m, r, false)
	default:
		m.Type = r.name
		m.Payload = r.text
		m.Fields = copyFields(m.Fields, r.fields)
	}
	// The names of the record's fields point into its queue cell, which
	// the producers reuse once it is released. The caller's fields come
	// last (after a metric's name and rate, which may replace some).
	c.names.internFields(m.Fields[max(0, len(m.Fields)-len(r.fields)):])
	return m
}

// addNameRate adds the "name" (and "rate") fields of a metric, then the
// caller's fields except any that would repeat those names.
func addNameRate(m *Message, r *record, withRate bool) {
	var f *Field
	m.Fields, f = nextField(m.Fields, "name", TypeString)
	f.Strings = append(f.Strings, r.name)
	if withRate {
		m.Fields, f = nextField(m.Fields, "rate", TypeDouble)
		f.Doubles = append(f.Doubles, r.f)
	}
	for i := range r.fields {
		if f := r.fields[i : i+1]; f[0].Name != "name" && (!withRate || f[0].Name != "rate") {
			m.Fields = copyFields(m.Fields, f)
		}
	}
}

// report emits a TypeClientStats message when anything was dropped or
// failed since the previous report. The batch is empty when it is called.
func (c *Client) report() {
	now := c.Stats()
	dropped := now.Dropped - c.reported.Dropped
	failed := now.Failed - c.reported.Failed
	if dropped == 0 && failed == 0 {
		return
	}
	sent := now.Sent - c.reported.Sent
	c.reported = now
	r := record{
		kind: kindEvent,
		sev:  Warning,
		ts:   c.now(),
		name: TypeClientStats,
		text: fmt.Sprintf("metlog client: %d messages dropped, %d failed, %d sent since the last report",
			dropped, failed, sent),
		fields: []Field{
			Int("dropped", int64(dropped)),
			Int("failed", int64(failed)),
			Int("sent", int64(sent)),
			Int("dropped_total", int64(now.Dropped)),
			Int("failed_total", int64(now.Failed)),
			Int("queue_size", int64(c.queueCap)),
		},
	}
	c.batch = append(c.batch, c.build(&r, &c.slots[len(c.batch)]))
	c.flushBatch()
}
