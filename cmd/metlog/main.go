// Command metlog is the metlog router and its tools.
//
//	metlog router   [--config FILE]        run the router (no config: the embedded default)
//	metlog validate --config FILE          check a config file and report every problem
//	metlog send     [flags] [payload]      emit one message, like logger(1)
//	metlog cat      [flags] FILE...        print heka or metlog JSON files as text or JSON
//	metlog version                         print the version
//
// Each subcommand lives in its own file with its own flag.FlagSet.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"router", "run the router", runRouter},
		{"validate", "check a config file, reporting every problem", runValidate},
		{"send", "emit a message from the shell, like logger(1)", runSend},
		{"tail", "follow the messages a router receives, filtered by a matcher", runTail},
		{"cat", "print Heka and metlog JSON files, filtered by a matcher", runCat},
		{"plugins", "list inputs and outputs with their sample config", runPlugins},
		{"bench", "load a running router and report its throughput", runBench},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage means the arguments were wrong and usage has been printed.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
				return 2
			default:
				fmt.Fprintf(stderr, "metlog %s: %v\n", c.name, err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "metlog: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: metlog <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'metlog <command> -h' for a command's flags.")
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintln(stdout, "metlog", version)
	return nil
}
