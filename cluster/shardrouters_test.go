package cluster

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/output/nats/natstest"
)

// totals folds the statmetric messages of heka files into per-metric
// totals over every flush: counts and sums add up, upper is the maximum
// and lower the minimum. These do not depend on where the flushes fell, so
// routers that flushed at different moments can be compared.
func totals(t *testing.T, paths ...string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var rec heka.Record
		var m metlog.Message
		for len(data) > 0 {
			n, err := heka.ParseRecord(data, &rec, 0)
			if err != nil {
				break // a record still being written
			}
			data = data[n:]
			if heka.Unmarshal(rec.Message, &m) != nil {
				continue
			}
			for line := range strings.Lines(m.Payload) {
				f := strings.Fields(line)
				if len(f) != 3 || strings.Contains(f[0], ".statsd.") {
					continue
				}
				v, _ := strconv.ParseFloat(f[1], 64)
				name := f[0]
				switch {
				case strings.HasSuffix(name, ".count"), strings.HasSuffix(name, ".sum"):
					out[name] += v
				case strings.HasSuffix(name, ".upper"):
					if old, ok := out[name]; !ok || v > old {
						out[name] = v
					}
				case strings.HasSuffix(name, ".lower"):
					if old, ok := out[name]; !ok || v < old {
						out[name] = v
					}
				}
			}
		}
	}
	return out
}

// The sharded configuration of docs/scaling.md with real routers: an edge
// router publishes counters and timers on "metlog.{type}.{shard}" with two
// shards; one aggregating router per shard consumes "metlog.*.K", and a
// third router aggregates everything, as a single aggregator would. Over
// all their flushes, the shards' counts, sums, uppers and lowers equal the
// single router's and what was sent, and no metric name is emitted by both
// shards. (That percentiles match too is TestShardedAggregationIsExact's.)
func TestShardedAggregationRouters(t *testing.T) {
	srv := natstest.Start(t)
	dir := t.TempDir()
	urls := tomlList([]string{srv.URL})
	edgeAddr := freeAddr(t)
	edge := startRouter(t, "edge", filepath.Join(dir, "edge"), fmt.Sprintf(`
[router]
data_dir = "data"
http = %q
[input.tcp]
address = %q
[output.metrics]
type = "nats"
match = "Type == 'counter' || Type == 'timer'"
urls = %s
subject = "metlog.{type}.{shard}"
shards = 2
`, freeAddr(t), edgeAddr, urls))
	aggregator := func(name, consumer, filter string) string {
		d := filepath.Join(dir, name)
		startRouter(t, name, d, fmt.Sprintf(`
[router]
data_dir = "data"
http = %q
[input.nats]
urls = %s
consumer = %q
filter_subject = %q
max_wait = "100ms"
[aggregate.statsd]
flush_interval = "1s"
delete_idle_stats = true
[output.stats]
type = "file"
match = "Type == 'statmetric'"
format = "heka"
path = "stats.heka"
`, freeAddr(t), urls, consumer, filter))
		return filepath.Join(d, "stats.heka")
	}
	shard0 := aggregator("shard0", "aggregate-0", "metlog.*.0")
	shard1 := aggregator("shard1", "aggregate-1", "metlog.*.1")
	single := aggregator("single", "aggregate-all", "metlog.>")

	c, err := metlog.Dial("tcp+ack://"+edgeAddr, metlog.WithLogger("app"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		name := "m" + strconv.Itoa(rng.IntN(40))
		if rng.IntN(2) == 0 {
			n := int64(1 + rng.IntN(9))
			c.Count(name, n)
			want["stats.counters."+name+".count"] += float64(n)
			continue
		}
		ms := float64(rng.IntN(500))
		c.Timing(name, time.Duration(ms)*time.Millisecond)
		key := "stats.timers." + name
		want[key+".count"]++
		want[key+".sum"] += ms
		if old, ok := want[key+".upper"]; !ok || ms > old {
			want[key+".upper"] = ms
		}
		if old, ok := want[key+".lower"]; !ok || ms < old {
			want[key+".lower"] = ms
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	counted := func(got map[string]float64) bool {
		for name, w := range want {
			if strings.HasSuffix(name, ".count") && got[name] != w {
				return false
			}
		}
		return true
	}
	waitFor(t, time.Minute, func() bool {
		return counted(totals(t, shard0, shard1)) && counted(totals(t, single))
	}, func() string {
		return fmt.Sprintf("not every value aggregated yet\nedge:\n%s", edge.logs())
	})
	sharded, one := totals(t, shard0, shard1), totals(t, single)
	for name, w := range want {
		if math.Abs(sharded[name]-w) > 1e-9 || math.Abs(one[name]-w) > 1e-9 {
			t.Errorf("%s: sharded %v, one router %v, sent %v", name, sharded[name], one[name], w)
		}
	}
	in0, in1 := totals(t, shard0), totals(t, shard1)
	for name := range in0 {
		if _, ok := in1[name]; ok {
			t.Errorf("%s emitted by both shards", name)
		}
	}
	t.Logf("%d metrics: shard 0 emitted %d, shard 1 %d; totals equal one router's and what was sent", len(want), len(in0), len(in1))
}
