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
// Flush boundaries: the router flushes on its own ticker. The test sends
// an interval's lines right after a flush, waits until the aggregator has
// matched them all, and retries the run when that took more than half an
// interval, when the next flush might have come first.
func TestEquivalenceThroughRouter(t *testing.T) {
	if !registered(config.KindAggregate, "statsd") {
		t.Skip("SKIPPED: the router does not list the statsd aggregator (router/components.go)")
	}
	intervals := equivalenceStream(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			want := runDirect(t, sc, intervals)
			var got []flushResult
			for attempt := 1; ; attempt++ {
				var err error
				if got, err = runRouter(t, sc, intervals); err == nil {
					break
				}
				if attempt == 3 {
					t.Fatal(err)
				}
				t.Logf("attempt %d: %v; retrying", attempt, err)
			}
			for k := range intervals {
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

func runRouter(t *testing.T, sc scenario, intervals [][]string) ([]flushResult, error) {
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
		p := &statsdProcess{conn: conn}
		send = p.send
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
	if err := wait("the first flush", func() bool { return agg().Flushes > 0 }); err != nil {
		return nil, err
	}
	flushes, flushed := agg().Flushes, time.Now()
	var results []flushResult
	matched := uint64(0)
	for k, lines := range intervals {
		if err := send(lines); err != nil {
			return nil, err
		}
		matched += uint64(len(lines))
		if err := wait("the lines to be matched", func() bool { return agg().Matched >= matched }); err != nil {
			return nil, err
		}
		if got := agg().Matched; got != matched {
			return nil, fmt.Errorf("interval %d: %d messages matched, %d sent", k, got, matched)
		}
		if d := time.Since(flushed); d > equivalenceInterval/2 || agg().Flushes != flushes {
			return nil, fmt.Errorf("interval %d: sending took %v since the flush; the next one may have come first", k, d)
		}
		if err := wait("the interval's flush", func() bool { return agg().Flushes > flushes }); err != nil {
			return nil, err
		}
		flushed = time.Now()
		flushes++
		if err := wait("the file output", func() bool {
			s := r.Status()
			return s.Outputs["stats"].Delivered == s.Aggregates["statsd"].Emitted
		}); err != nil {
			return nil, err
		}
		groups, err := readFlushes(out)
		if err != nil {
			return nil, err
		}
		if len(groups) != int(flushes) {
			return nil, fmt.Errorf("interval %d: %d flushes in the file, %d by the router", k, len(groups), flushes)
		}
		results = append(results, groups[flushes-1])
	}
	return results, nil
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
