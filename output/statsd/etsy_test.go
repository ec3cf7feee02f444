//go:build linux

package statsd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/internal/testenv"
	"github.com/metlog/metlog/output/outputtest"
)

// etsyStatsd is etsy's statsd daemon (npm package statsd) run by a test.
// It flushes every 100ms to a Graphite line receiver in the test, which
// adds up what it is told: counters' counts, timers' counts and sums, the
// last value of gauges and sets' counts.
type etsyStatsd struct {
	udp, tcp string

	mu     sync.Mutex
	totals map[string]float64
}

func startEtsyStatsd(t *testing.T) *etsyStatsd {
	t.Helper()
	node, script := testenv.Node(t), testenv.NodeModule(t, "statsd/bin/statsd")
	s := &etsyStatsd{totals: map[string]float64{}}

	// The Graphite receiver statsd flushes to.
	graphite, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := graphite.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.receive(c) })
		}
	})
	t.Cleanup(func() { graphite.Close(); wg.Wait() })

	udp, tcp, mgmt := outputtest.FreePort(t, "udp"), outputtest.FreePort(t, "tcp"), outputtest.FreePort(t, "tcp")
	s.udp, s.tcp = "127.0.0.1:"+udp, "127.0.0.1:"+tcp
	conf := fmt.Sprintf(`{
  servers: [
    { server: "./servers/udp", address: "127.0.0.1", port: %s },
    { server: "./servers/tcp", address: "127.0.0.1", port: %s }
  ],
  mgmt_address: "127.0.0.1", mgmt_port: %s,
  graphiteHost: "127.0.0.1", graphitePort: %d,
  backends: ["./backends/graphite"],
  graphite: { legacyNamespace: false },
  flushInterval: 100,
  deleteIdleStats: true,
  automaticConfigReload: false
}
`, udp, tcp, mgmt, graphite.Addr().(*net.TCPAddr).Port)
	confFile := filepath.Join(t.TempDir(), "config.js")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// statsd opens its management port after its servers.
	proc := outputtest.StartProcess(t, "statsd", exec.Command(node, script, confFile))
	proc.WaitReady(t, 30*time.Second, func() bool { return outputtest.Listening("127.0.0.1:" + mgmt) })
	return s
}

// receive adds up one flush's Graphite lines.
func (s *etsyStatsd) receive(c net.Conn) {
	defer c.Close()
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		name := f[0]
		base, _, _ := strings.Cut(name, ";") // tags follow the name: a.count;region=eu
		s.mu.Lock()
		switch {
		case strings.HasPrefix(name, "stats.gauges."):
			s.totals[name] = v
		case strings.HasPrefix(name, "stats.counters.") && strings.HasSuffix(base, ".count"),
			strings.HasPrefix(name, "stats.timers.") && (strings.HasSuffix(base, ".count") || strings.HasSuffix(base, ".sum")),
			strings.HasPrefix(name, "stats.sets."):
			s.totals[name] += v
		case strings.HasPrefix(name, "stats.timers.") && strings.HasSuffix(base, ".upper"):
			s.totals[name] = max(s.totals[name], v)
		}
		s.mu.Unlock()
	}
}

// waitFor waits until statsd has reported every value in want, failing
// after 30s.
func (s *etsyStatsd) waitFor(t *testing.T, want map[string]float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		diff := map[string]string{}
		for k, w := range want {
			if got, ok := s.totals[k]; !ok || got != w {
				diff[k] = fmt.Sprintf("%v (reported: %v), want %v", got, ok, w)
			}
		}
		s.mu.Unlock()
		if len(diff) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %v", diff)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ready sends a probe counter until statsd reports it: the socket of o is
// then known to reach statsd.
func (s *etsyStatsd) ready(t *testing.T, o *Output) {
	t.Helper()
	probe := []*metlog.Message{{Type: "counter", Payload: "1", Fields: []metlog.Field{metlog.String("name", "probe")}}}
	line, _ := o.appendLine(nil, probe[0])
	key := "stats.counters." + strings.TrimSuffix(string(line), ":1|c\n") + ".count"
	deadline := time.Now().Add(30 * time.Second)
	for {
		o.Write(context.Background(), probe)
		s.mu.Lock()
		_, ok := s.totals[key]
		s.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("statsd reported no probe within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEtsyStatsd forwards counters, timers, gauges and sets to a real etsy
// statsd over UDP and TCP, and checks what statsd flushed to Graphite.
func TestEtsyStatsd(t *testing.T) {
	s := startEtsyStatsd(t)
	for _, proto := range []string{"udp", "tcp"} {
		t.Run(proto, func(t *testing.T) {
			cfg := Defaults()
			cfg.Protocol = proto
			cfg.Address = s.udp
			if proto == "tcp" {
				cfg.Address = s.tcp
			}
			cfg.Prefix = proto
			cfg.LoggerNamespace = true
			cfg.Tags = "dogstatsd"
			o := newOutput(t, cfg)
			s.ready(t, o)
			rate := func(r float64) metlog.Field { return metlog.Float("rate", r) }
			batch := []*metlog.Message{
				outputtest.Metric("counter", "interop-app", "page_views", "1", rate(1)),
				outputtest.Metric("counter", "interop-app", "page_views", "1", rate(1)),
				outputtest.Metric("counter", "interop-app", "page_views", "1", rate(1)),
				outputtest.Metric("counter", "interop-app", "sampled", "1", rate(0.25)),
				outputtest.Metric("counter", "interop-app", "bytes_in", "42", rate(1), metlog.String("region", "us-west")),
				outputtest.Metric("timer", "interop-app", "db_query", "12", rate(1)),
				outputtest.Metric("timer", "interop-app", "db_query", "250", rate(0.5)),
				outputtest.Metric("gauge", "app", "queue", "10"),
				outputtest.Metric("gauge", "app", "queue", "+5"),
				outputtest.Metric("gauge", "app", "queue", "-3"),
				outputtest.Metric("set", "app", "users", "alice"),
				outputtest.Metric("set", "app", "users", "bob"),
				outputtest.Metric("set", "app", "users", "alice"),
				outputtest.Metric("counter", "web app", "GET /users:id|x", "2"),
				{Type: "oldstyle", Payload: "not a metric"},
			}
			if err := o.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			p := "stats.%s." + proto + "."
			s.waitFor(t, map[string]float64{
				fmt.Sprintf(p, "counters") + "interop-app.page_views.count":              3,
				fmt.Sprintf(p, "counters") + "interop-app.sampled.count":                 4,
				fmt.Sprintf(p, "counters") + "interop-app.bytes_in.count;region=us-west": 42,
				fmt.Sprintf(p, "timers") + "interop-app.db_query.count":                  3,
				fmt.Sprintf(p, "timers") + "interop-app.db_query.sum":                    262,
				fmt.Sprintf(p, "timers") + "interop-app.db_query.upper":                  250,
				fmt.Sprintf(p, "gauges") + "app.queue":                                   12,
				fmt.Sprintf(p, "sets") + "app.users.count":                               2,
				fmt.Sprintf(p, "counters") + "web_app.GET_-users_id_x.count":             2,
			})
			if st := o.Stats(); st.Skipped != 1 || st.Invalid != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}
