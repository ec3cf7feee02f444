package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/codec/metlogjson"
	statsdin "github.com/metlog/metlog/input/statsd"
	"github.com/metlog/metlog/match"
	"github.com/metlog/metlog/output"
)

func runCat(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	expr := fs.String("match", "TRUE", "print only messages this matcher `expression` accepts")
	format := fs.String("format", "text", "output `format`: text, metlog-json or heka")
	tmpl := fs.String("template", "{timestamp} {type} {logger} {severity} {payload} {fields}", "line `template` of the text format")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: metlog cat [flags] FILE|DIR...\n\nPrints Heka stream files (a journal directory's segments too) and metlog JSON\nfiles, told apart by their first byte; - is standard input.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	m, err := match.Compile(*expr)
	if err != nil {
		return err
	}
	f, err := output.NewFormat(*format, *tmpl)
	if err != nil {
		return err
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	c := &catter{match: m, format: f, w: w, stderr: stderr}
	var errs []error
	for _, p := range paths {
		if err := c.path(p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type catter struct {
	match  *match.Matcher
	format output.Format
	w      *bufio.Writer
	stderr io.Writer
	buf    []byte
	msg    metlog.Message
	lines  *statsdin.Expander // made for the first statsd record
}

func (c *catter) path(p string) error {
	if p == "-" {
		return c.stream(p, os.Stdin)
	}
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return c.stream(p, f)
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Type().IsRegular() && filepath.Ext(e.Name()) == ".heka" {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, n := range names {
		if err := c.path(filepath.Join(p, n)); err != nil {
			return err
		}
	}
	return nil
}

func (c *catter) stream(name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	first, _ := br.Peek(64)
	if heka.LooksJSON(first) {
		dec := metlogjson.NewDecoder(br)
		for {
			err := dec.Decode(&c.msg)
			var derr *metlogjson.Error
			switch {
			case err == nil:
				c.print()
			case errors.As(err, &derr):
				fmt.Fprintf(c.stderr, "%s: %v\n", name, err)
			case errors.Is(err, io.EOF):
				return nil
			default:
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	rd := heka.NewReader(br, 0)
	for {
		rec, err := rd.Next()
		if err != nil {
			if skipped := rd.Skipped(); skipped > 0 {
				fmt.Fprintf(c.stderr, "%s: skipped %d bytes that are not records\n", name, skipped)
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := heka.Unmarshal(rec.Message, &c.msg); err != nil {
			fmt.Fprintf(c.stderr, "%s: %v\n", name, err)
			continue
		}
		c.print()
	}
}

// print writes c.msg if it matches; a record of the statsd input is
// written as the messages of its lines, as the router's readers see it.
func (c *catter) print() {
	msgs := []*metlog.Message{&c.msg}
	if c.msg.Type == statsdin.RecordType {
		if c.lines == nil {
			c.lines = statsdin.NewExpander()
		}
		c.lines.Reset()
		msgs, _ = c.lines.Expand(nil, &c.msg, 0, 0)
	}
	for _, m := range msgs {
		if !c.match.Match(m) {
			continue
		}
		var err error
		if c.buf, err = c.format.Append(c.buf[:0], m); err != nil {
			fmt.Fprintf(c.stderr, "message %s: %v\n", m.UUID, err)
			continue
		}
		c.w.Write(c.buf)
	}
}
