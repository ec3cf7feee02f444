package statsd_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/router"
)

// registered reports whether the router knows a plugin of kind k and type
// typ.
func registered(k config.Kind, typ string) bool {
	return slices.ContainsFunc(router.Plugins(), func(p router.PluginInfo) bool { return p.Kind == k && p.Type == typ })
}

// TestEquivalenceThroughRouter runs the equivalence stream through a real
// in-process router — its statsd input, the aggregator, its carbon output
// writing to a carbon listener of the test — and compares each flush with
// the accumulator driven directly, which TestEquivalence compares with etsy
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
	carbon := newLineCollector(t)
	doc := fmt.Sprintf(`[router]
data_dir = %q
http = ""

[input.statsd]
address = "127.0.0.1:0"

[aggregate.statsd]
match = "Type == 'counter' || Type == 'timer' || Type == 'gauge' || Type == 'set'"
flush_interval = %q
%s

[output.graphite]
type = "carbon"
match = "Type == 'statmetric'"
address = %q
`, t.TempDir(), equivalenceInterval, sc.toml, carbon.ln.Addr().String())
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
	conn, err := net.Dial("udp", r.InputAddr("statsd").String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	statsdIn := &statsdProcess{conn: conn}

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
		if err := statsdIn.send(lines); err != nil {
			return nil, nil, err
		}
		all = append(all, lines...)
	}
	// Every line counted by a flush that reached carbon.
	var groups []flushResult
	var bad error
	err = wait("every line flushed", func() bool {
		if groups, bad = carbon.flushes(sc.prefixStats + ".processing_time"); bad != nil {
			return true
		}
		n := 0.0
		for _, g := range groups {
			n += g[sc.received]
		}
		return n == float64(len(all))
	})
	if bad != nil {
		t.Fatal(bad)
	}
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

// lineCollector is a carbon plaintext listener that keeps every line, in
// order, from however many connections.
type lineCollector struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	lines []string
}

func newLineCollector(t *testing.T) *lineCollector {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &lineCollector{ln: ln}
	var conns []net.Conn
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.mu.Lock()
			conns = append(conns, conn)
			c.mu.Unlock()
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				sc := bufio.NewScanner(conn)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					c.mu.Lock()
					c.lines = append(c.lines, sc.Text())
					c.mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		c.mu.Lock()
		for _, conn := range conns {
			conn.Close()
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
	return c
}

// flushes splits the lines received into flushes, each ending with the
// line whose name contains last (the accumulator writes processing_time
// last); the lines of a flush still arriving are left out.
func (c *lineCollector) flushes(last string) ([]flushResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []flushResult
	cur := flushResult{}
	for _, l := range c.lines {
		if err := cur.addLine(l); err != nil {
			return nil, err
		}
		if name, _, _ := strings.Cut(l, " "); strings.Contains(name, last) {
			out = append(out, cur)
			cur = flushResult{}
		}
	}
	return out, nil
}
