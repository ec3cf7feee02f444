package router

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	statsdin "github.com/metlog/metlog/input/statsd"
	"github.com/metlog/metlog/journal"
	"github.com/metlog/metlog/match"
	"github.com/metlog/metlog/output"
)

// Output is what an output plugin implements: deliver one batch. The router
// calls Write from one goroutine per output, with the messages its matcher
// accepted, in journal order; the messages are valid only during the call.
// Write returns nil once the endpoint has accepted the whole batch — only
// then does the output's cursor move. An error marked output.Permanent
// skips the batch; any other error is retried with backoff until it
// succeeds or the router stops.
//
// An Output may also implement io.Closer (called when it is stopped),
// Reopener (called on SIGHUP) and EncodingOutput (the router encodes its
// batches).
type Output interface {
	Write(ctx context.Context, batch []*metlog.Message) error
}

// EncodingOutput is implemented by outputs that write each message as the
// bytes of a Format, such as the file output. The router encodes their
// batches while it reads the journal, in the goroutine that reads ahead of
// the one writing, and without decoding the records a RecordFormat encodes
// directly when the output's matcher accepts everything. WriteEncoded
// delivers the encoding of a batch of messages (the concatenation of the
// format's Append of each), under the rules of Write; data is valid only
// during the call.
type EncodingOutput interface {
	Output
	Format() output.Format
	WriteEncoded(ctx context.Context, data []byte, messages int) error
}

// Reopener is implemented by outputs that hold files: Reopen closes and
// opens them again, so that logrotate can move them away.
type Reopener interface {
	Reopen() error
}

// outputCounters are an output's running totals.
type outputCounters struct {
	read      atomic.Uint64 // records read from the journal
	matched   atomic.Uint64 // messages the matcher accepted
	delivered atomic.Uint64 // messages Write accepted
	retries   atomic.Uint64 // failed Write calls that were retried
	permanent atomic.Uint64 // messages in batches dropped on permanent errors
	corrupt   atomic.Uint64 // journal records that did not decode
	lastErr   atomic.Pointer[string]
}

// runningOutput is one configured output and the goroutine reading the
// journal for it.
type runningOutput struct {
	name, typ string
	common    *config.OutputCommon
	out       Output
	matcher   *match.Matcher
	reader    *journal.Reader
	log       *slog.Logger
	counters  outputCounters

	// stop asks the loop to finish its current batch and return; cancel
	// aborts a Write in progress (on shutdown timeout).
	stop   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// start runs the output's loop in a goroutine of its own.
func (o *runningOutput) start(ctx context.Context) {
	ctx, o.cancel = context.WithCancel(ctx)
	go o.run(ctx)
}

// prepared is a batch read from the journal, decoded and matched, waiting
// to be written: the messages in batch, or for an EncodingOutput their
// encoding in data.
type prepared struct {
	pool    []metlog.Message // decoded messages, reused
	batch   []*metlog.Message
	data    []byte // the encoded messages
	encoded int    // messages in data
	matched int    // messages the matcher accepted
	end     journal.Pos
	// expander makes the messages of the lines of statsd records, lines
	// the latest record's; both are made on first use.
	expander *statsdin.Expander
	lines    []*metlog.Message
	// recs are the records of a batch the feed's helper prepares, copied
	// into recBuf (see load).
	recs   [][]byte
	recBuf []byte
	// enc encodes records directly for the format encFor, remembering the
	// last record (output.NewRecordEncoder).
	enc, encFor output.RecordFormat
}

// load copies recs into p, for the feed's helper: the journal's batch they
// come from is only valid until its next read.
func (p *prepared) load(recs [][]byte) {
	size := 0
	for _, r := range recs {
		size += len(r)
	}
	p.recBuf = slices.Grow(p.recBuf[:0], size)
	p.recs = p.recs[:0]
	for _, r := range recs {
		at := len(p.recBuf)
		p.recBuf = append(p.recBuf, r...)
		p.recs = append(p.recs, p.recBuf[at:len(p.recBuf):len(p.recBuf)])
	}
}

// reset empties p for the next batch.
func (p *prepared) reset() {
	p.batch = p.batch[:0]
	p.data = p.data[:0]
	p.encoded, p.matched = 0, 0
	if p.expander != nil {
		p.expander.Reset()
	}
}

// run reads the journal and delivers until stopped. It is a two-stage
// pipeline: one goroutine reads, decodes and matches the next batch (two
// at a time with a helper, on more than one core) while this one writes
// the current batch and commits it, in journal order.
func (o *runningOutput) run(ctx context.Context) {
	defer close(o.done)
	// Reading also stops when stop is closed.
	readCtx, cancelRead := context.WithCancel(ctx)
	defer cancelRead()
	go func() {
		select {
		case <-o.stop:
			cancelRead()
		case <-readCtx.Done():
		}
	}()
	// The batch in preparation and the one being written; in parallel,
	// one waiting and the helper's too (see feed.run).
	parallel := runtime.GOMAXPROCS(0) > 1
	buffers := 2
	if parallel {
		buffers = feedBuffers
	}
	free := make(chan *prepared, buffers)
	for range cap(free) {
		free <- &prepared{pool: make([]metlog.Message, o.common.BatchSize)}
	}
	ready := make(chan *prepared, 1)
	f := feed{reader: o.reader, matcher: o.matcher, batchSize: o.common.BatchSize, log: o.log,
		read: &o.counters.read, matched: &o.counters.matched, corrupt: &o.counters.corrupt,
		parallel: parallel}
	enc, _ := o.out.(EncodingOutput)
	if enc != nil {
		f.format = enc.Format()
	}
	go f.run(readCtx, free, ready)
	defer func() {
		cancelRead()
		for range ready { // let prepare finish
		}
	}()
	for p := range ready {
		delivered := true
		switch {
		case enc != nil && p.encoded > 0:
			delivered = o.deliver(ctx, p.encoded, func() error { return enc.WriteEncoded(ctx, p.data, p.encoded) })
		case len(p.batch) > 0:
			delivered = o.deliver(ctx, len(p.batch), func() error { return o.out.Write(ctx, p.batch) })
		}
		if !delivered {
			return // stopped before the batch was accepted: not committed
		}
		if err := o.reader.Commit(p.end); err != nil {
			o.log.Error("committing the cursor", "err", err)
			return
		}
		free <- p
	}
}

// deliver writes a batch of n messages with write, retrying with
// exponential backoff and jitter. It returns false if the router stopped
// before the batch was accepted.
func (o *runningOutput) deliver(ctx context.Context, n int, write func() error) bool {
	delay := o.common.RetryInitial.D()
	for attempt := 0; ; attempt++ {
		err := write()
		if err == nil {
			o.counters.delivered.Add(uint64(n))
			if attempt > 0 {
				o.log.Info("delivering again", "after_attempts", attempt+1)
			}
			return true
		}
		msg := err.Error()
		o.counters.lastErr.Store(&msg)
		if output.IsPermanent(err) {
			o.counters.permanent.Add(uint64(n))
			o.log.Error("batch rejected; skipped", "messages", n, "err", err)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		o.counters.retries.Add(1)
		if attempt == 0 {
			o.log.Warn("delivery failed; retrying with backoff", "err", err)
		}
		// Full jitter: a random wait up to the current delay.
		wait := time.Duration(rand.Int64N(int64(delay))) + time.Millisecond
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-o.stop:
			t.Stop()
			return false
		case <-ctx.Done():
			t.Stop()
			return false
		}
		delay = min(delay*2, o.common.RetryMax.D())
	}
}

// shutdown stops the loop: the batch being written may finish until
// deadline, then the write is aborted. The cursor stays where the last
// accepted batch left it.
func (o *runningOutput) shutdown(deadline <-chan struct{}) {
	o.once.Do(func() { close(o.stop) })
	select {
	case <-o.done:
	case <-deadline:
		o.cancel()
		<-o.done
	}
	o.cancel()
	o.reader.Close()
	if c, ok := o.out.(io.Closer); ok {
		if err := c.Close(); err != nil {
			o.log.Warn("closing output", "err", err)
		}
	}
}

// closedAfter returns a channel that is closed once d has passed, for
// deadlines that many goroutines wait on.
func closedAfter(d time.Duration) <-chan struct{} {
	ch := make(chan struct{})
	time.AfterFunc(d, func() { close(ch) })
	return ch
}
