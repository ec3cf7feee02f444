package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/match"
	"github.com/metlog/metlog/router"
)

func runValidate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "config `file` to check")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: metlog validate --config FILE\n\nReports every problem in a config file at once, each with its line.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || *cfgPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	cfg, err := config.Load(*cfgPath, router.Catalog())
	if err != nil {
		return err
	}
	// Matchers are checked here too, as the router would on start.
	var errs []error
	for _, p := range cfg.Plugins {
		var expr string
		switch c := p.Common.(type) {
		case *config.OutputCommon:
			expr = c.Match
		case *config.AggregateCommon:
			expr = c.Match
		default:
			continue
		}
		if _, err := match.Compile(expr); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: [%s.%s] match: %w", *cfgPath, p.Line, p.Kind, p.Name, err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	fmt.Fprintf(stdout, "%s: OK (%d inputs, %d outputs)\n", *cfgPath, len(cfg.Of(config.KindInput)), len(cfg.Of(config.KindOutput)))
	return nil
}
