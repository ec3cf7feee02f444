package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/metlog/metlog"
)

// fieldFlags collects repeated -field name=value flags.
type fieldFlags []metlog.Field

func (f *fieldFlags) String() string { return "" }

// Set parses name=value; the value is an integer, a float or a bool when it
// reads as one, and a string otherwise. name:=value keeps it a string.
func (f *fieldFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	if n, isString := strings.CutSuffix(name, ":"); isString {
		*f = append(*f, metlog.String(n, value))
		return nil
	}
	if i, err := strconv.ParseInt(value, 10, 64); err == nil {
		*f = append(*f, metlog.Int(name, i))
	} else if x, err := strconv.ParseFloat(value, 64); err == nil {
		*f = append(*f, metlog.Float(name, x))
	} else if b, err := strconv.ParseBool(value); err == nil && (value == "true" || value == "false") {
		*f = append(*f, metlog.Bool(name, b))
	} else {
		*f = append(*f, metlog.String(name, value))
	}
	return nil
}

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return sendFrom(ctx, args, os.Stdin, stderr)
}

func sendFrom(_ context.Context, args []string, stdin io.Reader, stderr io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "where to send (default $METLOG_TARGET, else udp://127.0.0.1:5565)")
	typ := fs.String("type", "oldstyle", "message `type`")
	logger := fs.String("logger", "metlog-send", "logger `name`")
	sev := fs.String("severity", "info", "`severity`: a syslog name or 0..7")
	payload := fs.String("payload", "", "the `payload` (default: the arguments, joined by spaces)")
	lines := fs.Bool("lines", false, "send each line of standard input as a message, like logger(1)")
	var fields fieldFlags
	fs.Var(&fields, "field", "a field `name=value` (repeatable); numbers and true/false are typed, name:=value stays a string")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: metlog send [flags] [payload...]\n\nEmits one message (or one per input line with -lines) and waits until it is sent.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	severity, err := metlog.ParseSeverity(*sev)
	if err != nil {
		return err
	}
	c, err := metlog.Dial(*target, metlog.WithLogger(*logger))
	if err != nil {
		return err
	}
	send := func(payload string) {
		c.Event(*typ).Severity(severity).Payload(payload).Send(fields...)
	}
	if *lines {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			send(sc.Text())
		}
		if err := sc.Err(); err != nil {
			c.Close()
			return err
		}
	} else if *payload != "" {
		if fs.NArg() > 0 {
			c.Close()
			return fmt.Errorf("give the payload with -payload or as arguments, not both")
		}
		send(*payload)
	} else {
		send(strings.Join(fs.Args(), " "))
	}
	if err := c.Close(); err != nil {
		return err
	}
	if s := c.Stats(); s.Dropped > 0 || s.Failed > 0 {
		return fmt.Errorf("%d messages not sent (%d dropped, %d failed)", s.Dropped+s.Failed, s.Dropped, s.Failed)
	}
	return nil
}
