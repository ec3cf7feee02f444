package statsd

import (
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/metlog/metlog"
)

// TypeStatMetric is the Type of the messages an accumulator emits.
const TypeStatMetric = "statmetric"

// Flush computes every metric, emits them and resets the accumulator for
// the next interval, as statsd does at each flush.
func (a *Accumulator) Flush(now time.Time, emit func(*metlog.Message)) {
	start := time.Now()
	w := &a.flush
	w.start(a, now, emit)
	ns := &a.ns

	counter := func(k *key, v float64) {
		w.add(ns.counterRate, k, ns.rateExtra, "", v/a.seconds)
		if a.cfg.FlushCounts {
			w.add(ns.counterCount, k, ns.countExtra, "", v)
		}
	}
	// statsd's own counters, which it keeps among the others and never
	// deletes: lines received, and those that were malformed.
	counter(&a.ownKeys[0], float64(a.periodBad))
	counter(&a.ownKeys[1], float64(a.periodReceived))
	for _, c := range a.counters.items {
		counter(&c.key, c.v.value)
	}
	for _, t := range a.timers.items {
		a.flushTimer(w, t)
	}
	for _, g := range a.gauges.items {
		w.add(ns.gauge, &g.key, "", "", g.v.value)
	}
	for _, s := range a.sets.items {
		w.add(ns.set, &s.key, "count", "", float64(len(s.v.members)))
	}
	numStats := len(a.ownKeys) + len(a.counters.items) + len(a.timers.items) + len(a.gauges.items) + len(a.sets.items)
	w.add("", &key{name: ns.numStats, split: len(ns.numStats)}, "", "", float64(numStats))
	ms := float64(time.Since(start)) / float64(time.Millisecond)
	w.add("", &key{name: ns.procTime, split: len(ns.procTime)}, "", "", ms)
	w.finish()

	a.reset()
	a.stats.flushes.Add(1)
	if a.periodDropped > 0 {
		a.log.Warn("metrics dropped: too many distinct names", "dropped", a.periodDropped, "max_names", a.cfg.MaxNames)
	}
	if a.periodBad > 0 {
		a.log.Warn("malformed metric messages skipped", "bad", a.periodBad)
	}
	a.periodReceived, a.periodBad, a.periodDropped = 0, 0, 0
}

// reset clears or deletes every metric after a flush.
func (a *Accumulator) reset() {
	if a.deleteCounters {
		a.names -= a.counters.prune(func(*item[counterState]) bool { return true })
	} else {
		for _, c := range a.counters.items {
			c.v.value = 0
		}
	}
	if a.deleteTimers {
		a.names -= a.timers.prune(func(t *item[timerState]) bool {
			if len(a.freeSamples) < maxFreeSamples && cap(t.v.samples) <= maxPooledSamples {
				a.freeSamples = append(a.freeSamples, t.v.samples[:0])
			}
			return true
		})
	} else {
		for _, t := range a.timers.items {
			if cap(t.v.samples) > maxPooledSamples && len(t.v.samples) < cap(t.v.samples)/4 {
				t.v.samples = nil // a burst is over: let its memory go
			}
			t.v.samples, t.v.count = t.v.samples[:0], 0
		}
	}
	if a.deleteGauges {
		a.names -= a.gauges.prune(func(g *item[gaugeState]) bool {
			g.v.ttl--
			return g.v.ttl < 1
		})
	}
	if a.deleteSets {
		a.names -= a.sets.prune(func(*item[setState]) bool { return true })
	} else {
		for _, s := range a.sets.items {
			clear(s.v.members)
		}
	}
	a.stats.names.Store(uint64(a.names))
}

// Bounds on the sample slices kept for reuse.
const (
	maxFreeSamples   = 1024
	maxPooledSamples = 1 << 16
)

// percentile is one configured percentile and the names of its metrics.
type percentile struct {
	p                                   float64
	count, mean, bound, sum, sumSquares string
}

func newPercentile(p float64) percentile {
	n := numberName(p)
	bound := "upper_" + n
	if p < 0 {
		bound = "lower_" + n
	}
	return percentile{p: p, count: "count_" + n, mean: "mean_" + n, bound: bound, sum: "sum_" + n, sumSquares: "sum_squares_" + n}
}

// timerWant says which timer metrics are emitted.
type timerWant struct {
	count, countPS, mean, upper, lower, sum, sumSquares, median, std, histogram bool
	pCount, pMean, pUpper, pLower, pSum, pSumSquares                            bool
}

func newTimerWant(names []string) timerWant {
	if len(names) == 0 {
		return timerWant{true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true}
	}
	has := func(s string) bool { return slices.Contains(names, s) }
	return timerWant{
		count: has("count"), countPS: has("count_ps"), mean: has("mean"), upper: has("upper"), lower: has("lower"),
		sum: has("sum"), sumSquares: has("sum_squares"), median: has("median"), std: has("std"), histogram: has("histogram"),
		pCount: has("count_percent"), pMean: has("mean_percent"), pUpper: has("upper_percent"),
		pLower: has("lower_percent"), pSum: has("sum_percent"), pSumSquares: has("sum_squares_percent"),
	}
}

// flushTimer emits one timer's metrics, computed as statsd's
// process_metrics does, in the same order of floating-point operations.
func (a *Accumulator) flushTimer(w *flushState, t *item[timerState]) {
	want := &a.timerWant
	prefix, k := a.ns.timer, &t.key
	v := t.v.samples
	n := len(v)
	if n == 0 {
		if want.count {
			w.add(prefix, k, "count", "", 0)
		}
		if want.countPS {
			w.add(prefix, k, "count_ps", "", 0)
		}
		return
	}
	slices.Sort(v)
	lo, hi := v[0], v[n-1]
	cum := slices.Grow(a.flush.cum[:0], n)[:n]
	cumSq := slices.Grow(a.flush.cumSq[:0], n)[:n]
	a.flush.cum, a.flush.cumSq = cum, cumSq
	cum[0], cumSq[0] = lo, lo*lo
	for i := 1; i < n; i++ {
		cum[i] = v[i] + cum[i-1]
		cumSq[i] = v[i]*v[i] + cumSq[i-1]
	}
	// below is the running sum before index i; statsd reads index -1 as
	// undefined and emits NaN there, where this is the sum of every value.
	below := func(c []float64, i int) float64 {
		if i < 0 {
			return 0
		}
		return c[i]
	}
	for _, p := range a.percentiles {
		num := n
		sum, sumSq, mean, boundary := lo, lo*lo, lo, hi
		if n > 1 {
			num = int(math.Round(math.Abs(p.p) / 100 * float64(n)))
			if num == 0 {
				continue
			}
			if p.p > 0 {
				boundary, sum, sumSq = v[num-1], cum[num-1], cumSq[num-1]
			} else {
				boundary = v[n-num]
				sum = cum[n-1] - below(cum, n-num-1)
				sumSq = cumSq[n-1] - below(cumSq, n-num-1)
			}
			mean = sum / float64(num)
		}
		if want.pCount {
			w.add(prefix, k, p.count, "", float64(num))
		}
		if want.pMean {
			w.add(prefix, k, p.mean, "", mean)
		}
		if p.p > 0 && want.pUpper || p.p < 0 && want.pLower {
			w.add(prefix, k, p.bound, "", boundary)
		}
		if want.pSum {
			w.add(prefix, k, p.sum, "", sum)
		}
		if want.pSumSquares {
			w.add(prefix, k, p.sumSquares, "", sumSq)
		}
	}
	sum, sumSq := cum[n-1], cumSq[n-1]
	mean := sum / float64(n)
	var diffs float64
	for _, x := range v {
		diffs += (x - mean) * (x - mean)
	}
	mid := n / 2
	median := v[mid]
	if n%2 == 0 {
		median = (v[mid-1] + v[mid]) / 2
	}
	for _, m := range [...]struct {
		want bool
		name string
		v    float64
	}{
		{want.std, "std", math.Sqrt(diffs / float64(n))},
		{want.upper, "upper", hi},
		{want.lower, "lower", lo},
		{want.count, "count", t.v.count},
		{want.countPS, "count_ps", t.v.count / a.seconds},
		{want.sum, "sum", sum},
		{want.sumSquares, "sum_squares", sumSq},
		{want.mean, "mean", mean},
		{want.median, "median", median},
	} {
		if m.want {
			w.add(prefix, k, m.name, "", m.v)
		}
	}
	if want.histogram && len(t.v.bins) > 0 {
		i := 0
		for _, b := range t.v.bins {
			freq := 0
			for ; i < n && v[i] < b.bound; i++ {
				freq++
			}
			w.add(prefix, k, "histogram", b.name, float64(freq))
		}
	}
}

// flushState builds the messages of a flush: graphite lines in buf, whose
// names double as the field names once buf is a string.
type flushState struct {
	a      *Accumulator
	emit   func(*metlog.Message)
	now    int64
	ts     []byte // " <unix seconds>\n"
	buf    []byte
	names  []span
	values []float64
	size   int // estimated encoded size of the message being built
	fields []metlog.Field
	msg    metlog.Message

	cum, cumSq []float64 // a timer's running sums
}

type span struct{ start, end int }

// Estimated protobuf sizes: a double field beyond its name, and the
// envelope (UUID, timestamp, type, the router's derived_by field…) beyond
// logger and hostname.
const (
	fieldOverhead    = 24
	envelopeOverhead = 256
)

func (w *flushState) start(a *Accumulator, now time.Time, emit func(*metlog.Message)) {
	w.a, w.emit, w.now = a, emit, now.UnixNano()
	// statsd rounds the flush time to the nearest second.
	sec := (now.UnixMilli() + 500) / 1000
	w.ts = append(strconv.AppendInt(append(w.ts[:0], ' '), sec, 10), '\n')
	w.buf, w.names, w.values = w.buf[:0], w.names[:0], w.values[:0]
	w.size = w.overhead()
}

func (w *flushState) overhead() int {
	return envelopeOverhead + len(w.a.cfg.Logger) + len(w.a.hostname)
}

// add appends one metric: prefix, the key's name, the extra parts, the
// global suffix and the key's tags make its name.
func (w *flushState) add(prefix string, k *key, extra1, extra2 string, v float64) {
	start := len(w.buf)
	b := append(w.buf, prefix...)
	b = append(b, k.name[:k.split]...)
	if extra1 != "" {
		b = append(append(b, '.'), extra1...)
	}
	if extra2 != "" {
		b = append(append(b, '.'), extra2...)
	}
	b = append(b, w.a.ns.suffix...)
	b = append(b, k.name[k.split:]...)
	end := len(b)
	b = append(b, ' ')
	b = appendNumber(b, v)
	b = append(b, w.ts...)
	w.buf = b
	cost := len(b) - start + end - start + fieldOverhead
	if w.size+cost > w.a.cfg.MaxMessageSize && len(w.names) > 0 {
		// This line starts the next message.
		w.send(start)
		w.buf = w.buf[:copy(w.buf, w.buf[start:])]
		start, end = 0, end-start
	}
	w.size += cost
	w.names = append(w.names, span{start, end})
	w.values = append(w.values, v)
}

// send emits the lines before upto as one message.
func (w *flushState) send(upto int) {
	payload := string(w.buf[:upto])
	fields := w.fields[:0]
	for i, s := range w.names {
		fields = append(fields, metlog.Field{Name: payload[s.start:s.end], Type: metlog.TypeDouble, Doubles: w.values[i : i+1 : i+1]})
	}
	w.fields = fields
	w.msg = metlog.Message{
		Timestamp:  w.now,
		Type:       TypeStatMetric,
		Logger:     w.a.cfg.Logger,
		Severity:   metlog.Info,
		Payload:    payload,
		EnvVersion: metlog.EnvVersion,
		Pid:        w.a.pid,
		Hostname:   w.a.hostname,
		Fields:     fields,
	}
	w.emit(&w.msg)
	w.a.stats.emitted.Add(1)
	w.names, w.values = w.names[:0], w.values[:0]
	w.size = w.overhead()
}

// finish emits what is left and drops references to what was emitted.
func (w *flushState) finish() {
	if len(w.names) > 0 {
		w.send(len(w.buf))
	}
	clear(w.fields)
	w.msg = metlog.Message{}
	w.emit = nil
	if cap(w.buf) > 4*w.a.cfg.MaxMessageSize {
		w.buf = nil
	}
	if cap(w.cum) > maxPooledSamples { // a burst is over: let its memory go
		w.cum, w.cumSq = nil, nil
	}
}
