package web

import (
	"log/slog"
	"net/http"

	"github.com/metlog/metlog/store"
	"github.com/metlog/metlog/web/ui"
)

// Output is the "store" output: the store keeps what the router delivers
// to it, and Routes serves the JSON API over it. Write and Close are the
// store's.
type Output struct {
	*store.Store
	api *API
}

// New opens the store of cfg and builds its API.
func New(cfg store.Config, log *slog.Logger) (*Output, error) {
	if log == nil {
		log = slog.Default()
	}
	s, err := store.New(cfg, log)
	if err != nil {
		return nil, err
	}
	return &Output{Store: s, api: NewAPI(s, log)}, nil
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
