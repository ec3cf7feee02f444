package metlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Message types the client writes, as metlog-py wrote them.
const (
	TypeCounter   = "counter"   // payload: the count; fields name, rate
	TypeTimer     = "timer"     // payload: elapsed milliseconds; fields name, rate
	TypeGauge     = "gauge"     // payload: the value; field name
	TypeOldstyle  = "oldstyle"  // a log line; payload: the text
	TypeException = "exception" // an error or panic; see Client.Exception
)

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("metlog: client closed")

// A Client hands messages to a metlog router. It is safe for concurrent use
// by many goroutines; one Client per process is the usual setup.
//
// # Queue and drops
//
// No method that emits a message blocks the caller or returns an error.
// Each call checks the filters and the sample rate, stamps the time, and
// puts a small fixed-size record into a bounded queue (see WithQueueSize);
// the Message itself is built, encoded and written by the client's one
// sender goroutine, in batches of up to WithBatchSize messages per wakeup.
//
//	caller goroutines ──record──▶ [ bounded queue ] ──▶ sender goroutine: build → Sender.Send(batch)
//	         │ queue full                                        │ Send error
//	         ▼                                                   ▼
//	    Stats.Dropped++                                     Stats.Failed++
//
// When the queue is full (a stuck or slow Sender, a burst) the record is
// dropped and counted in Stats.Dropped; when the Sender cannot deliver (a
// dead router, a full socket buffer) the messages are counted in
// Stats.Failed. Neither ever slows the application down. Every
// WithStatsInterval the sender goroutine itself emits a "client_stats"
// message when anything was dropped or failed since the last report, so the
// loss is visible at the router.
//
// Fields passed to any method belong to the client from then on: the caller
// must not modify their value slices afterwards.
//
// # Flush and Close
//
// Flush waits until everything queued before it has been handed to the
// Sender. Close stops accepting messages (later ones are counted as
// dropped), sends what is queued, and waits at most WithCloseTimeout
// (CloseContext: until ctx is done) before giving up on the rest, which is
// then counted as dropped and reported in the returned error. After the
// sender goroutine has stopped, Close closes the Sender. Close is
// idempotent; later calls return the first call's result.
type Client struct {
	// Read by every call; written only while the client starts, and
	// wallOffset once a second. Kept apart from the counters and the
	// sender goroutine's state so that their writes do not evict it.
	q          *queue
	filter     filter
	timers     timerSwitch
	rand       func() float64
	severity   Severity
	counter    bool // counters with the default severity pass the filters
	timerOK    bool // timers with the default severity pass the filters
	gaugeOK    bool // gauges with the default severity pass the filters
	closed     atomic.Bool
	wallOffset atomic.Int64  // wall clock minus mono(), in ns
	wakeCh     chan struct{} // capacity 1
	_          [64]byte

	sleeping atomic.Bool // the sender goroutine waits on wakeCh
	_        [63]byte
	dropped  atomic.Uint64
	_        [56]byte
	failed   atomic.Uint64
	sent     atomic.Uint64
	_        [48]byte

	sender        Sender
	log           *slog.Logger
	logger        string
	hostname      string
	pid           int32
	msgFilt       []func(*Message) bool
	now           func() int64 // stamps records that carry no time (sender goroutine only)
	queueCap      int
	batchCap      int
	closeTimeout  time.Duration
	statsInterval time.Duration

	stop    chan struct{} // closed by Close: drain and exit
	done    chan struct{} // closed by the sender goroutine when it exits
	sendCtx context.Context
	abort   context.CancelFunc // cancels sendCtx: Close gave up

	closeOnce sync.Once
	closeErr  error

	flushMu  sync.Mutex
	waiters  []flushWaiter
	nWaiters atomic.Int32

	// Sender goroutine state.
	uuids    *UUIDGenerator
	lastSync int64 // record time of the last syncClock
	slots    []slot
	batch    []*Message
	reported Stats // totals at the last stats report
	failing  bool  // the last Send failed; log only transitions
	names    names // field names and representations the messages share
}

// Stats are a Client's running totals.
type Stats struct {
	// Sent counts messages the Sender accepted.
	Sent uint64
	// Dropped counts messages lost before reaching the Sender: the queue was
	// full, the client was closed, or Close gave up on them.
	Dropped uint64
	// Failed counts messages the Sender could not deliver.
	Failed uint64
	// Queued is the number of messages waiting in the queue now.
	Queued int
}

// New returns a Client that delivers through s and starts its sender
// goroutine; Close stops it and closes s.
func New(s Sender, opts ...Option) *Client {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	c := &Client{
		sender:        s,
		log:           o.errorLog,
		logger:        o.logger,
		severity:      o.severity,
		hostname:      o.hostname,
		pid:           int32(os.Getpid()),
		filter:        o.filter,
		msgFilt:       o.msgFilters,
		timers:        newTimerSwitch(o.disabledTimers),
		rand:          o.rand,
		now:           o.now,
		queueCap:      o.queueSize,
		batchCap:      o.batchSize,
		closeTimeout:  o.closeTimeout,
		statsInterval: o.statsInterval,
		q:             newQueue(o.queueSize),
		wakeCh:        make(chan struct{}, 1),
		stop:          make(chan struct{}),
		done:          make(chan struct{}),
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.counter = c.filter.allows(TypeCounter, c.severity)
	c.timerOK = c.filter.allows(TypeTimer, c.severity) && !c.timers.all
	c.gaugeOK = c.filter.allows(TypeGauge, c.severity)
	c.syncClock()
	c.sendCtx, c.abort = context.WithCancel(context.Background())
	c.uuids = NewUUIDGenerator()
	c.slots = make([]slot, c.batchCap+1) // +1: room for a stats report
	c.batch = make([]*Message, 0, c.batchCap+1)
	go c.run()
	return c
}

func defaultLoggerName() string {
	if len(os.Args) > 0 && os.Args[0] != "" {
		return filepath.Base(os.Args[0])
	}
	return "go"
}

// Logger returns the client's logger name, the Logger of its messages.
func (c *Client) Logger() string { return c.logger }

// Stats returns the client's running totals.
func (c *Client) Stats() Stats {
	return Stats{
		Sent:    c.sent.Load(),
		Dropped: c.dropped.Load(),
		Failed:  c.failed.Load(),
		Queued:  c.q.len(),
	}
}

// Incr counts one occurrence of name: a "counter" message with payload "1".
func (c *Client) Incr(name string, fields ...Field) {
	if c.counter {
		c.enqueue(record{kind: kindCounter, sev: c.severity, ts: c.wallNow(),
			name: name, n: 1, f: 1}, fields)
	}
}

// Count counts n occurrences of name.
func (c *Client) Count(name string, n int64, fields ...Field) {
	if c.counter {
		c.enqueue(record{kind: kindCounter, sev: c.severity, ts: c.wallNow(),
			name: name, n: n, f: 1}, fields)
	}
}

// SampledCount counts n occurrences of name, sending the message with
// probability rate (0 < rate ≤ 1; 0 or less sends nothing). The message
// carries the rate, so the router scales the count back up.
func (c *Client) SampledCount(name string, n int64, rate float64, fields ...Field) {
	if c.counter && c.sample(rate) {
		c.enqueue(record{kind: kindCounter, sev: c.severity, ts: c.wallNow(),
			name: name, n: n, f: rate}, fields)
	}
}

// Gauge reports the current value of name: a "gauge" message whose
// payload is the value in decimal.
func (c *Client) Gauge(name string, value float64, fields ...Field) {
	if c.gaugeOK {
		c.enqueue(record{kind: kindGauge, sev: c.severity, ts: c.wallNow(),
			name: name, f: value}, fields)
	}
}

// Metlog sends a message of type typ with an empty payload, the client's
// default severity and the given fields. Use Event to set the payload,
// severity, logger or timestamp.
func (c *Client) Metlog(typ string, fields ...Field) {
	c.Event(typ).Send(fields...)
}

// Event starts describing a message of type typ; nothing is sent until
// Send. Event is a value type: building one does not allocate.
//
//	c.Event("services").Logger("syncstorage").Severity(metlog.Error).
//		Payload("foo").Send(metlog.Int("userid", 25))
func (c *Client) Event(typ string) Event {
	return Event{c: c, typ: typ, sev: c.severity}
}

// Event is a message being described; see Client.Event. The zero Event
// sends nothing.
type Event struct {
	c       *Client
	typ     string
	payload string
	logger  string
	sev     Severity
	ts      int64
}

// Payload sets the message payload.
func (e Event) Payload(p string) Event { e.payload = p; return e }

// Severity sets the message severity (default: the client's).
func (e Event) Severity(s Severity) Event { e.sev = s; return e }

// Logger sets the message logger (default: the client's).
func (e Event) Logger(name string) Event { e.logger = name; return e }

// Timestamp sets the message time (default: when Send is called).
func (e Event) Timestamp(t time.Time) Event { e.ts = t.UnixNano(); return e }

// Send queues the message with the given fields.
func (e Event) Send(fields ...Field) {
	c := e.c
	if c == nil || !c.filter.allows(e.typ, e.sev) {
		return
	}
	ts := e.ts
	if ts == 0 {
		ts = c.wallNow()
	}
	c.enqueue(record{kind: kindEvent, sev: e.sev, ts: ts, name: e.typ,
		text: e.payload, logger: e.logger}, fields)
}

// Log sends the log line msg (type "oldstyle") at severity sev.
func (c *Client) Log(sev Severity, msg string, fields ...Field) {
	c.logLine(sev, msg, fields)
}

// Emergency logs msg at severity Emergency (0).
func (c *Client) Emergency(msg string, fields ...Field) { c.logLine(Emergency, msg, fields) }

// Alert logs msg at severity Alert (1).
func (c *Client) Alert(msg string, fields ...Field) { c.logLine(Alert, msg, fields) }

// Critical logs msg at severity Critical (2).
func (c *Client) Critical(msg string, fields ...Field) { c.logLine(Critical, msg, fields) }

// Error logs msg at severity Error (3). To report a Go error with its type
// and chain, use Exception.
func (c *Client) Error(msg string, fields ...Field) { c.logLine(Error, msg, fields) }

// Warning logs msg at severity Warning (4).
func (c *Client) Warning(msg string, fields ...Field) { c.logLine(Warning, msg, fields) }

// Notice logs msg at severity Notice (5).
func (c *Client) Notice(msg string, fields ...Field) { c.logLine(Notice, msg, fields) }

// Info logs msg at severity Info (6).
func (c *Client) Info(msg string, fields ...Field) { c.logLine(Info, msg, fields) }

// Debug logs msg at severity Debug (7).
func (c *Client) Debug(msg string, fields ...Field) { c.logLine(Debug, msg, fields) }

func (c *Client) logLine(sev Severity, msg string, fields []Field) {
	if c.filter.allows(TypeOldstyle, sev) {
		c.enqueue(record{kind: kindEvent, sev: sev, ts: c.wallNow(),
			name: TypeOldstyle, text: msg}, fields)
	}
}

// sample reports whether a call with the given sample rate is sent.
func (c *Client) sample(rate float64) bool {
	if rate >= 1 {
		return true
	}
	return rate > 0 && c.rand() < rate
}

// enqueue puts r in the queue or counts it as dropped; it never blocks.
//
// The record and its fields are separate: the fields are copied, and
// their slices, on the caller's stack, must not be taken for part of what
// the queue keeps.
func (c *Client) enqueue(r record, fields []Field) {
	if c.closed.Load() {
		c.dropped.Add(1)
		return
	}
	if !c.q.push(&r, fields) {
		c.dropped.Add(1)
		return
	}
	c.wake()
}

// Flush waits until every message queued before the call has been handed
// to the Sender, or until ctx is done. It returns ErrClosed after Close.
func (c *Client) Flush(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	w := flushWaiter{target: c.q.head.Load(), ch: make(chan struct{})}
	c.flushMu.Lock()
	c.waiters = append(c.waiters, w)
	c.nWaiters.Store(int32(len(c.waiters)))
	c.flushMu.Unlock()
	c.sleeping.Store(false)
	select {
	case c.wakeCh <- struct{}{}:
	default:
	}
	select {
	case <-w.ch:
		return nil
	case <-c.done:
		select {
		case <-w.ch:
			return nil
		default:
			return ErrClosed
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close flushes the queue, waiting at most the close timeout (default 5s,
// see WithCloseTimeout), stops the sender goroutine and closes the Sender.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.closeTimeout)
	defer cancel()
	return c.CloseContext(ctx)
}

// CloseContext is Close with the flush deadline taken from ctx.
func (c *Client) CloseContext(ctx context.Context) error {
	c.closeOnce.Do(func() { c.closeErr = c.close(ctx) })
	return c.closeErr
}

func (c *Client) close(ctx context.Context) error {
	c.closed.Store(true)
	close(c.stop)
	var errs []error
	select {
	case <-c.done:
	case <-ctx.Done():
		c.abort()
		<-c.done
	}
	c.abort()
	// Whatever is still queued (raced with Close, or given up on) is lost.
	if lost := c.q.len(); lost > 0 {
		c.dropped.Add(uint64(lost))
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("metlog: close: %d queued messages not sent: %w",
				lost, context.Cause(ctx)))
		}
	}
	if err := c.sender.Close(); err != nil {
		errs = append(errs, fmt.Errorf("metlog: close sender: %w", err))
	}
	return errors.Join(errs...)
}
