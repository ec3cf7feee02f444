// Package statsd is the statsd accumulator: an aggregator of the router
// that reads counter, timer, gauge and set messages (from metlog clients and
// from the statsd input alike) and, every flush interval, emits what etsy
// statsd's graphite backend would send for them, as "statmetric" messages.
//
// An emitted message has the flush time as its timestamp, the metrics as
// graphite plaintext lines in its payload ("name value unix_seconds\n") and
// the same metrics as double fields, one per metric, named like the lines.
// A flush with more metrics than fit in MaxMessageSize emits several
// messages with the same timestamp.
//
// # Messages read
//
//	Type     Payload                                 Fields
//	counter  the count ("" counts 1)                 name, rate (default 1)
//	timer    milliseconds, >= 0                      name, rate (default 1)
//	gauge    the value; a leading + or - is a delta   name
//	set      the member                              name
//
// Other fields are tags (see Config.Tags); other types are ignored.
// Messages without a name, with a value that is not a finite number, or
// with a rate that is not positive are counted as bad and skipped.
//
// # Semantics
//
// The math and the names are statsd's (lib/process_metrics.js and
// backends/graphite.js of etsy statsd 0.9/0.10): counters sum value/rate
// and report the sum and the sum per second of the flush interval; timers
// report count (the sum of 1/rate), count_ps, sum, sum_squares, mean,
// median, upper, lower, std (population), per percentile P the values
// among the lowest P percent (the highest |P| percent for a negative P),
// and optionally histogram bins; gauges keep their last value across
// flushes; sets report the number of distinct members. Idle metrics are
// emitted as 0 (gauges as their last value) unless the delete_* settings
// say otherwise. Names are sanitized as statsd sanitizes them. Besides
// numStats and processing_time, the accumulator emits statsd's own
// metrics_received and bad_lines_seen counters. The few deliberate
// differences from statsd are listed in the package README.
//
// # Concurrency and memory
//
// The router calls Add, Flush and FlushInterval from one goroutine; Stats
// may be called from any. Add does not allocate for a name it has seen
// before: names are looked up without copying and each timer keeps its
// sample slice from one flush to the next. At most MaxNames distinct names
// are kept.
package statsd

import (
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog"
)

// MaxNameLen bounds the length of a metric's name with its tags, in
// bytes; a message with a longer one is counted as bad.
const MaxNameLen = 4096

// Accumulator is the statsd accumulator. It implements the router's
// Aggregator interface.
type Accumulator struct {
	cfg      Config
	log      *slog.Logger
	interval time.Duration
	seconds  float64 // the interval, for rates
	ns       namespaces
	tags     bool // tags become part of the key

	deleteCounters, deleteTimers, deleteGauges, deleteSets bool

	percentiles []percentile
	timerWant   timerWant
	histograms  [][]bin // per Config.Histogram entry
	hostname    string
	pid         int32

	counters table[counterState]
	timers   table[timerState]
	gauges   table[gaugeState]
	sets     table[setState]
	names    int // keys in the four tables

	keyBuf      []byte
	tagIdx      []int
	freeSamples [][]float64

	// Since the last flush: metric messages received, malformed and
	// dropped; the first two are emitted as statsd's own counters.
	periodReceived, periodBad, periodDropped uint64
	ownKeys                                  [2]key // bad_lines_seen, metrics_received

	stats struct {
		added, ignored, bad, dropped, names atomic.Uint64
		flushes, emitted                    atomic.Uint64
	}

	flush flushState
}

// Stats are an accumulator's running totals.
type Stats struct {
	// Added counts the metric messages aggregated.
	Added uint64
	// Ignored counts messages of other types.
	Ignored uint64
	// Bad counts metric messages that were malformed and skipped.
	Bad uint64
	// Dropped counts metric messages for new names beyond Config.MaxNames.
	Dropped uint64
	// Names is how many names are kept now.
	Names uint64
	// Flushes counts flushes, and Emitted the messages they emitted.
	Flushes, Emitted uint64
}

// New builds an accumulator from cfg.
func New(cfg Config, log *slog.Logger) (*Accumulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	a := &Accumulator{
		cfg:      cfg,
		log:      log,
		interval: cfg.FlushInterval.D(),
		seconds:  float64(cfg.FlushInterval.D()) / float64(time.Second),
		ns:       newNamespaces(&cfg),
		tags:     cfg.Tags == TagsGraphite,
		pid:      int32(os.Getpid()),
	}
	a.deleteCounters, a.deleteTimers, a.deleteGauges, a.deleteSets = cfg.deletes()
	a.ownKeys = [2]key{newKey(cfg.PrefixStats + ".bad_lines_seen"), newKey(cfg.PrefixStats + ".metrics_received")}
	a.hostname, _ = os.Hostname()
	for _, p := range cfg.Percentiles {
		a.percentiles = append(a.percentiles, newPercentile(p))
	}
	a.timerWant = newTimerWant(cfg.TimerMetrics)
	for _, h := range cfg.Histogram {
		a.histograms = append(a.histograms, newBins(h.Bins))
	}
	a.counters.init()
	a.timers.init()
	a.gauges.init()
	a.sets.init()
	return a, nil
}

// FlushInterval returns the configured flush interval.
func (a *Accumulator) FlushInterval() time.Duration { return a.interval }

// Stats returns the running totals. It is safe to call concurrently with
// the other methods.
func (a *Accumulator) Stats() Stats {
	return Stats{
		Added:   a.stats.added.Load(),
		Ignored: a.stats.ignored.Load(),
		Bad:     a.stats.bad.Load(),
		Dropped: a.stats.dropped.Load(),
		Names:   a.stats.names.Load(),
		Flushes: a.stats.flushes.Load(),
		Emitted: a.stats.emitted.Load(),
	}
}

type kind uint8

const (
	kindCounter kind = iota
	kindTimer
	kindGauge
	kindSet
)

// Add aggregates one message. m is not kept.
func (a *Accumulator) Add(m *metlog.Message) {
	var k kind
	switch m.Type {
	case "counter":
		k = kindCounter
	case "timer":
		k = kindTimer
	case "gauge":
		k = kindGauge
	case "set":
		k = kindSet
	default:
		a.stats.ignored.Add(1)
		return
	}
	a.periodReceived++
	name, rate, ok := a.scan(m)
	if !ok {
		a.bad()
		return
	}
	// The key is the name alone, or the name and its tags in keyBuf.
	useBuf := len(a.tagIdx) > 0
	if useBuf {
		a.buildKey(m, name)
		if len(a.keyBuf) > MaxNameLen {
			a.bad()
			return
		}
	}
	switch k {
	case kindCounter:
		v := 1.0
		if m.Payload != "" {
			if v, ok = parseNumber(m.Payload); !ok {
				a.bad()
				return
			}
		}
		if c := a.counters.get(a, name, a.keyBuf, useBuf, nil); c != nil {
			c.v.value += v * (1 / rate)
			a.stats.added.Add(1)
		}
	case kindTimer:
		v, ok := parseNumber(m.Payload)
		if !ok || v < 0 {
			a.bad()
			return
		}
		if t := a.timers.get(a, name, a.keyBuf, useBuf, a.newTimer); t != nil {
			t.v.samples = append(t.v.samples, v)
			t.v.count += 1 / rate
			a.stats.added.Add(1)
		}
	case kindGauge:
		v, ok := parseNumber(m.Payload)
		if !ok {
			a.bad()
			return
		}
		if g := a.gauges.get(a, name, a.keyBuf, useBuf, nil); g != nil {
			if c := m.Payload[0]; c == '+' || c == '-' {
				g.v.value += v
			} else {
				g.v.value = v
			}
			g.v.ttl = a.cfg.GaugesMaxTTL
			a.stats.added.Add(1)
		}
	case kindSet:
		member := m.Payload
		if member == "" {
			member = "0" // as statsd
		}
		if s := a.sets.get(a, name, a.keyBuf, useBuf, newSet); s != nil {
			if _, ok := s.v.members[member]; !ok {
				s.v.members[strings.Clone(member)] = struct{}{}
			}
			a.stats.added.Add(1)
		}
	}
}

func (a *Accumulator) bad() {
	a.stats.bad.Add(1)
	a.periodBad++
}

// scan finds the message's name and rate and leaves the indexes of its
// tag fields, sorted by name, in a.tagIdx.
func (a *Accumulator) scan(m *metlog.Message) (name string, rate float64, ok bool) {
	rate = 1
	haveName, haveRate := false, false
	a.tagIdx = a.tagIdx[:0]
	for i := range m.Fields {
		f := &m.Fields[i]
		switch {
		case !haveName && f.Name == "name":
			if f.Type != metlog.TypeString || len(f.Strings) == 0 || f.Strings[0] == "" {
				return "", 0, false
			}
			name, haveName = f.Strings[0], true
		case !haveRate && f.Name == "rate":
			haveRate = true
			if rate, ok = fieldNumber(f); !ok || !(rate > 0) {
				return "", 0, false
			}
		case a.tags:
			a.tagIdx = append(a.tagIdx, i)
		}
	}
	if !haveName || len(name) > MaxNameLen {
		return "", 0, false
	}
	// Sort the tags by name, stably: there are few.
	idx := a.tagIdx
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && m.Fields[idx[j]].Name < m.Fields[idx[j-1]].Name; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	return name, rate, true
}

// buildKey writes the name and its tags into a.keyBuf as graphite tags,
// ";key=value" (";key" when the value is empty), with ";" inside keys and
// values made "_" and the values of a multi-valued field joined by "_".
func (a *Accumulator) buildKey(m *metlog.Message, name string) {
	b := append(a.keyBuf[:0], name...)
	for _, i := range a.tagIdx {
		f := &m.Fields[i]
		b = append(b, ';')
		b = appendTagText(b, f.Name)
		start := len(b) + 1
		b = append(b, '=')
		for j := range f.Len() {
			if j > 0 {
				b = append(b, '_')
			}
			switch f.Type {
			case metlog.TypeString:
				b = appendTagText(b, f.Strings[j])
			case metlog.TypeBytes:
				b = appendTagText(b, string(f.Bytes[j]))
			case metlog.TypeInteger:
				b = strconv.AppendInt(b, f.Integers[j], 10)
			case metlog.TypeDouble:
				b = appendNumber(b, f.Doubles[j])
			case metlog.TypeBool:
				b = strconv.AppendBool(b, f.Bools[j])
			}
		}
		if len(b) == start {
			b = b[:start-1] // a bare tag
		}
	}
	a.keyBuf = b
}

func appendTagText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ';' {
			b = append(b, '_')
		} else {
			b = append(b, c)
		}
	}
	return b
}

// parseNumber parses a decimal number, which must be finite.
func parseNumber(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v-v != 0 { // v-v is NaN for ±Inf and NaN
		return 0, false
	}
	return v, true
}

// fieldNumber is the first value of a double, integer or string field.
func fieldNumber(f *metlog.Field) (float64, bool) {
	switch {
	case f.Type == metlog.TypeDouble && len(f.Doubles) > 0:
		return f.Doubles[0], true
	case f.Type == metlog.TypeInteger && len(f.Integers) > 0:
		return float64(f.Integers[0]), true
	case f.Type == metlog.TypeString && len(f.Strings) > 0:
		return parseNumber(f.Strings[0])
	}
	return 0, false
}

// table holds the metrics of one type by key.
//
//	byKey: raw key ──▶ item ◀── sanitized key   (both point to one item)
//	items: every item once, in the order first seen: the flush order
type table[T any] struct {
	byKey map[string]*item[T]
	items []*item[T]
}

// item is one metric: its graphite key, the raw keys that lead to it, and
// its state.
type item[T any] struct {
	key  key
	keys []string
	v    T
}

func (t *table[T]) init() { t.byKey = map[string]*item[T]{} }

// get returns the item of the raw key (buf when useBuf, else name),
// creating it when there is room; nil means the message was counted as
// dropped (no room) or bad (no name left once sanitized) and is skipped.
// init, when not nil, sets up a new item's state.
func (t *table[T]) get(a *Accumulator, name string, buf []byte, useBuf bool, init func(*key, *T)) *item[T] {
	var it *item[T]
	if useBuf {
		it = t.byKey[string(buf)]
	} else {
		it = t.byKey[name]
	}
	if it != nil {
		return it
	}
	if a.names >= a.cfg.MaxNames {
		a.stats.dropped.Add(1)
		a.periodDropped++
		return nil
	}
	var raw string
	if useBuf {
		raw = string(buf)
	} else {
		raw = strings.Clone(name)
	}
	k := sanitize(raw)
	if len(k) == 0 || k[0] == ';' {
		a.bad() // nothing left of the name
		return nil
	}
	it = t.byKey[k]
	if it == nil {
		it = &item[T]{key: newKey(k)}
		if init != nil {
			init(&it.key, &it.v)
		}
		t.items = append(t.items, it)
		if k != raw {
			t.byKey[k] = it
			it.keys = append(it.keys, k)
			a.names++
		}
	}
	t.byKey[raw] = it
	it.keys = append(it.keys, raw)
	a.names++
	a.stats.names.Store(uint64(a.names))
	return it
}

// prune removes the items drop selects, with all their keys, and returns
// how many keys went.
func (t *table[T]) prune(drop func(*item[T]) bool) int {
	n := 0
	kept := t.items[:0]
	for _, it := range t.items {
		if !drop(it) {
			kept = append(kept, it)
			continue
		}
		for _, k := range it.keys {
			delete(t.byKey, k)
		}
		n += len(it.keys)
	}
	clear(t.items[len(kept):])
	t.items = kept
	return n
}

type counterState struct{ value float64 }

type timerState struct {
	samples []float64
	count   float64 // the sum of 1/rate
	bins    []bin   // histogram, or nil
}

type gaugeState struct {
	value float64
	ttl   int // flushes left before an idle gauge is deleted
}

type setState struct{ members map[string]struct{} }

func newSet(_ *key, s *setState) { s.members = map[string]struct{}{} }

// newTimer sets up a new timer: a sample slice from a deleted timer if
// there is one, and its histogram bins.
func (a *Accumulator) newTimer(k *key, t *timerState) {
	if n := len(a.freeSamples); n > 0 {
		t.samples = a.freeSamples[n-1]
		a.freeSamples[n-1] = nil
		a.freeSamples = a.freeSamples[:n-1]
	}
	for i, h := range a.cfg.Histogram {
		if strings.Contains(k.name, h.Metric) {
			t.bins = a.histograms[i]
			break
		}
	}
}

// bin is one histogram bin: its exclusive upper bound and its name.
type bin struct {
	bound float64
	name  string
}

func newBins(bounds []float64) []bin {
	bins := make([]bin, len(bounds))
	for i, b := range bounds {
		bins[i] = bin{b, "bin_" + numberName(b)}
	}
	return bins
}
