package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/metlog/metlog/router"
)

func runPlugins(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("plugins", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: metlog plugins [TYPE...]\n\nLists the inputs and outputs with their sample configuration; with TYPE, only those.")
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	only := map[string]bool{}
	for _, a := range fs.Args() {
		only[a] = true
	}
	for _, p := range router.Plugins() {
		if len(only) > 0 && !only[p.Type] && !only[string(p.Kind)+"."+p.Type] {
			continue
		}
		fmt.Fprintf(stdout, "# %s %q\n%s\n", p.Kind, p.Type, strings.TrimRight(p.Sample, "\n")+"\n")
	}
	return nil
}
