package statsd_test

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/aggregate/statsd"
	"github.com/metlog/metlog/config"
)

// equivalenceInterval is the flush interval of both sides. Each interval's
// lines are sent right after the previous flush, so they have all of it to
// arrive; it is not a whole second so that rates differ from counts.
const equivalenceInterval = 800 * time.Millisecond

// A scenario is one configuration, given to etsy statsd (js, the inside
// of its config object) and to the accumulator (toml, the body of its
// [aggregate.statsd] table).
type scenario struct {
	name, js, toml string
	// prefixStats is statsd's prefixStats: its own metrics are named with
	// it, and only they are, in these streams.
	prefixStats string
	// received is the name of statsd's metrics_received count, which tells
	// whether it got every line of an interval within that interval.
	received string
	numStats string
}

var scenarios = []scenario{
	{
		name: "current namespace, percentiles, histograms, idle stats kept",
		js: `graphite: {legacyNamespace: false},
  percentThreshold: [90, -90, 50, 99.9],
  histogram: [{metric: "render", bins: [0.1, 1, 10, "inf"]}, {metric: "", bins: [5, 100]}]`,
		toml: `percentiles = [90, -90, 50, 99.9]
[[aggregate.statsd.histogram]]
metric = "render"
bins = [0.1, 1, 10, inf]
[[aggregate.statsd.histogram]]
bins = [5, 100]`,
		prefixStats: "statsd",
		received:    "stats.counters.statsd.metrics_received.count",
		numStats:    "stats.statsd.numStats",
	},
	{
		name: "legacy namespace, idle stats deleted but counters, gauge ttl 2",
		js: `graphite: {legacyNamespace: true, globalSuffix: "h1"},
  prefixStats: "agg", percentThreshold: [95],
  deleteIdleStats: true, deleteCounters: false, gaugesMaxTTL: 2`,
		toml: `legacy_namespace = true
global_suffix = "h1"
prefix_stats = "agg"
percentiles = [95]
delete_idle_stats = true
delete_counters = false
gauges_max_ttl = 2`,
		prefixStats: "agg",
		received:    "stats_counts.agg.metrics_received.h1",
		numStats:    "agg.numStats.h1",
	},
	{
		name: "custom prefixes, timer metrics filtered, idle timers and sets deleted",
		js: `graphite: {legacyNamespace: false, globalPrefix: "m", prefixCounter: "c", prefixTimer: "", prefixGauge: "gg", globalSuffix: "x"},
  percentThreshold: [75, -25], deleteTimers: true, deleteSets: true,
  calculatedTimerMetrics: ["count", "count_ps", "mean", "median", "std", "upper_percent", "lower_percent", "sum_percent", "histogram"],
  histogram: [{metric: "db", bins: [1, 2, 3, "inf"]}]`,
		toml: `global_prefix = "m"
prefix_counter = "c"
prefix_timer = ""
prefix_gauge = "gg"
global_suffix = "x"
percentiles = [75, -25]
delete_timers = true
delete_sets = true
timer_metrics = ["count", "count_ps", "mean", "median", "std", "upper_percent", "lower_percent", "sum_percent", "histogram"]
[[aggregate.statsd.histogram]]
metric = "db"
bins = [1, 2, 3, inf]`,
		prefixStats: "statsd",
		received:    "m.c.statsd.metrics_received.count.x",
		numStats:    "m.statsd.numStats.x",
	},
}

// TestEquivalence sends the same statsd stream to etsy statsd and to the
// accumulator and compares what each flushes, interval by interval: the
// same names, the same values to 1e-9 relative.
//
// Flush boundaries: etsy statsd flushes on its own timer. The test sends
// an interval's lines right after statsd's previous flush reached the
// carbon listener (statsd resets its metrics before it even connects), so
// they normally have a whole interval to arrive. It does not rely on that:
// statsd's own metrics_received count says how many lines each flush
// took, and since they arrive in order, exactly which; the accumulator is
// then given the same lines between the same flushes. So a loaded machine
// only moves the boundaries, the same for both. Lost datagrams show as
// lines never counted, and the run is retried with a new statsd.
func TestEquivalence(t *testing.T) {
	etsyStatsd(t) // skips without node and statsd
	intervals := equivalenceStream(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			etsy, segments := runEtsy(t, sc, intervals)
			ours := runDirect(t, sc, segments)
			for k := range etsy {
				compareFlush(t, sc, k, etsy[k], ours[k])
			}
		})
	}
}

// equivalenceStream is the hand-written stream of testdata followed by
// generated intervals.
func equivalenceStream(t *testing.T) [][]string {
	return append(readStream(t, "testdata/stream.txt"), generate(1, 12)...)
}

// generate makes intervals of random traffic over fixed names: counters,
// timers, gauges (absolute and deltas, negative ones too) and sets, with
// sample rates and tags; in each interval a third of the names are idle,
// and every fifth interval and the last two are wholly idle.
func generate(seed uint64, n int) [][]string {
	r := rand.New(rand.NewPCG(seed, 42))
	rates := []string{"", "", "", "|@0.5", "|@0.1", "|@0.25", "|@0.3", "|@0.75"}
	tags := []string{"", "", "|#env:prod", "|#az:a,env:dev", "|#canary"}
	decimal := func(max float64) string {
		return strconv.FormatFloat(math.Round(r.Float64()*r.Float64()*max*1000)/1000, 'f', -1, 64)
	}
	var out [][]string
	for k := range n {
		if k%5 == 4 || k >= n-2 {
			out = append(out, nil)
			continue
		}
		var lines []string
		add := func(names, maxLines int, line func(name, tag string) string, kind string) {
			for i := range names {
				if r.IntN(3) == 0 {
					continue // idle this interval
				}
				name := fmt.Sprintf("gen.%s%d", kind, i)
				tag := tags[i%len(tags)]
				for range 1 + r.IntN(maxLines) {
					lines = append(lines, line(name, tag))
				}
			}
		}
		add(8, 10, func(name, tag string) string {
			v := strconv.Itoa(1 + r.IntN(5))
			switch r.IntN(8) {
			case 0:
				v = "-2"
			case 1:
				v = decimal(10)
			case 2:
				v = "1e2"
			}
			return name + ":" + v + "|c" + rates[r.IntN(len(rates))] + tag
		}, "counter")
		add(6, 40, func(name, tag string) string {
			v := decimal(500)
			if r.IntN(10) == 0 {
				v = "0"
			}
			return name + ":" + v + "|ms" + rates[r.IntN(len(rates))] + tag
		}, "timer")
		add(2, 30, func(name, tag string) string {
			return name + ":" + decimal(20) + "|ms" + tag
		}, "render.timer")
		add(2, 30, func(name, tag string) string {
			return name + ":" + decimal(5) + "|ms" + tag
		}, "db.timer")
		add(5, 5, func(name, tag string) string {
			v := decimal(100)
			switch r.IntN(3) {
			case 0:
				v = "+" + v
			case 1:
				v = "-" + v
			}
			return name + ":" + v + "|g" + tag
		}, "gauge")
		add(4, 25, func(name, tag string) string {
			return name + ":m" + strconv.Itoa(r.IntN(30)) + "|s" + tag
		}, "set")
		out = append(out, lines)
	}
	return out
}

// errLost marks a run in which statsd did not count every line sent.
var errLost = errors.New("statsd did not receive every line")

// runEtsy runs the stream through etsy statsd and returns its flushes and
// the lines each flush had received: in order, since lines go over
// loopback UDP from one socket and statsd handles each datagram at once.
// A run that loses datagrams is retried twice with a new statsd.
func runEtsy(t *testing.T, sc scenario, intervals [][]string) (flushes []flushResult, segments [][]string) {
	for attempt := 1; ; attempt++ {
		flushes, segments, err := runEtsyOnce(t, sc, intervals)
		if err == nil {
			return flushes, segments
		}
		if !errors.Is(err, errLost) || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("attempt %d: %v; retrying", attempt, err)
	}
}

func runEtsyOnce(t *testing.T, sc scenario, intervals [][]string) (flushes []flushResult, segments [][]string, err error) {
	p := startStatsd(t, sc.js, equivalenceInterval)
	var all []string
	for _, lines := range intervals {
		all = append(all, lines...)
	}
	pos := 0 // lines counted by the flushes so far
	flush := func() error {
		res, err := p.carbon.next(5 * equivalenceInterval)
		if err != nil {
			return err
		}
		n := int(res[sc.received])
		if float64(n) != res[sc.received] || pos+n > len(all) {
			return fmt.Errorf("flush %d: %s = %v", len(flushes), sc.received, res[sc.received])
		}
		flushes = append(flushes, res)
		segments = append(segments, all[pos:pos+n])
		pos += n
		return nil
	}
	sent := 0
	for k, lines := range intervals {
		if err := p.send(lines); err != nil {
			return nil, nil, err
		}
		sent += len(lines)
		if err := flush(); err != nil {
			return nil, nil, err
		}
		if pos != sent {
			t.Logf("interval %d: statsd flushed while it was being sent; %d of its %d lines went to the next flush", k, sent-pos, len(lines))
		}
	}
	for extra := 0; pos < sent && extra < 3; extra++ {
		if err := flush(); err != nil {
			return nil, nil, err
		}
	}
	if pos < sent {
		return nil, nil, fmt.Errorf("%d of %d lines counted: %w", pos, sent, errLost)
	}
	return flushes, segments, nil
}

// accumulatorConfig decodes a scenario's TOML as the router would.
func accumulatorConfig(t *testing.T, sc scenario) statsd.Config {
	t.Helper()
	cat := config.Catalog{config.KindAggregate: {"statsd": func() any { c := statsd.Defaults(); return &c }}}
	doc := fmt.Sprintf("[aggregate.statsd]\nflush_interval = %q\n%s\n", equivalenceInterval, sc.toml)
	cfg, err := config.Parse("scenario.toml", []byte(doc), cat, nil)
	if err != nil {
		t.Fatal(err)
	}
	return *cfg.Plugins[0].Config.(*statsd.Config)
}

// runDirect runs the stream through an accumulator, flushing after each
// interval.
func runDirect(t *testing.T, sc scenario, intervals [][]string) []flushResult {
	a, err := statsd.New(accumulatorConfig(t, sc), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	var out []flushResult
	for _, lines := range intervals {
		for _, l := range lines {
			m, err := parseLine(l)
			if err != nil {
				t.Fatal(err)
			}
			a.Add(m)
		}
		now = now.Add(equivalenceInterval)
		res := flushResult{}
		a.Flush(now, func(m *metlog.Message) {
			if err := res.addPayload(m); err != nil {
				t.Fatal(err)
			}
		})
		out = append(out, res)
	}
	if st := a.Stats(); st.Bad+st.Dropped+st.Ignored != 0 {
		t.Fatalf("accumulator stats %+v", st)
	}
	return out
}

// addPayload adds the graphite lines of a statmetric message.
func (r flushResult) addPayload(m *metlog.Message) error {
	for _, l := range strings.Split(strings.TrimSuffix(m.Payload, "\n"), "\n") {
		if err := r.addLine(l); err != nil {
			return err
		}
	}
	return nil
}

// nanStat finds statsd's NaN metrics: for a negative percentile that takes
// every value, it reads before the start of its running sums. The
// accumulator emits the sums of every value there.
var nanStat = regexp.MustCompile(`\.(mean|sum|sum_squares)_top[0-9_]+([.;]|$)`)

// compareFlush compares one interval's flushes. Of statsd's own metrics,
// metrics_received and bad_lines_seen are compared; packets_received,
// timestamp_lag, graphiteStats and processing_time are left out, and
// numStats is compared without those it counts of them.
func compareFlush(t *testing.T, sc scenario, k int, etsy, ours flushResult) {
	t.Helper()
	own := func(name string) bool {
		return strings.Contains(name, sc.prefixStats+".") &&
			!strings.Contains(name, sc.prefixStats+".metrics_received") &&
			!strings.Contains(name, sc.prefixStats+".bad_lines_seen")
	}
	internal := 1.0 // packets_received
	for name := range etsy {
		if strings.Contains(name, sc.prefixStats+".timestamp_lag") {
			internal++ // a gauge statsd sets from its second flush on
		}
	}
	if want, got := etsy[sc.numStats]-internal, ours[sc.numStats]; got != want {
		t.Errorf("interval %d: %s = %v, want %v (statsd's %v less its own)", k, sc.numStats, got, want, etsy[sc.numStats])
	}
	for _, name := range slices.Sorted(maps.Keys(etsy)) {
		if own(name) {
			continue
		}
		want := etsy[name]
		got, ok := ours[name]
		switch {
		case !ok:
			t.Errorf("interval %d: missing %s (statsd: %v)", k, name, want)
		case math.IsNaN(want) && nanStat.MatchString(name):
			all := nanStat.ReplaceAllString(name, ".$1$2")
			if got != ours[all] {
				t.Errorf("interval %d: %s = %v, want %s = %v (statsd: NaN)", k, name, got, all, ours[all])
			}
		case !approxEqual(got, want):
			t.Errorf("interval %d: %s = %v, statsd %v", k, name, got, want)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(ours)) {
		if _, ok := etsy[name]; !ok && !own(name) {
			t.Errorf("interval %d: %s = %v, not in statsd's flush", k, name, ours[name])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// TestNumberFormatMatchesJavaScript compares the number text of the
// graphite lines with JavaScript's String(number), which statsd writes.
func TestNumberFormatMatchesJavaScript(t *testing.T) {
	node, _ := etsyStatsd(t)
	r := rand.New(rand.NewPCG(7, 7))
	values := []float64{0, 1, -1, 0.1, 1e21, 1e-7, 1e-6, 123456789012345680000, 5e-324, math.MaxFloat64, 0.000001234, 1.5e-7}
	for range 3000 {
		switch r.IntN(3) {
		case 0:
			values = append(values, math.Float64frombits(r.Uint64()))
		case 1:
			values = append(values, r.Float64()*math.Pow(10, float64(r.IntN(50)-25)))
		default:
			values = append(values, math.Round(r.NormFloat64()*1e6)/1000)
		}
	}
	var in strings.Builder
	for _, v := range values {
		if !math.IsNaN(v) {
			fmt.Fprintf(&in, "%x\n", math.Float64bits(v))
		}
	}
	script := `const lines = require("fs").readFileSync(0, "utf8").trim().split("\n");
const b = Buffer.alloc(8);
for (const h of lines) { b.writeBigUInt64BE(BigInt("0x" + h)); console.log(String(b.readDoubleBE(0))); }`
	var out strings.Builder
	cmd := exec.Command(node, "-e", script)
	cmd.Stdin, cmd.Stdout = strings.NewReader(in.String()), &out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(out.String()), "\n")
	i := 0
	for _, v := range values {
		if math.IsNaN(v) {
			continue
		}
		if got := string(statsd.AppendNumber(nil, v)); got != want[i] {
			t.Errorf("%v (%x): %q, JavaScript %q", v, math.Float64bits(v), got, want[i])
		}
		i++
	}
}
