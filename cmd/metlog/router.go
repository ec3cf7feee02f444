package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/router"
)

func runRouter(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config `file` (default: the embedded default; see -print-default)")
	memory := fs.Bool("memory", false, "keep the journal in memory: nothing survives a restart")
	printDefault := fs.Bool("print-default", false, "print the embedded default config and exit")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "log JSON lines instead of text")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: metlog router [flags]\n\nRuns the router until SIGINT or SIGTERM; SIGHUP reloads the config and reopens output files.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *printDefault {
		fmt.Fprint(stdout, router.DefaultConfigText())
		return nil
	}
	log, err := newLogger(stderr, *logLevel, *logJSON)
	if err != nil {
		return err
	}
	load := func() (*config.Config, error) {
		if *cfgPath == "" {
			return router.DefaultConfig(), nil
		}
		return config.Load(*cfgPath, router.Catalog())
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	setGC(cfg.Router, log)
	r, err := router.New(cfg, router.Options{Logger: log, Memory: *memory, Version: version})
	if err != nil {
		return err
	}
	for _, p := range cfg.Of(config.KindInput) {
		if a := r.InputAddr(p.Name); a != nil {
			fmt.Fprintf(stdout, "metlog router: input %s (%s) listening on %s\n", p.Name, p.Type, a)
		}
	}
	if a := r.HTTPAddr(); a != nil {
		fmt.Fprintf(stdout, "metlog router: http://%s (/metrics, /api/status)\n", a)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				cfg, err := load()
				if err != nil {
					log.Error("reload: config not loaded; keeping the running one", "err", err)
					continue
				}
				if err := r.Reload(cfg); err != nil {
					log.Error("reload", "err", err)
				} else {
					log.Info("config reloaded")
				}
			}
		}
	}()
	return r.Run(ctx)
}

func newLogger(w io.Writer, level string, asJSON bool) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	if asJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// setGC applies the [router] garbage collector settings, unless the GOGC
// and GOMEMLIMIT environment variables set them.
func setGC(rc config.Router, log *slog.Logger) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(rc.GCPercent)
		log.Debug("garbage collector", "gc_percent", rc.GCPercent)
	}
	if rc.MemoryLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(rc.MemoryLimit)
		log.Debug("garbage collector", "memory_limit", rc.MemoryLimit)
	}
}
