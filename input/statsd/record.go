package statsd

import (
	"bytes"
	"unsafe"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/statsd"
	"github.com/metlog/metlog/input"
)

// RecordType is the type of the messages the input hands to the journal:
// each carries many good lines, and readers turn it back into one message
// per line with an Expander before anything else sees it. Statsd lines are
// small and many; journaling them in groups costs the input one record,
// not one message, per up to MaxRecordLines lines.
//
// A record's Payload is its lines, separated by "\n", each as it was
// received; its Timestamp is when they were read, and its Logger,
// Hostname, Severity and EnvVersion are those of every line's message. Its
// UUID is the router's; the message of line i has that UUID with i XORed
// into its last two bytes, so that reading a record again gives the same
// messages, UUIDs included (a record without a UUID gives messages
// without one).
const RecordType = "statsd.lines"

// MaxRecordLines and maxRecordBytes bound one record: the lines of a
// record stay together through every reader, so an output's batch may
// hold up to MaxRecordLines messages more than its batch_size asks.
const (
	MaxRecordLines = 512
	maxRecordBytes = 32 << 10
)

// recorder groups the good lines one goroutine reads into records,
// reusing its records and buffer from batch to batch:
//
//	add(line) … add(line) → batch() → Deliver → reset()
type recorder struct {
	in     *Input
	metric statsd.Metric
	recs   []*metlog.Message
	n      int    // records of the batch sealed so far
	buf    []byte // the open record's lines, each followed by "\n"
	recN   int    // lines in the open record
	recNow int64  // the open record's time
	lines  int    // good lines in the batch
	size   int    // their bytes
}

func (in *Input) newRecorder() *recorder { return &recorder{in: in} }

// add checks line and adds it to the open record, or counts it as
// rejected. now is when it was read, in ns since the epoch. The recorder
// keeps nothing of line.
func (r *recorder) add(line []byte, now int64) {
	if len(line) > r.in.cfg.MaxLineSize {
		r.in.reject(line, errTooLarge)
		return
	}
	if err := statsd.Parse(line, &r.metric); err != nil {
		r.in.reject(line, err)
		return
	}
	if r.recN > 0 && (now != r.recNow || r.recN == MaxRecordLines || len(r.buf)+len(line) >= maxRecordBytes) {
		r.seal()
	}
	r.recNow = now
	r.buf = append(append(r.buf, line...), '\n')
	r.recN++
	r.lines++
	r.size += len(line)
}

// full reports whether the batch has cfg.Batch lines.
func (r *recorder) full() bool { return r.lines >= r.in.cfg.Batch }

// seal makes the open record a message of the batch.
func (r *recorder) seal() {
	if r.recN == 0 {
		return
	}
	if r.n == len(r.recs) {
		r.recs = append(r.recs, new(metlog.Message))
	}
	m := r.recs[r.n]
	r.n++
	*m = metlog.Message{
		Timestamp:  r.recNow,
		Type:       RecordType,
		Logger:     r.in.cfg.Logger,
		Severity:   metlog.Info,
		EnvVersion: metlog.EnvVersion,
		Hostname:   r.in.hostname,
		Payload:    string(r.buf[:len(r.buf)-1]),
	}
	r.buf, r.recN = r.buf[:0], 0
}

// batch returns the records of the lines added since reset; they are valid
// until reset.
func (r *recorder) batch() []*metlog.Message {
	r.seal()
	return r.recs[:r.n]
}

// reset empties the batch.
func (r *recorder) reset() {
	for _, m := range r.recs[:r.n] {
		*m = metlog.Message{} // let the payload go
	}
	r.n, r.lines, r.size = 0, 0, 0
	r.buf, r.recN = r.buf[:0], 0
}

// An Expander turns records (messages of RecordType) back into one message
// per line. It reuses its messages: those Expand returns stay valid until
// Reset. An Expander is for one goroutine at a time.
type Expander struct {
	b *builder
}

// NewExpander returns an Expander; it interns up to 65,536 metric names
// and tag keys and values, shared by the messages it makes.
func NewExpander() *Expander {
	// The input checked every line.
	return &Expander{b: newBuilder("", "", maxLineSize, 1<<16, func([]byte, error) {})}
}

// Expand appends to dst the messages of rec's lines from line from on,
// at most max of them (max < 1 means all), and returns dst and the index
// of the next line, or -1 when rec has no more lines. A record's lines
// are counted from 0; a line that no longer parses (the journal was
// edited) is skipped, but keeps its index.
func (e *Expander) Expand(dst []*metlog.Message, rec *metlog.Message, from, max int) ([]*metlog.Message, int) {
	b := e.b
	b.logger, b.hostname = rec.Logger, rec.Hostname
	// The verified client name of a TLS connection is the record's, and
	// so every line's.
	tlsClient := ""
	if f := rec.Field(input.FieldTLSClient); f != nil && len(f.Strings) == 1 {
		tlsClient = f.Strings[0]
	}
	payload := unsafe.Slice(unsafe.StringData(rec.Payload), len(rec.Payload)) // read only
	first := len(b.msgs)
	i := 0
	next := -1
	for len(payload) > 0 {
		line := payload
		if nl := bytes.IndexByte(payload, '\n'); nl >= 0 {
			line, payload = payload[:nl], payload[nl+1:]
		} else {
			payload = nil
		}
		if i < from {
			i++
			continue
		}
		if max > 0 && len(b.msgs)-first == max {
			next = i
			break
		}
		n := len(b.msgs)
		b.add(line, rec.Timestamp)
		if len(b.msgs) > n {
			m := b.msgs[n]
			if !rec.UUID.IsZero() { // else the router gives each its own
				m.UUID = rec.UUID
				m.UUID[14] ^= byte(i >> 8)
				m.UUID[15] ^= byte(i)
			}
			m.Severity, m.EnvVersion, m.Pid = rec.Severity, rec.EnvVersion, rec.Pid
			if tlsClient != "" {
				m.Fields = append(m.Fields, metlog.String(input.FieldTLSClient, tlsClient))
			}
		}
		i++
	}
	return append(dst, b.batch()[first:]...), next
}

// Reset lets the Expander reuse every message it returned.
func (e *Expander) Reset() { e.b.reset() }
