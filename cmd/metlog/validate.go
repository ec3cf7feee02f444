package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/metlog/metlog/config"
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
	fmt.Fprintf(stdout, "%s: OK (%d inputs, %d outputs)\n", *cfgPath, len(cfg.Of(config.KindInput)), len(cfg.Of(config.KindOutput)))
	return nil
}
