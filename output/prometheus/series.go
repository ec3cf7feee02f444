package prometheus

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output"
	"github.com/prometheus/client_golang/prometheus"
)

// kind is the Prometheus type a message type maps to.
type kind uint8

const (
	kindCounter kind = iota + 1
	kindGauge
	kindTimer
	kindHistogram
)

// TypeHistogram is the type of the messages an OpenTelemetry histogram
// data point becomes (input/otlp; docs/otlp.md): observations counted in
// buckets, not samples. Their fields:
const (
	TypeHistogram = "histogram"
	fieldCount    = "count"   // observations in the interval, integer
	fieldSum      = "sum"     // their sum, double
	fieldBounds   = "bounds"  // bucket upper bounds, doubles, increasing
	fieldBuckets  = "buckets" // observations per bucket, integers, len(bounds)+1
)

// maxWeight caps how many times one sampled timer observation counts.
const maxWeight = 1000

// Every series of a kind shares its help text, so that metrics whose
// original names sanitise to the same name still form one family.
var help = [...]string{
	kindCounter:   "Sum of metlog counter messages.",
	kindGauge:     "Last value of metlog gauge messages.",
	kindTimer:     "Durations of metlog timer messages, in seconds.",
	kindHistogram: "Distributions of metlog histogram messages.",
}

// label is one label of a message: its name, and its value as
// o.values[start:end].
type label struct {
	name       string
	start, end int
}

// maxCached bounds the caches of sanitised names; past it they start over.
const maxCached = 10000

// nameKey identifies a cached metric name.
type nameKey struct {
	kind kind
	raw  string
}

// series is one metric and label set, and its state.
type series struct {
	kind    kind
	name    string
	desc    *prometheus.Desc
	values  []string // label values, in desc's order
	updated time.Time

	value   float64            // counter, gauge
	buckets []uint64           // histogram: observations at or below each bound (not cumulative)
	bounds  []float64          // a histogram message's bounds (timers use Config.Buckets)
	count   uint64             // histogram
	sum     float64            // histogram
	summary prometheus.Summary // summary
}

// update folds m into its series.
func (o *Output) update(m *metlog.Message, now time.Time) {
	var k kind
	switch m.Type {
	case metlog.TypeCounter:
		k = kindCounter
	case metlog.TypeGauge:
		k = kindGauge
	case metlog.TypeTimer:
		k = kindTimer
	case TypeHistogram:
		o.updateHistogram(m, now)
		return
	default:
		o.stats.Skipped++
		return
	}
	raw := output.MetricName(m)
	v, delta, ok := output.MetricValue(m)
	if raw == "" || !ok || k == kindCounter && v < 0 {
		o.stats.Invalid++
		return
	}
	name := o.metricName(k, raw)
	if f := o.families[name]; f != nil && f.kind != k || f == nil && o.collides(k, name) {
		o.stats.Invalid++
		return
	}
	o.collectLabels(m)
	s := o.series[string(o.seriesKey(name))]
	if s == nil {
		if len(o.series) >= o.cfg.MaxSeries && now.Sub(o.lastSweep) >= time.Second {
			o.expire(now) // at most once a second: it visits every series
		}
		if len(o.series) >= o.cfg.MaxSeries {
			o.stats.Dropped++
			return
		}
		s = o.newSeries(k, name)
		o.series[string(o.key)] = s
	}
	s.updated = now
	o.stats.Updates++
	rate, sampled := output.SampleRate(m)
	switch k {
	case kindCounter:
		if sampled {
			v /= rate
		}
		s.value += v
	case kindGauge:
		if delta {
			s.value += v
		} else {
			s.value = v
		}
	case kindTimer:
		weight := uint64(1)
		if sampled {
			weight = uint64(min(math.Round(1/rate), maxWeight))
		}
		s.observe(v/1000, weight, o.cfg.Buckets)
	}
}

// updateHistogram folds a histogram message into its series: its counts
// add to the series', whose bounds are those of the messages. A message
// with other bounds than its series' starts the series again with them
// (Prometheus sees a reset).
func (o *Output) updateHistogram(m *metlog.Message, now time.Time) {
	raw := output.MetricName(m)
	count, cok := fieldInt(m, fieldCount)
	bounds, buckets := fieldDoubles(m, fieldBounds), fieldInts(m, fieldBuckets)
	sum := 0.0
	if f := m.Field(fieldSum); f != nil && f.Type == metlog.TypeDouble && len(f.Doubles) == 1 {
		sum = f.Doubles[0]
	}
	if raw == "" || !cok || count < 0 || len(buckets) != len(bounds)+1 || !slices.IsSorted(bounds) ||
		slices.ContainsFunc(buckets, func(b int64) bool { return b < 0 }) || math.IsNaN(sum) || math.IsInf(sum, 0) {
		o.stats.Invalid++
		return
	}
	name := o.metricName(kindHistogram, raw)
	if f := o.families[name]; f != nil && f.kind != kindHistogram || f == nil && o.collides(kindHistogram, name) {
		o.stats.Invalid++
		return
	}
	o.collectLabels(m)
	s := o.series[string(o.seriesKey(name))]
	if s == nil {
		if len(o.series) >= o.cfg.MaxSeries && now.Sub(o.lastSweep) >= time.Second {
			o.expire(now)
		}
		if len(o.series) >= o.cfg.MaxSeries {
			o.stats.Dropped++
			return
		}
		s = o.newSeries(kindHistogram, name)
		o.series[string(o.key)] = s
	}
	s.updated = now
	o.stats.Updates++
	if !slices.Equal(s.bounds, bounds) {
		s.bounds = slices.Clone(bounds)
		s.buckets = make([]uint64, len(bounds))
		s.count, s.sum = 0, 0
	}
	for i := range bounds {
		s.buckets[i] += uint64(buckets[i])
	}
	s.count += uint64(count)
	s.sum += sum
}

func fieldInt(m *metlog.Message, name string) (int64, bool) {
	if f := m.Field(name); f != nil && f.Type == metlog.TypeInteger && len(f.Integers) == 1 {
		return f.Integers[0], true
	}
	return 0, false
}

func fieldInts(m *metlog.Message, name string) []int64 {
	if f := m.Field(name); f != nil && f.Type == metlog.TypeInteger {
		return f.Integers
	}
	return nil
}

func fieldDoubles(m *metlog.Message, name string) []float64 {
	if f := m.Field(name); f != nil && f.Type == metlog.TypeDouble {
		return f.Doubles
	}
	return nil
}

// metricName is the sanitised name of a metric, with its namespace and the
// suffix of its kind.
func (o *Output) metricName(k kind, raw string) string {
	if name, ok := o.metricNames[nameKey{k, raw}]; ok {
		return name
	}
	var b strings.Builder
	if o.cfg.Namespace != "" {
		b.WriteString(o.cfg.Namespace)
		b.WriteByte('_')
	}
	b.WriteString(sanitizeName(raw))
	suffix := ""
	switch k {
	case kindCounter:
		suffix = "_total"
	case kindTimer:
		suffix = "_seconds"
	}
	if !strings.HasSuffix(b.String(), suffix) {
		b.WriteString(suffix)
	}
	if len(o.metricNames) >= maxCached {
		clear(o.metricNames)
	}
	o.metricNames[nameKey{k, raw}] = b.String()
	return b.String()
}

// labelName is the label name of the field called raw.
func (o *Output) labelName(raw string) string {
	if name, ok := o.labelNames[raw]; ok {
		return name
	}
	name := sanitizeName(raw)
	if reservedLabel(name) || name == o.cfg.LoggerLabel || name == o.cfg.HostnameLabel {
		name = "tag_" + name
	}
	if len(o.labelNames) >= maxCached {
		clear(o.labelNames)
	}
	o.labelNames[raw] = name
	return name
}

// collides reports whether a new family would clash with the _count,
// _sum and _bucket series of a histogram or summary, or the reverse.
func (o *Output) collides(k kind, name string) bool {
	for _, suffix := range []string{"_count", "_sum", "_bucket"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f := o.families[base]; f != nil && (f.kind == kindTimer || f.kind == kindHistogram) {
				return true
			}
		}
		if (k == kindTimer || k == kindHistogram) && o.families[name+suffix] != nil {
			return true
		}
	}
	return false
}

// collectLabels fills o.labels with m's labels, sorted by name, each name
// once, and o.values with their values, made valid UTF-8.
func (o *Output) collectLabels(m *metlog.Message) {
	ls, vs := o.labels[:0], o.values[:0]
	add := func(name, value string) {
		start := len(vs)
		vs = append(vs, value...)
		ls = append(ls, label{name, start, len(vs)})
	}
	if o.cfg.LoggerLabel != "" && m.Logger != "" {
		add(o.cfg.LoggerLabel, m.Logger)
	}
	if o.cfg.HostnameLabel != "" && m.Hostname != "" {
		add(o.cfg.HostnameLabel, m.Hostname)
	}
	if o.cfg.Tags {
		for i := range m.Fields {
			f := &m.Fields[i]
			switch f.Name {
			case "", "name", "rate", metlog.PayloadTypeField:
				continue
			case fieldCount, fieldSum, "min", "max", fieldBounds, fieldBuckets:
				if m.Type == TypeHistogram {
					continue
				}
			}
			if f.Type == metlog.TypeBytes || f.Len() == 0 {
				continue
			}
			start := len(vs)
			vs = appendFieldText(vs, f)
			ls = append(ls, label{o.labelName(f.Name), start, len(vs)})
		}
	}
	slices.SortStableFunc(ls, func(a, b label) int { return strings.Compare(a.name, b.name) })
	ls = slices.CompactFunc(ls, func(a, b label) bool { return a.name == b.name }) // the first wins
	for i, l := range ls {
		if v := vs[l.start:l.end]; !utf8.Valid(v) {
			// Replace invalid bytes before keying the series, so that
			// values that differ only there are one series.
			fixed := bytes.ToValidUTF8(v, []byte("\uFFFD"))
			ls[i].start = len(vs)
			vs = append(vs, fixed...)
			ls[i].end = len(vs)
		}
	}
	o.labels, o.values = ls, vs
}

// seriesKey builds the key of the series name{o.labels} in o.key.
func (o *Output) seriesKey(name string) []byte {
	k := append(o.key[:0], name...)
	for _, l := range o.labels {
		k = append(k, 0xff)
		k = append(k, l.name...)
		k = append(k, 0xfe)
		k = append(k, o.values[l.start:l.end]...)
	}
	o.key = k
	return k
}

// newSeries makes the series name{o.labels} and counts it in its family.
func (o *Output) newSeries(k kind, name string) *series {
	names := make([]string, len(o.labels))
	values := make([]string, len(o.labels))
	for i, l := range o.labels {
		names[i], values[i] = l.name, string(o.values[l.start:l.end])
	}
	s := &series{kind: k, name: name, values: values}
	switch {
	case k == kindTimer && o.cfg.Timers == "summary":
		constLabels := prometheus.Labels{}
		for i, n := range names {
			constLabels[n] = values[i]
		}
		objectives := make(map[float64]float64, len(o.cfg.Quantiles))
		for _, q := range o.cfg.Quantiles {
			objectives[q] = min(q, 1-q) / 10
		}
		s.summary = prometheus.NewSummary(prometheus.SummaryOpts{
			Name: name, Help: help[k], ConstLabels: constLabels,
			Objectives: objectives, MaxAge: o.cfg.SummaryMaxAge.D(),
		})
	default:
		s.desc = prometheus.NewDesc(name, help[k], names, nil)
		if k == kindTimer {
			s.buckets = make([]uint64, len(o.cfg.Buckets))
		}
	}
	f := o.families[name]
	if f == nil {
		f = &family{kind: k}
		o.families[name] = f
	}
	f.series++
	return s
}

// observe records a duration in seconds, weight times.
func (s *series) observe(v float64, weight uint64, bounds []float64) {
	if s.summary != nil {
		for range weight {
			s.summary.Observe(v)
		}
		return
	}
	if i, _ := slices.BinarySearch(bounds, v); i < len(bounds) {
		s.buckets[i] += weight
	}
	s.count += weight
	s.sum += v * float64(weight)
}

// expire removes the series not updated within ExpireAfter of now.
func (o *Output) expire(now time.Time) {
	if o.cfg.ExpireAfter <= 0 {
		return
	}
	o.lastSweep = now
	cutoff := now.Add(-o.cfg.ExpireAfter.D())
	for key, s := range o.series {
		if s.updated.Before(cutoff) {
			delete(o.series, key)
			o.stats.Expired++
			if f := o.families[s.name]; f != nil {
				if f.series--; f.series == 0 {
					delete(o.families, s.name)
				}
			}
		}
	}
}

// collector exposes the output's series to its registry. It is unchecked:
// Describe sends nothing, since the series are not known in advance.
type collector struct{ o *Output }

func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	o := c.o
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expire(o.now())
	for _, s := range o.series {
		switch {
		case s.summary != nil:
			s.summary.Collect(ch)
		case s.kind == kindCounter:
			ch <- constMetric(prometheus.NewConstMetric(s.desc, prometheus.CounterValue, s.value, s.values...))
		case s.kind == kindGauge:
			ch <- constMetric(prometheus.NewConstMetric(s.desc, prometheus.GaugeValue, s.value, s.values...))
		default:
			bounds := o.cfg.Buckets
			if s.kind == kindHistogram {
				bounds = s.bounds
			}
			cumulative := make(map[float64]uint64, len(s.buckets))
			var n uint64
			for i, b := range bounds {
				n += s.buckets[i]
				cumulative[b] = n
			}
			ch <- constMetric(prometheus.NewConstHistogram(s.desc, s.count, s.sum, cumulative, s.values...))
		}
	}
}

// constMetric passes on a metric, or the error that made it invalid.
func constMetric(m prometheus.Metric, err error) prometheus.Metric {
	if err != nil {
		return prometheus.NewInvalidMetric(prometheus.NewDesc("metlog_invalid_metric", "", nil, nil), err)
	}
	return m
}

// sanitizeName makes s a valid Prometheus metric or label name: characters
// other than ASCII letters, digits and '_' become '_', and a leading digit
// gets a '_' before it. Each invalid UTF-8 byte or non-ASCII character
// becomes one '_'.
func sanitizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 1)
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// reservedLabel reports whether name is a label Prometheus reserves, or one
// that histograms and summaries use.
func reservedLabel(name string) bool {
	return name == "le" || name == "quantile" || strings.HasPrefix(name, "__")
}

// appendFieldText appends a field's values, comma separated.
func appendFieldText(b []byte, f *metlog.Field) []byte {
	for i := range f.Len() {
		if i > 0 {
			b = append(b, ',')
		}
		switch f.Type {
		case metlog.TypeString:
			b = append(b, f.Strings[i]...)
		case metlog.TypeInteger:
			b = strconv.AppendInt(b, f.Integers[i], 10)
		case metlog.TypeDouble:
			b = strconv.AppendFloat(b, f.Doubles[i], 'g', -1, 64)
		case metlog.TypeBool:
			b = strconv.AppendBool(b, f.Bools[i])
		}
	}
	return b
}
