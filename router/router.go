// Package router assembles metlog's router: inputs decode what arrives and
// append it to the journal; every output reads the journal with its own
// cursor, matches, delivers and commits.
//
//	inputs ──Deliver──▶ sink ──Append──▶ journal ──Next──▶ output loop ─┬─ match ─▶ Write ─▶ Commit
//	(udp tcp http)      UUID, time,       segments,        (one per       │         retry with
//	                    protobuf          group commit     output)        │         backoff+jitter
//	                                                                      └─ …one loop per output: none waits for another
//
// A Router is built from a config.Config by New, runs until its context
// ends (Run), and can swap its configuration while running (Reload).
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/journal"
	"github.com/metlog/metlog/match"
	"github.com/metlog/metlog/web"
)

// Input is what an input plugin implements. Run receives until ctx ends,
// handing what it decodes to sink, and then returns nil; an error means the
// input failed and stopped. Counters are its running totals.
type Input interface {
	Run(ctx context.Context, sink input.Sink) error
	Counters() *input.Counters
}

// Addresser is implemented by inputs that listen on a socket.
type Addresser interface {
	Addr() net.Addr
}

// HTTPInput is implemented by inputs served on the router's HTTP address:
// the router mounts Handler at Pattern.
type HTTPInput interface {
	Pattern() string
	Handler(sink input.Sink) http.Handler
}

// HTTPOutput is implemented by outputs that serve what they receive on the
// router's HTTP address (the Prometheus output): the router mounts Handler
// at Pattern.
type HTTPOutput interface {
	Pattern() string
	Handler() http.Handler
}

// HTTPRouter is implemented by outputs that serve several routes on the
// router's HTTP address (the store's JSON API): the router mounts each
// handler at its ServeMux pattern.
type HTTPRouter interface {
	Routes() map[string]http.Handler
}

// Options are the parts of a router that do not come from its config file.
type Options struct {
	// Logger receives the router's structured logs; default slog.Default().
	Logger *slog.Logger
	// Memory keeps the journal in memory instead of under data_dir.
	Memory bool
	// Version is reported by /api/status.
	Version string
}

// Router is a running metlog router.
type Router struct {
	opts    Options
	log     *slog.Logger
	journal *journal.Journal
	sink    *sink
	tail    tailHub
	started time.Time

	mu      sync.Mutex
	cfg     *config.Config
	inputs  map[string]*runningInput
	aggs    map[string]*runningAggregate
	outputs map[string]*runningOutput
	ctx     context.Context // Run's context, for plugins started by Reload
	httpLn  net.Listener
	httpTLS *input.ServerTLS // nil without [router.tls]
	guard   *web.Guard
	mux     atomic.Pointer[http.ServeMux]
	metrics http.Handler
}

type runningInput struct {
	name, typ string
	in        Input
	cancel    context.CancelFunc
	done      chan error
	cfg       config.Plugin
}

// New opens the journal and builds every plugin of cfg. Listening sockets
// are bound here, so that a taken port fails New; nothing is received
// until Run.
func New(cfg *config.Config, opts Options) (_ *Router, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	r := &Router{
		opts:    opts,
		log:     opts.Logger,
		cfg:     cfg,
		inputs:  map[string]*runningInput{},
		aggs:    map[string]*runningAggregate{},
		outputs: map[string]*runningOutput{},
		started: time.Now(),
		guard:   web.NewGuard(opts.Logger.With("component", "http")),
	}
	sync, err := journal.ParseSyncPolicy(cfg.Router.Sync)
	if err != nil {
		return nil, err
	}
	jopts := journal.Options{
		Sync:         sync,
		SyncInterval: cfg.Router.SyncInterval.D(),
		MaxBytes:     cfg.Router.JournalMaxBytes,
		Logger:       r.log.With("component", "journal"),
	}
	if opts.Memory {
		r.journal, err = journal.OpenMemory(jopts)
	} else {
		r.journal, err = journal.Open(filepath.Join(cfg.Router.DataDir, "journal"), jopts)
	}
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			r.closePlugins()
			r.journal.Close()
		}
	}()
	r.sink = &sink{j: r.journal, now: time.Now, tail: &r.tail}
	for _, p := range cfg.Plugins {
		if err := r.build(p); err != nil {
			return nil, err
		}
	}
	if err := r.forgetReaders(); err != nil {
		return nil, err
	}
	if cfg.Router.HTTP != "" {
		if err := r.rebuildMux(); err != nil {
			return nil, err
		}
		if err := r.listenHTTP(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// build makes one plugin; it does not start it.
func (r *Router) build(p config.Plugin) error {
	log := r.log.With(string(p.Kind), p.Name, "type", p.Type)
	switch p.Kind {
	case config.KindInput:
		in, err := inputPlugins[p.Type].build(p.Config, log)
		if err != nil {
			return fmt.Errorf("[input.%s]: %w", p.Name, err)
		}
		r.inputs[p.Name] = &runningInput{name: p.Name, typ: p.Type, in: in, cfg: p}
	case config.KindOutput:
		common := p.Common.(*config.OutputCommon)
		m, err := match.Compile(common.Match)
		if err != nil {
			return fmt.Errorf("[output.%s] match: %w", p.Name, err)
		}
		out, err := outputPlugins[p.Type].build(p.Config, log)
		if err != nil {
			return fmt.Errorf("[output.%s]: %w", p.Name, err)
		}
		rd, err := r.journal.Reader("output." + p.Name)
		if err != nil {
			closeOutput(out)
			return fmt.Errorf("[output.%s]: %w", p.Name, err)
		}
		r.outputs[p.Name] = &runningOutput{
			name: p.Name, typ: p.Type, common: common, out: out, matcher: m, reader: rd, log: log,
			stop: make(chan struct{}), done: make(chan struct{}),
		}
	case config.KindAggregate:
		common := p.Common.(*config.AggregateCommon)
		m, err := match.Compile(common.Match)
		if err != nil {
			return fmt.Errorf("[aggregate.%s] match: %w", p.Name, err)
		}
		agg, err := aggregatePlugins[p.Type].build(p.Config, log)
		if err != nil {
			return fmt.Errorf("[aggregate.%s]: %w", p.Name, err)
		}
		rd, err := r.journal.Reader("aggregate." + p.Name)
		if err != nil {
			return fmt.Errorf("[aggregate.%s]: %w", p.Name, err)
		}
		r.aggs[p.Name] = &runningAggregate{
			name: p.Name, typ: p.Type, common: common, agg: agg, matcher: m, reader: rd, sink: r.sink, log: log,
			stop: make(chan struct{}), done: make(chan struct{}),
		}
	default:
		return fmt.Errorf("[%s.%s]: unknown plugin kind", p.Kind, p.Name)
	}
	return nil
}

// forgetReaders removes the journal cursors of outputs the config no longer
// has, so that they stop pinning records.
func (r *Router) forgetReaders() error {
	for _, name := range r.journal.Readers() {
		var kind, inst string
		if i := indexDot(name); i > 0 {
			kind, inst = name[:i], name[i+1:]
		}
		if _, ok := r.outputs[inst]; ok && kind == "output" {
			continue
		}
		if _, ok := r.aggs[inst]; ok && kind == "aggregate" {
			continue
		}
		if err := r.journal.RemoveReader(name); err != nil {
			return err
		}
		r.log.Info("forgot the journal cursor of a reader no longer configured", "reader", name)
	}
	return nil
}

func indexDot(s string) int {
	for i := range len(s) {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}

// HTTPAddr returns the address of the HTTP server, or nil without one.
func (r *Router) HTTPAddr() net.Addr {
	if r.httpLn == nil {
		return nil
	}
	return r.httpLn.Addr()
}

// InputAddr returns the address input name listens on, or nil.
func (r *Router) InputAddr(name string) net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	if in, ok := r.inputs[name]; ok {
		if a, ok := in.in.(Addresser); ok {
			return a.Addr()
		}
	}
	return nil
}

// Run starts every plugin and the HTTP server and blocks until ctx ends;
// then it shuts down gracefully: inputs stop receiving, outputs finish the
// batch they are writing (up to shutdown_timeout) and commit, and the
// journal is synced and closed. It returns the first error that stopped
// an input, or nil.
func (r *Router) Run(ctx context.Context) error {
	r.mu.Lock()
	r.ctx = ctx
	for _, o := range r.outputs {
		o.start(context.WithoutCancel(ctx))
	}
	for _, a := range r.aggs {
		a.start(context.WithoutCancel(ctx))
	}
	for _, in := range r.inputs {
		r.startInput(in)
	}
	r.mu.Unlock()

	var srv *http.Server
	httpDone := make(chan error, 1)
	if r.httpLn != nil {
		r.mu.Lock()
		h := r.handler()
		r.mu.Unlock()
		srv = &http.Server{Handler: r.guard.Handler(h), ReadHeaderTimeout: 10 * time.Second,
			MaxHeaderBytes: 64 << 10, IdleTimeout: 5 * time.Minute,
			ErrorLog: slog.NewLogLogger(r.log.With("component", "http").Handler(), slog.LevelDebug)}
		go func() { httpDone <- srv.Serve(r.httpLn) }()
	}
	r.log.Info("router running", r.listening()...)

	<-ctx.Done()
	r.log.Info("router shutting down")
	deadline := closedAfter(r.cfg.Router.ShutdownTimeout.D())
	var errs []error
	r.mu.Lock()
	for _, in := range r.inputs {
		in.cancel()
	}
	for _, in := range r.inputs {
		if err := <-in.done; err != nil {
			errs = append(errs, fmt.Errorf("input %s: %w", in.name, err))
		}
	}
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), r.cfg.Router.ShutdownTimeout.D())
		srv.Shutdown(sctx)
		cancel()
		<-httpDone
	}
	var wg sync.WaitGroup
	for _, a := range r.aggs {
		wg.Go(a.shutdown)
	}
	wg.Wait()
	for _, o := range r.outputs {
		wg.Go(func() { o.shutdown(deadline) })
	}
	wg.Wait()
	r.mu.Unlock()
	if err := r.journal.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (r *Router) startInput(in *runningInput) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.ctx))
	in.cancel = cancel
	in.done = make(chan error, 1)
	go func() {
		err := in.in.Run(ctx, r.sink)
		if err != nil {
			r.log.Error("input stopped", "input", in.name, "err", err)
		}
		in.done <- err
	}()
}

// listening describes where the router listens, for its startup log line.
func (r *Router) listening() []any {
	var attrs []any
	for name, in := range r.inputs {
		if a, ok := in.in.(Addresser); ok {
			attrs = append(attrs, "input."+name, a.Addr().String())
		}
	}
	if r.httpLn != nil {
		scheme := "http://"
		if r.httpTLS != nil {
			scheme = "https://"
		}
		attrs = append(attrs, "http", scheme+r.httpLn.Addr().String(), "auth", r.guard.Enabled())
	}
	return attrs
}

// closePlugins releases what New built when New fails.
func (r *Router) closePlugins() {
	for _, in := range r.inputs {
		closeInput(in.in)
	}
	for _, o := range r.outputs {
		o.reader.Close()
		closeOutput(o.out)
	}
	for _, a := range r.aggs {
		a.reader.Close()
	}
	if r.httpLn != nil {
		r.httpLn.Close()
	}
}

func closeInput(in Input) {
	if c, ok := in.(interface{ Close() error }); ok {
		c.Close()
	}
}

func closeOutput(out Output) {
	if c, ok := out.(interface{ Close() error }); ok {
		c.Close()
	}
}
