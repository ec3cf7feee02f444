// Command webapp is a small web application instrumented with the metlog
// client: request timers and panic capture from the middleware, log lines
// through log/slog, counters, an exception, and runtime statistics.
//
// Start a router (metlog router), then:
//
//	go run ./examples/webapp -addr 127.0.0.1:8080
//	curl 127.0.0.1:8080/hello/bob
//	curl 127.0.0.1:8080/panic
//
// The client's target comes from METLOG_TARGET (default
// udp://127.0.0.1:5565); -target overrides it, e.g. -target stdout: to see
// the messages.
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
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve HTTP on")
	target := flag.String("target", "", "metlog target (default $METLOG_TARGET or udp://127.0.0.1:5565)")
	flag.Parse()
	if err := run(*addr, *target); err != nil {
		fmt.Fprintln(os.Stderr, "webapp:", err)
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
		cfg.Logger = "webapp"
	}
	c, err := metlog.DialConfig(cfg, metlog.WithErrorLog(slog.New(slog.NewTextHandler(os.Stderr, nil))))
	if err != nil {
		return err
	}
	defer c.Close()
	defer c.Recover() // a panic outside the handlers is reported before the crash

	log := slog.New(metlog.NewSlogHandler(c, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stats := c.ReportRuntime(ctx, 10*time.Second)
	defer stats.Stop()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		c.Incr("greetings", metlog.String("name", name))
		log.Info("greeted", "name", name, "agent", r.UserAgent())
		fmt.Fprintf(w, "hello, %s\n", name)
	})
	mux.HandleFunc("GET /divide/{a}/{b}", func(w http.ResponseWriter, r *http.Request) {
		a, errA := strconv.Atoi(r.PathValue("a"))
		b, errB := strconv.Atoi(r.PathValue("b"))
		if err := errors.Join(errA, errB); err != nil {
			c.Exception(fmt.Errorf("divide: %w", err), metlog.String("path", r.URL.Path))
			http.Error(w, "bad numbers", http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, a/b) // b == 0 panics: the middleware reports it and answers 500
	})
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) {
		panic("on purpose")
	})

	srv := &http.Server{Addr: addr, Handler: c.Middleware(nil)(mux), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("listening", "addr", addr)
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
