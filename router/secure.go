package router

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/web"
)

// listenHTTP binds the HTTP address, over TLS when [router.tls] says so,
// and loads the tokens of [router.auth] into the guard.
func (r *Router) listenHTTP() error {
	rc := &r.cfg.Router
	tokens, err := web.LoadTokens(rc.Auth, os.Getenv)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	r.guard.SetTokens(tokens)
	if r.httpTLS, err = rc.TLS.Server(); err != nil {
		return fmt.Errorf("router http: %w", err)
	}
	ln, err := net.Listen("tcp", rc.HTTP)
	if err != nil {
		return fmt.Errorf("router http: %w", err)
	}
	ln = input.LimitListener(ln, rc.HTTPMaxConnections, rc.HTTPMaxConnectionsPerSource, r.log.With("component", "http"))
	if r.httpTLS != nil {
		ln = tls.NewListener(ln, r.httpTLS.Config())
	}
	r.httpLn = ln
	if !isLoopback(ln.Addr()) {
		if tokens == nil {
			r.log.Warn("the HTTP address is reachable from other hosts and [router.auth] is not set: anyone who can reach it can read every message", "http", rc.HTTP)
		}
		if r.httpTLS == nil {
			r.log.Warn("the HTTP address is reachable from other hosts without TLS: tokens and messages cross the network in clear", "http", rc.HTTP)
		}
	}
	return nil
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// reloadSecrets reads certificates and token files again (SIGHUP): those
// of the HTTP address and of every input given. What cannot be read
// leaves the previous certificates or tokens in use.
func (r *Router) reloadSecrets(kept []*runningInput) error {
	var errs []error
	if r.httpLn != nil {
		if tokens, err := web.LoadTokens(r.cfg.Router.Auth, os.Getenv); err != nil {
			errs = append(errs, fmt.Errorf("router: %w (the previous tokens stay)", err))
		} else {
			r.guard.SetTokens(tokens)
		}
		if r.httpTLS != nil {
			if err := r.httpTLS.Reload(); err != nil {
				errs = append(errs, fmt.Errorf("router http: %w (the previous certificate stays)", err))
			}
		}
	}
	for _, in := range kept {
		if rl, ok := in.in.(input.Reloader); ok {
			if err := rl.Reload(); err != nil {
				errs = append(errs, fmt.Errorf("[input.%s]: %w (the previous certificate stays)", in.name, err))
			}
		}
	}
	return errors.Join(errs...)
}
