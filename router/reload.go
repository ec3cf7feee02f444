package router

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/metlog/metlog/config"
)

// Reload swaps in a new configuration while the router runs (on SIGHUP).
// Plugins whose configuration did not change keep running untouched, so
// their sockets stay open; outputs that are kept are reopened (Reopener),
// which is what logrotate needs. Changed plugins are stopped and started
// again, removed ones stopped, and new ones started; an output that keeps
// its name keeps its journal cursor, so nothing is skipped or lost, and a
// removed output's cursor is forgotten. Certificate and token files (of
// [router.tls], [router.auth] and the inputs kept) are read again: new
// connections get the new certificate and open ones keep theirs; files
// that fail to load leave the previous ones in use. Settings of the
// [router] table need a restart; a reload that changes them says so and
// leaves them as they are.
//
// Errors building a new plugin or reading those files are returned,
// joined; the plugins that could be built run.
func (r *Router) Reload(cfg *config.Config) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx == nil {
		return errors.New("router: Reload before Run")
	}
	if !reflect.DeepEqual(cfg.Router, r.cfg.Router) {
		r.log.Warn("the [router] table changed; its settings apply after a restart")
		cfg.Router = r.cfg.Router
	}
	old := map[string]config.Plugin{}
	for _, p := range r.cfg.Plugins {
		old[string(p.Kind)+"."+p.Name] = p
	}
	want := map[string]config.Plugin{}
	for _, p := range cfg.Plugins {
		want[string(p.Kind)+"."+p.Name] = p
	}
	same := func(a, b config.Plugin) bool {
		return a.Type == b.Type && reflect.DeepEqual(a.Common, b.Common) && reflect.DeepEqual(a.Config, b.Config)
	}

	// Stop what is gone or changed first: a changed input may need its
	// address back, a changed output its reader.
	deadline := closedAfter(r.cfg.Router.ShutdownTimeout.D())
	for key, p := range old {
		if n, ok := want[key]; ok && same(p, n) {
			continue
		}
		switch p.Kind {
		case config.KindInput:
			in := r.inputs[p.Name]
			in.cancel()
			<-in.done
			delete(r.inputs, p.Name)
		case config.KindOutput:
			o := r.outputs[p.Name]
			o.shutdown(deadline)
			delete(r.outputs, p.Name)
		case config.KindAggregate:
			r.aggs[p.Name].shutdown()
			delete(r.aggs, p.Name)
		}
		if _, kept := want[key]; !kept && p.Kind != config.KindInput {
			if err := r.journal.RemoveReader(key); err != nil {
				r.log.Warn("forgetting a removed reader's cursor", "reader", key, "err", err)
			}
		}
		r.log.Info("stopped for reload", string(p.Kind), p.Name)
	}

	var errs []error
	var kept []config.Plugin
	var keptInputs []*runningInput
	for _, p := range cfg.Plugins {
		key := string(p.Kind) + "." + p.Name
		if o, ok := old[key]; ok && same(o, p) {
			kept = append(kept, o)
			if p.Kind == config.KindInput {
				keptInputs = append(keptInputs, r.inputs[p.Name])
			}
			if p.Kind == config.KindOutput {
				if ro, ok := r.outputs[p.Name].out.(Reopener); ok {
					if err := ro.Reopen(); err != nil {
						errs = append(errs, fmt.Errorf("[output.%s] reopen: %w", p.Name, err))
					}
				}
			}
			continue
		}
		if err := r.build(p); err != nil {
			errs = append(errs, err)
			continue
		}
		kept = append(kept, p)
		switch p.Kind {
		case config.KindInput:
			r.startInput(r.inputs[p.Name])
		case config.KindAggregate:
			r.aggs[p.Name].start(context.WithoutCancel(r.ctx))
		case config.KindOutput:
			r.outputs[p.Name].start(context.WithoutCancel(r.ctx))
		}
		r.log.Info("started after reload", string(p.Kind), p.Name)
	}
	cfg.Plugins = kept
	r.cfg = cfg
	if r.httpLn != nil {
		if err := r.rebuildMux(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := r.reloadSecrets(keptInputs); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
