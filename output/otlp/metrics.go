package otlp

import (
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/metlog/metlog"
	statsdagg "github.com/metlog/metlog/aggregate/statsd"
	otlpin "github.com/metlog/metlog/input/otlp"
	"github.com/metlog/metlog/output"
	colmetricspb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// isMetric reports whether m goes out as metric data points.
func isMetric(m *metlog.Message) bool {
	switch m.Type {
	case metlog.TypeCounter, metlog.TypeGauge, metlog.TypeTimer, otlpin.TypeHistogram, statsdagg.TypeStatMetric:
		return true
	}
	return false
}

// metricBatch builds one export request from a batch of metric messages,
// aggregating per series (resource, name and the other fields):
//
//	counter     a delta monotonic Sum: the payloads added up, each divided by its rate
//	gauge       a Gauge: the last value; +N and -N change the value this output last sent
//	timer       a delta Histogram in ms over Config.TimerBuckets, with count, sum, min and max
//	histogram   (from the otlp input) a delta Histogram point rebuilt from its fields
//	statmetric  (from the statsd accumulator) one Gauge per field
//
// Messages that cannot be used as metrics (no name, a payload that is not
// a finite number, a histogram without a count) are sent as log records
// instead.
type metricBatch struct {
	o         *Output
	req       *colmetricspb.ExportMetricsServiceRequest
	resources map[string]*metricspb.ScopeMetrics
	series    map[string]*seriesPoint
	key       []byte // scratch for series keys
	// gauges are the values this batch sets, committed to Output.gauges
	// once it is sent (so that a retried batch applies its changes once).
	gauges map[string]float64
}

// seriesPoint is the point a series gets in this batch.
type seriesPoint struct {
	key    string
	number *metricspb.NumberDataPoint
	hist   *metricspb.HistogramDataPoint
	isInt  bool
}

func (o *Output) newMetricBatch() *metricBatch {
	return &metricBatch{o: o, req: &colmetricspb.ExportMetricsServiceRequest{},
		resources: map[string]*metricspb.ScopeMetrics{}, series: map[string]*seriesPoint{}, gauges: map[string]float64{}}
}

// scope returns the scope metrics of m's resource, and the resource key.
func (b *metricBatch) scope(m *metlog.Message) (*metricspb.ScopeMetrics, []byte) {
	b.key = appendResourceKey(b.key[:0], m)
	sm := b.resources[string(b.key)]
	if sm == nil {
		sm = &metricspb.ScopeMetrics{}
		b.resources[string(b.key)] = sm
		b.req.ResourceMetrics = append(b.req.ResourceMetrics, &metricspb.ResourceMetrics{Resource: resourceOf(m), ScopeMetrics: []*metricspb.ScopeMetrics{sm}})
	}
	return sm, b.key
}

// attributes returns the data point attributes of a metric message: every
// field but name, rate, the resource.* fields and those of histograms.
func attributes(m *metlog.Message) []*commonpb.KeyValue {
	var attrs []*commonpb.KeyValue
	for i := range m.Fields {
		if f := &m.Fields[i]; isAttribute(m, f) {
			name, _ := strings.CutPrefix(f.Name, otlpin.AttributePrefix)
			attrs = append(attrs, &commonpb.KeyValue{Key: validUTF8(name), Value: fieldValue(f)})
		}
	}
	return attrs
}

// appendAttributesKey appends what identifies the attributes of m.
func appendAttributesKey(b []byte, m *metlog.Message) []byte {
	for i := range m.Fields {
		if f := &m.Fields[i]; isAttribute(m, f) {
			b = appendFieldKey(b, f)
		}
	}
	return b
}

func isAttribute(m *metlog.Message, f *metlog.Field) bool {
	switch f.Name {
	case "name", "rate", metlog.PayloadTypeField:
		return false
	}
	if m.Type == otlpin.TypeHistogram {
		switch f.Name {
		case otlpin.FieldCount, otlpin.FieldSum, otlpin.FieldMin, otlpin.FieldMax, otlpin.FieldBounds, otlpin.FieldBuckets:
			return false
		}
	}
	return f.Len() > 0 && !strings.HasPrefix(f.Name, otlpin.ResourcePrefix)
}

// metric finds or adds the metric called name of kind in sm.
func metric(sm *metricspb.ScopeMetrics, name, unit string, kind string) *metricspb.Metric {
	for _, mt := range sm.Metrics {
		if mt.Name == validUTF8(name) && metricKind(mt) == kind {
			return mt
		}
	}
	mt := &metricspb.Metric{Name: validUTF8(name), Unit: validUTF8(unit)}
	delta := metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_DELTA
	switch kind {
	case metlog.TypeCounter:
		mt.Data = &metricspb.Metric_Sum{Sum: &metricspb.Sum{AggregationTemporality: delta, IsMonotonic: true}}
	case metlog.TypeGauge:
		mt.Data = &metricspb.Metric_Gauge{Gauge: &metricspb.Gauge{}}
	default:
		mt.Data = &metricspb.Metric_Histogram{Histogram: &metricspb.Histogram{AggregationTemporality: delta}}
	}
	sm.Metrics = append(sm.Metrics, mt)
	return mt
}

func metricKind(mt *metricspb.Metric) string {
	switch mt.Data.(type) {
	case *metricspb.Metric_Sum:
		return metlog.TypeCounter
	case *metricspb.Metric_Gauge:
		return metlog.TypeGauge
	}
	return otlpin.TypeHistogram
}

// add adds one metric message to the batch, or reports false when it
// cannot be used as a metric.
func (b *metricBatch) add(m *metlog.Message) bool {
	if m.Type == statsdagg.TypeStatMetric {
		b.statMetric(m)
		return true
	}
	name := output.MetricName(m)
	if name == "" {
		return false
	}
	unit := m.Field("name").Representation
	if m.Type == otlpin.TypeHistogram {
		return b.histogram(m, name, unit)
	}
	v, delta, ok := output.MetricValue(m)
	if !ok {
		return false
	}
	sm, key := b.scope(m)
	kind := m.Type
	if kind == metlog.TypeTimer {
		kind = otlpin.TypeHistogram
		if unit == "" {
			unit = "ms"
		}
	}
	key = append(key, 0)
	key = appendString(key, kind)
	key = appendString(key, name)
	key = appendAttributesKey(key, m)
	b.key = key
	ts := uint64(max(m.Timestamp, 0))
	p := b.series[string(key)]
	if p == nil {
		skey := string(key)
		p = &seriesPoint{key: skey}
		b.series[skey] = p
		attrs := attributes(m)
		mt := metric(sm, name, unit, kind)
		switch d := mt.Data.(type) {
		case *metricspb.Metric_Sum:
			p.number = &metricspb.NumberDataPoint{Attributes: attrs, StartTimeUnixNano: ts}
			p.isInt = true
			d.Sum.DataPoints = append(d.Sum.DataPoints, p.number)
		case *metricspb.Metric_Gauge:
			p.number = &metricspb.NumberDataPoint{Attributes: attrs}
			d.Gauge.DataPoints = append(d.Gauge.DataPoints, p.number)
		case *metricspb.Metric_Histogram:
			p.hist = &metricspb.HistogramDataPoint{Attributes: attrs, StartTimeUnixNano: ts,
				ExplicitBounds: slices.Clone(b.o.cfg.TimerBuckets), BucketCounts: make([]uint64, len(b.o.cfg.TimerBuckets)+1)}
			d.Histogram.DataPoints = append(d.Histogram.DataPoints, p.hist)
		}
	}
	switch m.Type {
	case metlog.TypeCounter:
		if rate, sampled := output.SampleRate(m); sampled {
			v /= rate
		}
		p.number.TimeUnixNano = max(p.number.TimeUnixNano, ts)
		p.isInt = p.isInt && v == math.Trunc(v) && math.Abs(v) < 1<<53
		cur := p.number.GetAsDouble() + float64(p.number.GetAsInt())
		if p.isInt {
			p.number.Value = &metricspb.NumberDataPoint_AsInt{AsInt: int64(cur + v)}
		} else {
			p.number.Value = &metricspb.NumberDataPoint_AsDouble{AsDouble: cur + v}
		}
	case metlog.TypeGauge:
		if delta {
			last, ok := b.gauges[p.key]
			if !ok {
				last = b.o.gauges.get(p.key)
			}
			v += last
		}
		b.gauges[p.key] = v
		p.number.TimeUnixNano = max(p.number.TimeUnixNano, ts)
		p.number.Value = &metricspb.NumberDataPoint_AsDouble{AsDouble: v}
	case metlog.TypeTimer:
		n := uint64(1)
		if rate, sampled := output.SampleRate(m); sampled {
			n = uint64(min(math.Round(1/rate), 1000))
		}
		h := p.hist
		h.TimeUnixNano = max(h.TimeUnixNano, ts)
		if h.Count == 0 || v < h.GetMin() {
			h.Min = &v
		}
		if h.Count == 0 || v > h.GetMax() {
			vv := v
			h.Max = &vv
		}
		h.Count += n
		sum := h.GetSum() + v*float64(n)
		h.Sum = &sum
		i, _ := slices.BinarySearch(h.ExplicitBounds, v) // buckets are (lower, upper]
		h.BucketCounts[i] += n
	}
	return true
}

// histogram adds the point a histogram message carries.
func (b *metricBatch) histogram(m *metlog.Message, name, unit string) bool {
	count := m.Field(otlpin.FieldCount)
	if count == nil || count.Type != metlog.TypeInteger || len(count.Integers) != 1 || count.Integers[0] < 0 {
		return false
	}
	sm, _ := b.scope(m)
	attrs := attributes(m)
	ts := uint64(max(m.Timestamp, 0))
	dp := &metricspb.HistogramDataPoint{Attributes: attrs, TimeUnixNano: ts, Count: uint64(count.Integers[0])}
	double := func(name string) *float64 {
		if f := m.Field(name); f != nil && f.Type == metlog.TypeDouble && len(f.Doubles) == 1 {
			v := f.Doubles[0]
			return &v
		}
		return nil
	}
	dp.Sum, dp.Min, dp.Max = double(otlpin.FieldSum), double(otlpin.FieldMin), double(otlpin.FieldMax)
	bounds, buckets := m.Field(otlpin.FieldBounds), m.Field(otlpin.FieldBuckets)
	if bounds != nil && buckets != nil && bounds.Type == metlog.TypeDouble && buckets.Type == metlog.TypeInteger &&
		len(buckets.Integers) == len(bounds.Doubles)+1 {
		dp.ExplicitBounds = slices.Clone(bounds.Doubles)
		for _, c := range buckets.Integers {
			dp.BucketCounts = append(dp.BucketCounts, uint64(max(c, 0)))
		}
	}
	mt := metric(sm, name, unit, otlpin.TypeHistogram)
	h := mt.Data.(*metricspb.Metric_Histogram).Histogram
	h.DataPoints = append(h.DataPoints, dp)
	return true
}

// statMetric adds one gauge per double field of a statsd accumulator
// message.
func (b *metricBatch) statMetric(m *metlog.Message) {
	sm, _ := b.scope(m)
	ts := uint64(max(m.Timestamp, 0))
	for i := range m.Fields {
		f := &m.Fields[i]
		if f.Type != metlog.TypeDouble || len(f.Doubles) != 1 || f.Name == "" {
			continue
		}
		mt := metric(sm, f.Name, "", metlog.TypeGauge)
		g := mt.Data.(*metricspb.Metric_Gauge).Gauge
		g.DataPoints = append(g.DataPoints, &metricspb.NumberDataPoint{TimeUnixNano: ts,
			Value: &metricspb.NumberDataPoint_AsDouble{AsDouble: f.Doubles[0]}})
	}
}

// gauges keeps the last value sent of each gauge series, for +N and -N
// payloads. It holds at most max series and starts over when full.
type gauges struct {
	mu  sync.Mutex
	m   map[string]float64
	max int
}

func (g *gauges) get(key string) float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.m[key]
}

// commit keeps the values a sent batch set.
func (g *gauges) commit(values map[string]float64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, v := range values {
		g.set(k, v)
	}
}

func (g *gauges) set(key string, v float64) {
	if g.m == nil {
		g.m = map[string]float64{}
	}
	if _, ok := g.m[key]; !ok && len(g.m) >= g.max {
		clear(g.m)
	}
	g.m[key] = v
}
