package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
	"github.com/metlog/metlog/output"
)

func runTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("router", "http://127.0.0.1:4352", "the router's HTTP `URL`")
	expr := fs.String("match", "TRUE", "show only messages this matcher `expression` accepts")
	format := fs.String("format", "text", "output `format`: text, metlog-json or heka")
	tmpl := fs.String("template", "{timestamp} {type} {logger} {severity} {payload} {fields}", "line `template` of the text format")
	tokenFile := fs.String("token-file", "", "read the router's read token from this `file` (default: $METLOG_TOKEN)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: metlog tail [flags]\n\nFollows the messages a router receives, live, until interrupted.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	f, err := output.NewFormat(*format, *tmpl)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "GET", *addr+"/api/stream?match="+url.QueryEscape(*expr), nil)
	if err != nil {
		return err
	}
	token := os.Getenv("METLOG_TOKEN")
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			return err
		}
		token = strings.TrimSpace(string(b))
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s: %s", resp.Status, e.Error)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	w := bufio.NewWriter(stdout)
	var event string
	var m metlog.Message
	var buf []byte
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case bytes.HasPrefix(line, []byte("event: ")):
			event = string(line[len("event: "):])
		case bytes.HasPrefix(line, []byte("data: ")):
			data := line[len("data: "):]
			if event == "dropped" {
				fmt.Fprintf(stderr, "metlog tail: fell behind; the router dropped messages for this tail: %s\n", data)
				continue
			}
			if err := metlogjson.Decode(data, &m); err != nil {
				fmt.Fprintf(stderr, "metlog tail: %v\n", err)
				continue
			}
			if buf, err = f.Append(buf[:0], &m); err == nil {
				w.Write(buf)
			}
		case len(line) == 0:
			w.Flush()
		}
	}
	w.Flush()
	if err := sc.Err(); err != nil && !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return err
	}
	return nil
}
