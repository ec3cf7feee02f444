package statsd_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/router"
)

// registered reports whether the router knows a plugin of kind k and type
// typ.
func registered(k config.Kind, typ string) bool {
	return slices.ContainsFunc(router.Plugins(), func(p router.PluginInfo) bool { return p.Kind == k && p.Type == typ })
}

// TestEquivalenceThroughRouter runs the equivalence stream through a real
// in-process router, its statsd input (or, without one, metlog JSON over
// its TCP input) and a file output, and compares each flush with the
// accumulator driven directly, which TestEquivalence compares with etsy
// statsd.
//
// Flush boundaries: the router flushes on its own ticker. As with statsd,
// the test sends each interval's lines right after a flush, and then reads
// from each flush's metrics_received count how many lines it took, so
// that the direct run flushes at the same points whatever the timing.
func TestEquivalenceThroughRouter(t *testing.T) {
	if !registered(config.KindAggregate, "statsd") {
		t.Skip("SKIPPED: the router does not list the statsd aggregator (router/components.go)")
	}
	intervals := equivalenceStream(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			var got []flushResult
			var segments [][]string
			for attempt := 1; ; attempt++ {
				var err error
				if got, segments, err = runRouter(t, sc, intervals); err == nil {
					break
				}
				if attempt == 3 {
					t.Fatal(err)
				}
				t.Logf("attempt %d: %v; retrying", attempt, err)
			}
			want := runDirect(t, sc, segments)
			for k := range got {
				compareOurs(t, sc, k, got[k], want[k])
			}
		})
	}
}

// compareOurs compares two flushes of the accumulator: the same names and
// values, processing_time aside.
func compareOurs(t *testing.T, sc scenario, k int, got, want flushResult) {
	t.Helper()
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("interval %d: missing %s", k, name)
		} else if g != w && !strings.Contains(name, sc.prefixStats+".processing_time") {
			t.Errorf("interval %d: %s = %v, want %v", k, name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("interval %d: unexpected %s", k, name)
		}
	}
}

func runRouter(t *testing.T, sc scenario, intervals [][]string) (flushes []flushResult, segments [][]string, err error) {
	dir := t.TempDir()
	out := filepath.Join(dir, "stats.json")
	statsdIn := registered(config.KindInput, "statsd")
	in := "[input.tcp]\naddress = \"127.0.0.1:0\"\n"
	if statsdIn {
		in = "[input.statsd]\naddress = \"127.0.0.1:0\"\n"
	}
	doc := fmt.Sprintf(`[router]
data_dir = %q
http = ""
%s
[aggregate.statsd]
match = "Type == 'counter' || Type == 'timer' || Type == 'gauge' || Type == 'set'"
flush_interval = %q
%s

[output.stats]
type = "file"
format = "metlog-json"
match = "Type == 'statmetric'"
path = %q
`, dir, in, equivalenceInterval, sc.toml, out)
	cfg, err := config.Parse("router.toml", []byte(doc), router.Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(cfg, router.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router: %v", err)
		}
	}()

	var send func([]string) error
	if statsdIn {
		conn, err := net.Dial("udp", r.InputAddr("statsd").String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		send = (&statsdProcess{conn: conn}).send
	} else {
		conn, err := net.Dial("tcp", r.InputAddr("tcp").String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		send = func(lines []string) error {
			var buf []byte
			for _, l := range lines {
				m, err := parseLine(l)
				if err != nil {
					return err
				}
				buf = append(m.AppendJSON(buf), '\n')
			}
			_, err := conn.Write(buf)
			return err
		}
	}

	agg := func() router.AggregateStatus { return r.Status().Aggregates["statsd"] }
	wait := func(what string, cond func() bool) error {
		deadline := time.Now().Add(10 * equivalenceInterval)
		for !cond() {
			if time.Now().After(deadline) {
				return fmt.Errorf("timed out waiting for %s", what)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return nil
	}
	var all []string
	for _, lines := range intervals {
		flushed := agg().Flushes
		if err := wait("a flush", func() bool { return agg().Flushes > flushed }); err != nil {
			return nil, nil, err
		}
		if err := send(lines); err != nil {
			return nil, nil, err
		}
		all = append(all, lines...)
	}
	// Every line counted by a flush, and that flush in the file.
	var groups []flushResult
	err = wait("every line flushed", func() bool {
		if groups, err = readFlushes(out); err != nil || len(groups) == 0 {
			return false
		}
		n := 0.0
		for _, g := range groups {
			n += g[sc.received]
		}
		_, complete := groups[len(groups)-1][sc.numStats]
		return complete && n == float64(len(all))
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w (%d lines sent; matched %d)", err, len(all), agg().Matched)
	}
	pos := 0
	for _, g := range groups {
		n := int(g[sc.received])
		segments = append(segments, all[pos:pos+n])
		pos += n
	}
	return groups, segments, nil
}

// readFlushes reads the statmetric messages of a metlog JSON file, one
// flushResult per flush (per timestamp), in order.
func readFlushes(path string) ([]flushResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []flushResult
	var last int64
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m metlog.Message
		if err := metlogjson.Decode(sc.Bytes(), &m); err != nil {
			return nil, err
		}
		if len(out) == 0 || m.Timestamp != last {
			out = append(out, flushResult{})
			last = m.Timestamp
		}
		if err := out[len(out)-1].addPayload(&m); err != nil {
			return nil, err
		}
	}
	return out, sc.Err()
}
