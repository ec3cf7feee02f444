package router

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/pprof"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/journal"
	"github.com/metlog/metlog/store"
	"github.com/metlog/metlog/web"
)

// Status is what /api/status reports: the router's health at one moment.
type Status struct {
	Version       string                     `json:"version"`
	UptimeSeconds float64                    `json:"uptime_seconds"`
	Journal       JournalStatus              `json:"journal"`
	Inputs        map[string]InputStatus     `json:"inputs"`
	Aggregates    map[string]AggregateStatus `json:"aggregates"`
	Outputs       map[string]OutputStatus    `json:"outputs"`
}

// AggregateStatus is one aggregator's counters and lag.
type AggregateStatus struct {
	Type       string `json:"type"`
	Match      string `json:"match"`
	Read       uint64 `json:"read"`
	Matched    uint64 `json:"matched"`
	Emitted    uint64 `json:"emitted"`
	Flushes    uint64 `json:"flushes"`
	LagRecords uint64 `json:"lag_records"`
	LagBytes   int64  `json:"lag_bytes"`
}

// JournalStatus summarises the journal.
type JournalStatus struct {
	Bytes    int64  `json:"bytes"`
	Segments int    `json:"segments"`
	Appended uint64 `json:"appended"`
	Full     uint64 `json:"full"`
	Torn     uint64 `json:"torn"`
	Corrupt  uint64 `json:"corrupt"`
	// Oversize counts messages too large to journal, dropped.
	Oversize uint64 `json:"oversize"`
}

// InputStatus is one input's counters.
type InputStatus struct {
	Type    string `json:"type"`
	Address string `json:"address,omitempty"`
	input.Snapshot
	// MalformedKinds breaks Rejected["malformed"] down by what was wrong,
	// for inputs that tell (MalformedKinder).
	MalformedKinds map[string]uint64 `json:"malformed_kinds,omitempty"`
}

// MalformedKinder is implemented by inputs that count malformed messages
// by kind ("bad_value", "bad_pri", …).
type MalformedKinder interface {
	MalformedKinds() map[string]uint64
}

// OutputStatus is one output's counters and lag.
type OutputStatus struct {
	Type      string `json:"type"`
	Match     string `json:"match"`
	Read      uint64 `json:"read"`
	Matched   uint64 `json:"matched"`
	Delivered uint64 `json:"delivered"`
	Retries   uint64 `json:"retries"`
	Permanent uint64 `json:"permanent_errors"`
	Corrupt   uint64 `json:"corrupt"`
	// LagRecords and LagBytes are how far the output is behind the
	// journal's head.
	LagRecords uint64 `json:"lag_records"`
	LagBytes   int64  `json:"lag_bytes"`
	LastError  string `json:"last_error,omitempty"`
	// Store holds the totals of the store output's embedded store.
	Store *store.Stats `json:"store,omitempty"`
}

// StoreStatser is implemented by the store output.
type StoreStatser interface {
	StoreStats() (store.Stats, bool)
}

// Status returns the router's current status.
func (r *Router) Status() Status {
	js := r.journal.Stats()
	readers := map[string]journal.ReaderStats{}
	for _, rs := range js.Readers {
		readers[rs.Name] = rs
	}
	st := Status{
		Version:       r.opts.Version,
		UptimeSeconds: time.Since(r.started).Seconds(),
		Journal: JournalStatus{
			Bytes: js.Bytes, Segments: js.Segments, Appended: js.Appended, Full: js.Full,
			Torn: js.Torn, Corrupt: js.Corrupt, Oversize: r.sink.oversize.Load(),
		},
		Inputs:     map[string]InputStatus{},
		Aggregates: map[string]AggregateStatus{},
		Outputs:    map[string]OutputStatus{},
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, in := range r.inputs {
		is := InputStatus{Type: in.typ, Snapshot: in.in.Counters().Snapshot()}
		if a, ok := in.in.(Addresser); ok {
			is.Address = a.Addr().String()
		}
		if k, ok := in.in.(MalformedKinder); ok {
			is.MalformedKinds = k.MalformedKinds()
		}
		st.Inputs[name] = is
	}
	for name, a := range r.aggs {
		c := &a.counters
		as := AggregateStatus{Type: a.typ, Match: a.common.Match, Read: c.read.Load(), Matched: c.matched.Load(),
			Emitted: c.emitted.Load(), Flushes: c.flushes.Load()}
		if rs, ok := readers["aggregate."+name]; ok {
			as.LagRecords, as.LagBytes = rs.LagRecords, rs.LagBytes
		}
		st.Aggregates[name] = as
	}
	for name, o := range r.outputs {
		c := &o.counters
		os := OutputStatus{
			Type: o.typ, Match: o.common.Match, Read: c.read.Load(), Matched: c.matched.Load(),
			Delivered: c.delivered.Load(), Retries: c.retries.Load(), Permanent: c.permanent.Load(),
			Corrupt: c.corrupt.Load(),
		}
		if rs, ok := readers["output."+name]; ok {
			os.LagRecords, os.LagBytes = rs.LagRecords, rs.LagBytes
		}
		if e := c.lastErr.Load(); e != nil {
			os.LastError = *e
		}
		if ss, ok := o.out.(StoreStatser); ok {
			if s, ok := ss.StoreStats(); ok {
				os.Store = &s
			}
		}
		st.Outputs[name] = os
	}
	return st
}

// handler serves the router's HTTP address: /metrics, /api/status and the
// HTTP inputs. The routes are rebuilt by rebuildMux when a reload changes
// the inputs.
func (r *Router) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mux.Load().ServeHTTP(w, req)
	})
}

// rebuildMux makes the routes of the HTTP address. Two plugins claiming
// the same path is an error, and the previous routes stay.
func (r *Router) rebuildMux() (err error) {
	mux := http.NewServeMux()
	defer func() {
		if p := recover(); p != nil { // ServeMux panics on conflicting patterns
			err = fmt.Errorf("router http: %v", p)
		}
	}()
	if r.metrics == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), (*collector)(r))
		r.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	}
	// Every route but ingest needs a read token (an admin token to change
	// state) once [router.auth] is set; HTTP inputs check their own
	// ingest tokens.
	g := r.guard
	mux.Handle("GET /metrics", g.Require(web.RoleRead, r.metrics))
	mux.Handle("GET /api/stream", g.Require(web.RoleRead, http.HandlerFunc(r.serveStream)))
	mux.Handle("GET /api/config", g.Require(web.RoleRead, configHandler(r.cfg)))
	if r.cfg.Router.Pprof {
		mux.Handle("/debug/pprof/", g.Require(web.RoleAdmin, http.HandlerFunc(pprof.Index)))
		mux.Handle("/debug/pprof/profile", g.Require(web.RoleAdmin, http.HandlerFunc(pprof.Profile)))
		mux.Handle("/debug/pprof/symbol", g.Require(web.RoleAdmin, http.HandlerFunc(pprof.Symbol)))
		mux.Handle("/debug/pprof/trace", g.Require(web.RoleAdmin, http.HandlerFunc(pprof.Trace)))
	}
	mux.Handle("GET /api/status", g.Require(web.RoleRead, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(r.Status())
	})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}` + "\n"))
	})
	for _, in := range r.inputs {
		if h, ok := in.in.(HTTPInput); ok {
			mux.Handle(h.Pattern(), h.Handler(r.sink))
		}
	}
	for _, o := range r.outputs {
		if h, ok := o.out.(HTTPOutput); ok {
			mux.Handle(h.Pattern(), g.RequireByMethod(h.Handler()))
		}
		if h, ok := o.out.(HTTPRouter); ok {
			for pattern, handler := range h.Routes() {
				mux.Handle(pattern, g.RequireByMethod(handler))
			}
		}
	}
	r.mux.Store(mux)
	return nil
}

// collector exports Status as Prometheus metrics at scrape time, so the hot
// paths only bump atomic counters.
type collector Router

var (
	descInReceived  = prometheus.NewDesc("metlog_input_received_total", "Messages an input accepted into the journal.", []string{"input", "type"}, nil)
	descInBytes     = prometheus.NewDesc("metlog_input_received_bytes_total", "Bytes of the messages an input accepted.", []string{"input", "type"}, nil)
	descInDropped   = prometheus.NewDesc("metlog_input_dropped_total", "Valid messages an input dropped because the journal was full.", []string{"input", "type"}, nil)
	descInRejected  = prometheus.NewDesc("metlog_input_rejected_total", "Messages an input rejected, by reason.", []string{"input", "type", "reason"}, nil)
	descInMalformed = prometheus.NewDesc("metlog_input_malformed_total", "Malformed messages, by what was wrong, for inputs that tell.", []string{"input", "type", "kind"}, nil)
	descOutRead     = prometheus.NewDesc("metlog_output_read_total", "Journal records an output read.", []string{"output", "type"}, nil)
	descOutMatched  = prometheus.NewDesc("metlog_output_matched_total", "Messages an output's matcher accepted.", []string{"output", "type"}, nil)
	descOutDeliv    = prometheus.NewDesc("metlog_output_delivered_total", "Messages an output delivered.", []string{"output", "type"}, nil)
	descOutRetries  = prometheus.NewDesc("metlog_output_retries_total", "Failed deliveries that were retried.", []string{"output", "type"}, nil)
	descOutPerm     = prometheus.NewDesc("metlog_output_permanent_errors_total", "Messages dropped because the endpoint rejected them permanently.", []string{"output", "type"}, nil)
	descOutLag      = prometheus.NewDesc("metlog_output_lag_records", "Records an output is behind the journal head.", []string{"output", "type"}, nil)
	descOutLagBytes = prometheus.NewDesc("metlog_output_lag_bytes", "Bytes an output is behind the journal head.", []string{"output", "type"}, nil)
	descStStored    = prometheus.NewDesc("metlog_store_stored_total", "Messages the store output's embedded store kept.", []string{"output"}, nil)
	descStDup       = prometheus.NewDesc("metlog_store_duplicates_total", "Messages the store skipped as already stored (same UUID).", []string{"output"}, nil)
	descStExpired   = prometheus.NewDesc("metlog_store_expired_total", "Messages the store skipped as older than max_age.", []string{"output"}, nil)
	descStBytes     = prometheus.NewDesc("metlog_store_bytes", "Bytes of the store's files.", []string{"output"}, nil)
	descStParts     = prometheus.NewDesc("metlog_store_partitions", "Partitions the store holds.", []string{"output"}, nil)
	descStIndexLag  = prometheus.NewDesc("metlog_store_index_lag", "Messages stored but not yet in the full-text index.", []string{"output"}, nil)
	descAggEmitted  = prometheus.NewDesc("metlog_aggregate_emitted_total", "Derived messages an aggregator journaled.", []string{"aggregate", "type"}, nil)
	descAggLag      = prometheus.NewDesc("metlog_aggregate_lag_records", "Records an aggregator is behind the journal head (up to a flush interval's worth is normal).", []string{"aggregate", "type"}, nil)
	descJBytes      = prometheus.NewDesc("metlog_journal_bytes", "Bytes the journal holds.", nil, nil)
	descJSegments   = prometheus.NewDesc("metlog_journal_segments", "Segment files the journal holds.", nil, nil)
	descJAppended   = prometheus.NewDesc("metlog_journal_appended_total", "Records appended to the journal.", nil, nil)
	descJTorn       = prometheus.NewDesc("metlog_journal_torn_total", "Torn records cut off the journal's tail at recovery.", nil, nil)
	descJCorrupt    = prometheus.NewDesc("metlog_journal_corrupt_total", "Corrupt journal records skipped.", nil, nil)
	descJOversize   = prometheus.NewDesc("metlog_journal_oversize_total", "Messages too large for a journal record, dropped.", nil, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInReceived, descInBytes, descInDropped, descInRejected, descInMalformed,
		descStStored, descStDup, descStExpired, descStBytes, descStParts, descStIndexLag,
		descAggEmitted, descAggLag, descOutRead, descOutMatched, descOutDeliv, descOutRetries, descOutPerm, descOutLag, descOutLagBytes,
		descJBytes, descJSegments, descJAppended, descJTorn, descJCorrupt, descJOversize} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := (*Router)(c).Status()
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, name := range slices.Sorted(maps.Keys(st.Inputs)) {
		in := st.Inputs[name]
		counter(descInReceived, float64(in.Received), name, in.Type)
		counter(descInBytes, float64(in.Bytes), name, in.Type)
		counter(descInDropped, float64(in.Dropped), name, in.Type)
		for reason, n := range in.Rejected {
			counter(descInRejected, float64(n), name, in.Type, reason)
		}
		for kind, n := range in.MalformedKinds {
			counter(descInMalformed, float64(n), name, in.Type, kind)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(st.Aggregates)) {
		a := st.Aggregates[name]
		counter(descAggEmitted, float64(a.Emitted), name, a.Type)
		gauge(descAggLag, float64(a.LagRecords), name, a.Type)
	}
	for _, name := range slices.Sorted(maps.Keys(st.Outputs)) {
		o := st.Outputs[name]
		counter(descOutRead, float64(o.Read), name, o.Type)
		counter(descOutMatched, float64(o.Matched), name, o.Type)
		counter(descOutDeliv, float64(o.Delivered), name, o.Type)
		counter(descOutRetries, float64(o.Retries), name, o.Type)
		counter(descOutPerm, float64(o.Permanent), name, o.Type)
		gauge(descOutLag, float64(o.LagRecords), name, o.Type)
		gauge(descOutLagBytes, float64(o.LagBytes), name, o.Type)
		if s := o.Store; s != nil {
			counter(descStStored, float64(s.Stored), name)
			counter(descStDup, float64(s.Duplicates), name)
			counter(descStExpired, float64(s.Expired), name)
			gauge(descStBytes, float64(s.Bytes), name)
			gauge(descStParts, float64(s.Partitions), name)
			gauge(descStIndexLag, float64(s.IndexLag), name)
		}
	}
	gauge(descJBytes, float64(st.Journal.Bytes))
	gauge(descJSegments, float64(st.Journal.Segments))
	counter(descJAppended, float64(st.Journal.Appended))
	counter(descJTorn, float64(st.Journal.Torn))
	counter(descJCorrupt, float64(st.Journal.Corrupt))
	counter(descJOversize, float64(st.Journal.Oversize))
}
