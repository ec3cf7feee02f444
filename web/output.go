package web

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/metlog/metlog"
	chout "github.com/metlog/metlog/output/clickhouse"
	"github.com/metlog/metlog/store"
	chstore "github.com/metlog/metlog/store/clickhouse"
	"github.com/metlog/metlog/web/ui"
)

// Output is the "store" output: the backend keeps what the router delivers
// to it, and Routes serves the JSON API over it. Write and Close are the
// backend's.
type Output struct {
	backend
	api *API
}

// backend is where the store output keeps messages: the embedded store, or
// a clickhouse output. Write is called from one goroutine; Close once, at
// the end.
type backend interface {
	Write(ctx context.Context, batch []*metlog.Message) error
	Close() error
}

// New opens the store of cfg and builds its API: over the embedded store,
// or over the ClickHouse table that the output fills when cfg.Backend is
// "clickhouse".
func New(cfg store.Config, log *slog.Logger) (*Output, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.Backend == "clickhouse" {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		out, err := chout.New(cfg.ClickHouse, log)
		if err != nil {
			return nil, err
		}
		q, err := chstore.New(cfg.ClickHouse, log)
		if err != nil {
			return nil, err
		}
		return &Output{backend: warehouse{out, q}, api: NewAPI(q, log)}, nil
	}
	s, err := store.New(cfg, log)
	if err != nil {
		return nil, err
	}
	return &Output{backend: s, api: NewAPI(s, log)}, nil
}

// warehouse is the "clickhouse" backend: the output that inserts into the
// table, and the queries of the API over it.
type warehouse struct {
	*chout.Output
	q *chstore.Store
}

func (w warehouse) Close() error {
	w.q.Close()
	return w.Output.Close()
}

// StoreStats returns the embedded store's totals; ok is false for the
// clickhouse backend.
func (o *Output) StoreStats() (st store.Stats, ok bool) {
	if s, ok := o.backend.(*store.Store); ok {
		return s.Stats(), true
	}
	return st, false
}

// Routes returns the handlers of the API and of the web UI by ServeMux
// pattern, for the router to mount on its HTTP address.
func (o *Output) Routes() map[string]http.Handler {
	routes := o.api.Routes()
	for pattern, h := range ui.Routes() {
		routes[pattern] = h
	}
	return routes
}
