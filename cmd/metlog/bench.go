package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

// runBench drives a running router with generated messages and reports how
// fast one of its outputs delivered them, with the router's CPU time and
// memory read from its /metrics.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "tcp://127.0.0.1:5565", "where to send: tcp://host:port or udp://host:port")
	httpURL := fs.String("router", "http://127.0.0.1:4352", "the router's HTTP `URL`, for its status and metrics")
	outputName := fs.String("output", "", "the output whose deliveries are counted (default: the only one)")
	n := fs.Int("n", 1_000_000, "messages to send")
	size := fs.Int("size", 250, "approximate size of each message in `bytes`")
	conns := fs.Int("c", 4, "connections (tcp) or sockets (udp)")
	format := fs.String("format", "json", "wire format: json or heka")
	rate := fs.Int("rate", 0, "messages per second in all, 0 for as fast as possible")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: metlog bench [flags]\n\nSends generated messages to a running router and reports delivered messages/s,\nthe router's CPU use and its peak resident memory.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	scheme, addr, ok := strings.Cut(*target, "://")
	if !ok || (scheme != "tcp" && scheme != "udp") {
		return fmt.Errorf("-target %q: want tcp://host:port or udp://host:port", *target)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	b := &bencher{http: strings.TrimRight(*httpURL, "/"), output: *outputName}
	before, err := b.sample(ctx)
	if err != nil {
		return err
	}
	if b.output == "" {
		return errors.New("-output: name the output to count (the router has several or none)")
	}
	payload := makeMessages(*format, *size, *n/(*conns)+1)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, *conns)
	per := *n / *conns
	for i := range *conns {
		count := per
		if i == 0 {
			count += *n % *conns
		}
		wg.Go(func() { errs <- send(ctx, scheme, addr, payload, count, *rate / *conns) })
	}
	// Sample memory while the run goes on: the peak is what matters.
	peak := before.rss
	after := before
	lastChange := time.Now()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	sent := false
	for {
		s, err := b.sample(ctx)
		if err != nil {
			return err
		}
		peak = max(peak, s.rss)
		if !sent {
			select {
			case <-done:
				sent = true
				close(errs)
				for err := range errs {
					if err != nil {
						return err
					}
				}
			default:
			}
		}
		if s.delivered != after.delivered || s.dropped != after.dropped {
			lastChange = time.Now()
		}
		after = s
		// Done when all arrived, or, once everything is sent, when nothing
		// more arrives (UDP may lose datagrams; the report shows how many).
		if s.delivered-before.delivered >= uint64(*n) || (sent && time.Since(lastChange) > 2*time.Second) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("delivered %d of %d before giving up", s.delivered-before.delivered, *n)
		case <-time.After(20 * time.Millisecond):
		}
	}
	elapsed := lastChange.Sub(start)
	got := after.delivered - before.delivered
	cpu := after.cpu - before.cpu
	fmt.Fprintf(stdout, "%s %s, %d messages of ~%d bytes over %d connections: %d delivered in %.2fs = %.0f msg/s; router CPU %.2f cores; peak RSS %.1f MiB; dropped %d, rejected %d\n",
		scheme, *format, *n, *size, *conns, got, elapsed.Seconds(), float64(got)/elapsed.Seconds(),
		cpu/elapsed.Seconds(), float64(peak)/(1<<20), after.dropped-before.dropped, after.rejected-before.rejected)
	return nil
}

// makeMessages returns count encoded messages of about size bytes each,
// with distinct payloads.
func makeMessages(format string, size, count int) [][]byte {
	count = min(count, 10000) // cycled
	out := make([][]byte, count)
	for i := range out {
		m := &metlog.Message{
			Timestamp: time.Now().UnixNano(), Type: "oldstyle", Logger: "bench", Severity: metlog.Info,
			EnvVersion: "0.8", Pid: 4242, Hostname: "bench-host",
			Fields: []metlog.Field{metlog.String("path", "/api/items"), metlog.Int("status", 200)},
		}
		overhead := len(m.AppendJSON(nil))
		m.Payload = fmt.Sprintf("%08d ", i) + strings.Repeat("x", max(0, size-overhead-9))
		if format == "heka" {
			out[i], _ = heka.AppendRecord(nil, m, nil)
		} else {
			out[i] = append(m.AppendJSON(nil), '\n')
		}
	}
	return out
}

func send(ctx context.Context, scheme, addr string, msgs [][]byte, count, rate int) error {
	conn, err := (&net.Dialer{}).DialContext(ctx, scheme, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	var interval time.Duration
	if rate > 0 {
		interval = time.Second / time.Duration(rate)
	}
	start := time.Now()
	if scheme == "udp" {
		for i := range count {
			if interval > 0 {
				pace(start, i, interval)
			}
			m := msgs[i%len(msgs)]
			if _, err := conn.Write(m[:len(m)-1]); err != nil { // no newline in a datagram
				return err
			}
		}
		return nil
	}
	w := bufio.NewWriterSize(conn, 256<<10)
	for i := range count {
		if interval > 0 {
			if pace(start, i, interval) {
				w.Flush()
			}
		}
		if _, err := w.Write(msgs[i%len(msgs)]); err != nil {
			return err
		}
	}
	return w.Flush()
}

// pace sleeps until message i is due; it reports whether it slept.
func pace(start time.Time, i int, interval time.Duration) bool {
	due := start.Add(time.Duration(i) * interval)
	if d := time.Until(due); d > time.Millisecond {
		time.Sleep(d)
		return true
	}
	return false
}

type bencher struct {
	http, output string
	client       http.Client
}

type sample struct {
	delivered, dropped, rejected uint64
	cpu, rss                     float64
}

func (b *bencher) sample(ctx context.Context) (sample, error) {
	var s sample
	req, _ := http.NewRequestWithContext(ctx, "GET", b.http+"/api/status", nil)
	resp, err := b.client.Do(req)
	if err != nil {
		return s, err
	}
	var st struct {
		Inputs map[string]struct {
			Dropped  uint64
			Rejected map[string]uint64
		}
		Outputs map[string]struct{ Delivered uint64 }
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		return s, err
	}
	if b.output == "" && len(st.Outputs) == 1 {
		for name := range st.Outputs {
			b.output = name
		}
	}
	s.delivered = st.Outputs[b.output].Delivered
	for _, in := range st.Inputs {
		s.dropped += in.Dropped
		for _, n := range in.Rejected {
			s.rejected += n
		}
	}
	req, _ = http.NewRequestWithContext(ctx, "GET", b.http+"/metrics", nil)
	resp, err = b.client.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			s.cpu, _ = strconv.ParseFloat(val, 64)
		case "process_resident_memory_bytes":
			s.rss, _ = strconv.ParseFloat(val, 64)
		}
	}
	return s, nil
}
