package statsd

import (
	"sync"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/statsd"
	"github.com/metlog/metlog/input"
)

// messageTypes maps statsd types to message types.
var messageTypes = [...]string{
	statsd.Counter:      metlog.TypeCounter,
	statsd.Timer:        metlog.TypeTimer,
	statsd.Histogram:    metlog.TypeTimer,
	statsd.Distribution: metlog.TypeTimer,
	statsd.Gauge:        metlog.TypeGauge,
	statsd.Set:          "set",
}

// digits are the payloads of one-digit values, the usual counter payload,
// which then need no copying.
var digits = [10]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// builder turns lines into messages for one goroutine, reusing every
// message, field and buffer from batch to batch. Between reset and batch,
// the strings of the messages being built are either interned or still to
// be copied into the batch's string (refs).
//
//	add(line) … add(line) → batch() → Deliver → reset()
type builder struct {
	// The envelope of every message, and what is done with a bad line.
	logger, hostname string
	maxLineSize      int
	reject           func(line []byte, err error)

	names  cache
	metric statsd.Metric
	slots  []*slot // grown up to cfg.Batch
	msgs   []*metlog.Message
	size   int // bytes of the lines in msgs
	// arena collects the bytes of strings that are not interned; batch
	// turns it into one string and points every ref into it.
	arena []byte
	refs  []ref
}

// slot is one reusable message with room for its field values.
type slot struct {
	m    metlog.Message
	name [1]string
	rate [1]float64
	tags []string // one value per tag field
}

// ref is a string to be set to arena[off:end] once the batch is complete.
type ref struct {
	dst      *string
	off, end int
}

// newBuilder returns a builder of messages with the given envelope that
// interns up to internLimit strings and passes bad lines to reject.
func newBuilder(logger, hostname string, maxLineSize, internLimit int, reject func([]byte, error)) *builder {
	return &builder{
		logger: logger, hostname: hostname, maxLineSize: maxLineSize, reject: reject,
		names: cache{shared: newNames(internLimit), m: map[string]string{}, limit: internLimit},
	}
}

// add parses line into the next message of the batch, or counts it as
// rejected. now is the time it was read, in ns since the epoch. The builder
// keeps nothing of line.
func (b *builder) add(line []byte, now int64) {
	if len(line) > b.maxLineSize {
		b.reject(line, errTooLarge)
		return
	}
	mt := &b.metric
	if err := statsd.Parse(line, mt); err != nil {
		b.reject(line, err)
		return
	}
	if len(b.msgs) == len(b.slots) {
		b.slots = append(b.slots, new(slot))
	}
	s := b.slots[len(b.msgs)]
	if mt.Timestamp != 0 {
		now = mt.Timestamp * 1e9
	}
	m := &s.m
	fields := m.Fields[:0]
	*m = metlog.Message{
		Timestamp:  now,
		Type:       messageTypes[mt.Type],
		Logger:     b.logger,
		Severity:   metlog.Info,
		EnvVersion: metlog.EnvVersion,
		Hostname:   b.hostname,
	}
	if v := mt.Value; len(v) == 1 && v[0] >= '0' && v[0] <= '9' {
		m.Payload = digits[v[0]-'0']
	} else {
		b.copy(&m.Payload, v)
	}

	tags := mt.Tags
	if reservedTag(tags) {
		tags = withoutReserved(tags)
	}
	withRate := mt.Type != statsd.Gauge && mt.Type != statsd.Set
	n := 1 + len(tags)
	if withRate {
		n++
	}
	if cap(fields) < n {
		fields = make([]metlog.Field, 0, n+2)
	}
	fields = append(fields, metlog.Field{Name: "name", Type: metlog.TypeString, Strings: s.name[:]})
	b.intern(&s.name[0], mt.Name)
	if withRate {
		s.rate[0] = mt.Rate
		fields = append(fields, metlog.Field{Name: "rate", Type: metlog.TypeDouble, Doubles: s.rate[:]})
	}
	if len(tags) > 0 {
		if len(s.tags) < len(tags) {
			s.tags = make([]string, len(tags)+4)
		}
		first := len(fields)
		for i := range tags {
			fields = append(fields, metlog.Field{Type: metlog.TypeString, Strings: s.tags[i : i+1 : i+1]})
		}
		// fields has its final size: pointers into it stay valid.
		for i, t := range tags {
			b.intern(&fields[first+i].Name, t.Key)
			s.tags[i] = ""
			if len(t.Value) > 0 {
				b.intern(&s.tags[i], t.Value)
			}
		}
	}
	m.Fields = fields
	b.msgs = append(b.msgs, m)
	b.size += len(line)
}

// intern sets *dst to v, shared if the table has or takes it, copied into
// the batch otherwise.
func (b *builder) intern(dst *string, v []byte) {
	if s, ok := b.names.get(v); ok {
		*dst = s
		return
	}
	b.copy(dst, v)
}

// copy arranges for *dst to be set to a copy of v when the batch is done.
func (b *builder) copy(dst *string, v []byte) {
	off := len(b.arena)
	b.arena = append(b.arena, v...)
	b.refs = append(b.refs, ref{dst, off, len(b.arena)})
}

// batch completes the messages added since reset and returns them. They
// are valid until reset.
func (b *builder) batch() []*metlog.Message {
	if len(b.refs) > 0 {
		all := string(b.arena) // the one allocation of a batch
		for _, r := range b.refs {
			*r.dst = all[r.off:r.end]
		}
		clear(b.refs)
		b.refs, b.arena = b.refs[:0], b.arena[:0]
	}
	return b.msgs
}

// reset empties the batch.
func (b *builder) reset() {
	b.msgs, b.size = b.msgs[:0], 0
	b.refs, b.arena = b.refs[:0], b.arena[:0]
}

// maxInternLen is the longest string interned.
const maxInternLen = 256

// names interns the strings of one input, shared by its goroutines: at
// most limit strings of at most maxInternLen bytes. When it is full,
// lookups of new strings fail (their callers copy them instead), and after
// 4×limit such failures it starts over, so that a set of names that
// changes over time gets in.
type names struct {
	mu     sync.Mutex
	m      map[string]string
	limit  int
	misses int // failed lookups since the table filled
}

func newNames(limit int) *names {
	return &names{m: map[string]string{}, limit: limit}
}

func (n *names) get(v []byte) (string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s, ok := n.m[string(v)]; ok {
		return s, true
	}
	if len(n.m) >= n.limit {
		if n.misses++; n.misses >= 4*n.limit {
			clear(n.m)
			n.misses = 0
		}
		return "", false
	}
	s := string(v)
	n.m[s] = s
	return s, true
}

// cache is one goroutine's copy of part of a names table, looked up
// without locking. It holds at most limit strings and starts over when
// full.
type cache struct {
	shared *names
	m      map[string]string
	limit  int
}

func (c *cache) get(v []byte) (string, bool) {
	if s, ok := c.m[string(v)]; ok {
		return s, true
	}
	if c.limit == 0 || len(v) > maxInternLen {
		return "", false
	}
	s, ok := c.shared.get(v)
	if !ok {
		return "", false
	}
	if len(c.m) >= c.limit {
		clear(c.m)
	}
	c.m[s] = s
	return s, true
}

// reservedTag reports whether a tag is named like a field the inputs set
// from a verified identity (input.FieldTLSClient, input.FieldSigner).
func reservedTag(tags []statsd.Tag) bool {
	for _, t := range tags {
		if string(t.Key) == input.FieldTLSClient || string(t.Key) == input.FieldSigner {
			return true
		}
	}
	return false
}

// withoutReserved returns tags without the reserved ones, in a new slice.
func withoutReserved(tags []statsd.Tag) []statsd.Tag {
	var out []statsd.Tag
	for _, t := range tags {
		if string(t.Key) != input.FieldTLSClient && string(t.Key) != input.FieldSigner {
			out = append(out, t)
		}
	}
	return out
}
