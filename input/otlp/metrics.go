package otlp

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/metlog/metlog"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
)

// TypeHistogram is the Type of the messages an OTLP histogram data point
// becomes. Their payload is the number of observations; their fields are
// listed in docs/otlp.md.
const TypeHistogram = "histogram"

// Field names of histogram messages.
const (
	FieldCount   = "count"   // observations in the interval, integer
	FieldSum     = "sum"     // their sum, double
	FieldMin     = "min"     // double, delta points only
	FieldMax     = "max"     // double, delta points only
	FieldBounds  = "bounds"  // explicit bucket upper bounds, doubles
	FieldBuckets = "buckets" // observations per bucket, integers (len(bounds)+1)
)

// metricResult is what the metrics of one request became.
type metricResult struct {
	msgs     []*metlog.Message
	rejected int64    // data points not mapped
	errs     []string // why, a few of them
}

func (r *metricResult) reject(n int, format string, args ...any) {
	r.rejected += int64(n)
	if len(r.errs) < 5 {
		r.errs = append(r.errs, fmt.Sprintf(format, args...))
	}
}

// metricMessages maps every data point of a request, in order.
func (in *Input) metricMessages(rms []*metricspb.ResourceMetrics) metricResult {
	var res metricResult
	for _, rm := range rms {
		e := newEnvelope(rm.GetResource(), in.cfg.Logger)
		var res0 fieldList
		for _, kv := range rm.GetResource().GetAttributes() {
			if slices.Contains(in.cfg.ResourceFields, kv.GetKey()) {
				res0.value(ResourcePrefix+kv.GetKey(), kv.GetValue(), 0)
			}
		}
		resFields := res0.fields
		var rkey []byte
		for _, sm := range rm.GetScopeMetrics() {
			for _, mt := range sm.GetMetrics() {
				if mt == nil {
					continue
				}
				if rkey == nil {
					rkey = appendKeyAttrs(nil, rm.GetResource().GetAttributes())
				}
				p := point{in: in, e: &e, res: &res, resFields: resFields, metric: mt,
					keyPrefix: streamKeyPrefix(rkey, sm.GetScope(), mt)}
				p.add()
			}
		}
	}
	return res
}

// point maps the data points of one metric.
type point struct {
	in        *Input
	e         *envelope
	res       *metricResult
	resFields []metlog.Field
	metric    *metricspb.Metric
	keyPrefix string
}

func (p *point) add() {
	mt := p.metric
	switch d := mt.Data.(type) {
	case *metricspb.Metric_Gauge:
		for _, dp := range d.Gauge.GetDataPoints() {
			p.gauge(dp)
		}
	case *metricspb.Metric_Sum:
		s := d.Sum
		cumulative := s.AggregationTemporality == metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE
		for _, dp := range s.GetDataPoints() {
			switch {
			case s.IsMonotonic && cumulative:
				p.cumulativeCounter(dp)
			case s.IsMonotonic:
				p.counter(dp)
			case cumulative:
				p.gauge(dp)
			default:
				p.gaugeDelta(dp)
			}
		}
	case *metricspb.Metric_Histogram:
		cumulative := d.Histogram.AggregationTemporality == metricspb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE
		for _, dp := range d.Histogram.GetDataPoints() {
			p.histogram(dp, cumulative)
		}
	case *metricspb.Metric_ExponentialHistogram:
		p.res.reject(len(d.ExponentialHistogram.GetDataPoints()), "metric %q: exponential histograms are not supported", mt.Name)
	case *metricspb.Metric_Summary:
		p.res.reject(len(d.Summary.GetDataPoints()), "metric %q: summaries are not supported", mt.Name)
	default:
		p.res.reject(0, "metric %q has no data", mt.Name)
	}
}

// message starts a metric message for a data point.
func (p *point) message(typ string, ts uint64, payload string, attrs []*commonpb.KeyValue) *metlog.Message {
	m := p.e.message(typ, int64(min(ts, math.MaxInt64)), metlog.Info)
	m.Payload = payload
	l := newFieldList(1 + len(attrs) + len(p.resFields) + 6)
	l.str("name", p.metric.Name).Representation = p.metric.Unit
	for _, kv := range attrs {
		if kv == nil {
			continue
		}
		name := kv.Key
		if name == "name" || name == "rate" { // the metric message's own fields
			name = AttributePrefix + name
		}
		l.value(name, kv.Value, 0)
	}
	m.Fields = append(l.fields, p.resFields...)
	return m
}

// AttributePrefix is put before the data point attributes called "name"
// and "rate", which metric messages use for themselves.
const AttributePrefix = "attribute."

func (p *point) emit(m *metlog.Message) { p.res.msgs = append(p.res.msgs, m) }

func (p *point) gauge(dp *metricspb.NumberDataPoint) {
	if dp == nil {
		return
	}
	text, ok := valueText(dp)
	if !ok {
		p.res.reject(1, "metric %q: value %s is not finite", p.metric.Name, text)
		return
	}
	if text[0] == '-' {
		// A leading '-' makes a gauge payload a change, not a value: set 0 first, as statsd clients do.
		p.emit(p.message(metlog.TypeGauge, dp.TimeUnixNano, "0", dp.Attributes))
	}
	p.emit(p.message(metlog.TypeGauge, dp.TimeUnixNano, text, dp.Attributes))
}

func (p *point) gaugeDelta(dp *metricspb.NumberDataPoint) {
	if dp == nil {
		return
	}
	text, ok := valueText(dp)
	if !ok {
		p.res.reject(1, "metric %q: value %s is not finite", p.metric.Name, text)
		return
	}
	if text[0] != '-' {
		text = "+" + text
	}
	p.emit(p.message(metlog.TypeGauge, dp.TimeUnixNano, text, dp.Attributes))
}

func (p *point) counter(dp *metricspb.NumberDataPoint) {
	if dp == nil {
		return
	}
	text, ok := valueText(dp)
	if !ok {
		p.res.reject(1, "metric %q: value %s is not finite", p.metric.Name, text)
		return
	}
	p.emit(p.message(metlog.TypeCounter, dp.TimeUnixNano, text, dp.Attributes))
}

// cumulativeCounter turns a monotonic cumulative sum into the increment
// since the stream's previous point (see streams).
func (p *point) cumulativeCounter(dp *metricspb.NumberDataPoint) {
	if dp == nil {
		return
	}
	cur := numSample{start: dp.StartTimeUnixNano}
	switch v := dp.Value.(type) {
	case *metricspb.NumberDataPoint_AsInt:
		cur.isInt, cur.i = true, v.AsInt
	case *metricspb.NumberDataPoint_AsDouble:
		cur.f = v.AsDouble
	}
	if !cur.isInt && (math.IsNaN(cur.f) || math.IsInf(cur.f, 0)) {
		p.res.reject(1, "metric %q: value %v is not finite", p.metric.Name, cur.f)
		return
	}
	delta, ok := p.in.streams.counter(p.streamKey(dp.Attributes), cur)
	if !ok {
		return // the first point of a stream older than this input: a baseline
	}
	p.emit(p.message(metlog.TypeCounter, dp.TimeUnixNano, delta, dp.Attributes))
}

func (p *point) histogram(dp *metricspb.HistogramDataPoint, cumulative bool) {
	if dp == nil {
		return
	}
	if n := len(dp.BucketCounts); n != 0 && n != len(dp.ExplicitBounds)+1 {
		p.res.reject(1, "metric %q: %d bucket counts for %d bounds", p.metric.Name, n, len(dp.ExplicitBounds))
		return
	}
	h := histSample{start: dp.StartTimeUnixNano, count: dp.Count, sum: dp.Sum, hasSum: dp.Sum != nil,
		bounds: dp.ExplicitBounds, buckets: dp.BucketCounts}
	if cumulative {
		var ok bool
		if h, ok = p.in.streams.histogram(p.streamKey(dp.Attributes), h); !ok {
			return
		}
	} else {
		h.min, h.max = dp.Min, dp.Max
	}
	m := p.message(TypeHistogram, dp.TimeUnixNano, strconv.FormatUint(h.count, 10), dp.Attributes)
	m.Fields = append(m.Fields, metlog.Int(FieldCount, int64(min(h.count, math.MaxInt64))))
	if h.hasSum {
		m.Fields = append(m.Fields, metlog.Float(FieldSum, *h.sum))
	}
	if h.min != nil {
		m.Fields = append(m.Fields, metlog.Float(FieldMin, *h.min))
	}
	if h.max != nil {
		m.Fields = append(m.Fields, metlog.Float(FieldMax, *h.max))
	}
	if len(h.buckets) > 0 {
		counts := make([]int64, len(h.buckets))
		for i, c := range h.buckets {
			counts[i] = int64(min(c, math.MaxInt64))
		}
		m.Fields = append(m.Fields, metlog.Floats(FieldBounds, slices.Clone(h.bounds)...), metlog.Ints(FieldBuckets, counts...))
	}
	p.emit(m)
}

// streamKey identifies a data point's stream: resource, scope, metric and
// point attributes.
func (p *point) streamKey(attrs []*commonpb.KeyValue) string {
	b := []byte(p.keyPrefix)
	return string(appendKeyAttrs(b, attrs))
}

func streamKeyPrefix(resource []byte, scope *commonpb.InstrumentationScope, mt *metricspb.Metric) string {
	var b strings.Builder
	b.Write(resource)
	b.WriteByte(0)
	b.WriteString(scope.GetName())
	b.WriteByte(0)
	b.WriteString(scope.GetVersion())
	b.WriteByte(0)
	b.WriteString(mt.Name)
	b.WriteByte(0)
	return b.String()
}

// appendKeyAttrs appends attrs sorted by key, unambiguously.
func appendKeyAttrs(b []byte, attrs []*commonpb.KeyValue) []byte {
	sorted := slices.Clone(attrs)
	slices.SortFunc(sorted, func(a, b *commonpb.KeyValue) int { return strings.Compare(a.GetKey(), b.GetKey()) })
	for _, kv := range sorted {
		b = appendJSONString(b, kv.GetKey())
		b = append(b, ':')
		b = AppendJSON(b, kv.GetValue())
		b = append(b, ',')
	}
	return b
}

// valueText formats a number data point's value; ok is false for NaN and
// the infinities.
func valueText(dp *metricspb.NumberDataPoint) (string, bool) {
	switch v := dp.Value.(type) {
	case *metricspb.NumberDataPoint_AsInt:
		return strconv.FormatInt(v.AsInt, 10), true
	case *metricspb.NumberDataPoint_AsDouble:
		if math.IsNaN(v.AsDouble) || math.IsInf(v.AsDouble, 0) {
			return strconv.FormatFloat(v.AsDouble, 'g', -1, 64), false
		}
		return strconv.FormatFloat(v.AsDouble, 'g', -1, 64), true
	}
	return "0", true
}
