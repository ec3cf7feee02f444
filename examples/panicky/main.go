// Command panicky is a small web shop that fails on purpose, to show how
// exceptions travel: its handlers return wrapped errors, which it reports
// with Client.Exception, and panic, which the client's middleware
// captures (answering 500). A metlog router groups them
// (aggregate.exceptions) and delivers them to Sentry (output.sentry); the
// application never talks to Sentry itself.
//
// Start a router with examples/panicky/router.toml (set SENTRY_DSN), then:
//
//	go run ./examples/panicky -addr 127.0.0.1:8081
//	curl 127.0.0.1:8081/items/7        # found
//	curl 127.0.0.1:8081/items/99       # not found: a wrapped error is reported
//	curl 127.0.0.1:8081/items/abc      # not a number: another wrapped error
//	curl 127.0.0.1:8081/checkout       # several errors joined
//	curl 127.0.0.1:8081/divide/1/0     # a panic: 500, reported
//
// The client's target comes from METLOG_TARGET (default
// udp://127.0.0.1:5565); -target overrides it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/metlog/metlog"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to serve HTTP on")
	target := flag.String("target", "", "metlog target (default $METLOG_TARGET or udp://127.0.0.1:5565)")
	flag.Parse()
	if err := run(*addr, *target); err != nil {
		fmt.Fprintln(os.Stderr, "panicky:", err)
		os.Exit(1)
	}
}

func run(addr, target string) error {
	cfg, err := metlog.ConfigFromEnv()
	if err != nil {
		return err
	}
	if target != "" {
		cfg.Target = target
	}
	if cfg.Logger == "" {
		cfg.Logger = "panicky"
	}
	c, err := metlog.DialConfig(cfg, metlog.WithErrorLog(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	if err != nil {
		return err
	}
	defer c.Close()
	defer c.Recover() // a panic outside the handlers is reported before the crash

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: addr, Handler: newShop(c).Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	<-errc
	return nil
}

// errNotFound is what the store says of an item it does not have.
var errNotFound = errors.New("not found")

// lookupError is an error of the shop's own type, wrapping its cause.
type lookupError struct {
	ID  string
	Err error
}

func (e *lookupError) Error() string { return "item " + strconv.Quote(e.ID) + ": " + e.Err.Error() }
func (e *lookupError) Unwrap() error { return e.Err }

// shop is the application.
type shop struct {
	c     *metlog.Client
	stock map[int]int
}

func newShop(c *metlog.Client) *shop {
	return &shop{c: c, stock: map[int]int{7: 3, 8: 0}}
}

// Handler serves the shop, wrapped in the client's middleware.
func (s *shop) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", s.item)
	mux.HandleFunc("GET /checkout", s.checkout)
	mux.HandleFunc("GET /divide/{a}/{b}", s.divide)
	return s.c.Middleware(nil)(mux)
}

// load finds an item; its errors wrap their causes.
func (s *shop) load(id string) (int, error) {
	n, err := strconv.Atoi(id)
	if err != nil {
		return 0, &lookupError{ID: id, Err: err}
	}
	count, ok := s.stock[n]
	if !ok {
		return 0, &lookupError{ID: id, Err: fmt.Errorf("stock: %w", errNotFound)}
	}
	return count, nil
}

func (s *shop) item(w http.ResponseWriter, r *http.Request) {
	count, err := s.load(r.PathValue("id"))
	if err != nil {
		s.c.Exception(fmt.Errorf("show item: %w", err), metlog.RequestFields(r, nil)...)
		status := http.StatusBadRequest
		if errors.Is(err, errNotFound) {
			status = http.StatusNotFound
		}
		http.Error(w, err.Error(), status)
		return
	}
	fmt.Fprintf(w, "%d in stock\n", count)
}

// checkout validates a cart and reports every problem at once.
func (s *shop) checkout(w http.ResponseWriter, r *http.Request) {
	var errs []error
	for _, id := range []string{"7", "8", "99"} {
		count, err := s.load(id)
		if err == nil && count == 0 {
			err = fmt.Errorf("item %s: sold out", id)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		s.c.Exception(fmt.Errorf("checkout: %w", err), metlog.RequestFields(r, nil)...)
		http.Error(w, "cannot check out", http.StatusConflict)
		return
	}
	fmt.Fprintln(w, "ok")
}

// divide panics on a zero divisor; the middleware reports it.
func (s *shop) divide(w http.ResponseWriter, r *http.Request) {
	a, _ := strconv.Atoi(r.PathValue("a"))
	b, _ := strconv.Atoi(r.PathValue("b"))
	fmt.Fprintln(w, quotient(a, b))
}

//go:noinline
func quotient(a, b int) int { return a / b }
