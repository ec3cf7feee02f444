package cluster

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	statsdagg "github.com/metlog/metlog/aggregate/statsd"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input/inputtest"
	natsin "github.com/metlog/metlog/input/nats"
	natsout "github.com/metlog/metlog/output/nats"
	"github.com/metlog/metlog/output/nats/natstest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// metrics returns n counter and timer messages over names metric names,
// with integer values so that sums do not depend on the order of addition.
func metrics(n, names int) []*metlog.Message {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]*metlog.Message, n)
	for i := range out {
		typ, v := "counter", strconv.Itoa(1+rng.IntN(5))
		if rng.IntN(2) == 0 {
			typ, v = "timer", strconv.Itoa(rng.IntN(1000))
		}
		name := "app.m" + strconv.Itoa(rng.IntN(names))
		out[i] = &metlog.Message{UUID: metlog.NewUUID(), Timestamp: time.Now().UnixNano(), Type: typ,
			Logger: "app", Severity: metlog.Info, Payload: v, EnvVersion: metlog.EnvVersion,
			Fields: []metlog.Field{metlog.String("name", name), metlog.Float("rate", 1)}}
	}
	return out
}

// aggregate feeds msgs to a new statsd accumulator, flushes it at now and
// returns its metrics by name, leaving out the accumulator's own
// (stats.statsd.*, stats.counters.statsd.*).
func aggregate(t *testing.T, msgs []*metlog.Message, now time.Time) map[string]string {
	t.Helper()
	cfg := statsdagg.Defaults()
	cfg.Percentiles = []float64{50, 90, 99}
	acc, err := statsdagg.New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		acc.Add(m)
	}
	out := map[string]string{}
	acc.Flush(now, func(m *metlog.Message) {
		for line := range strings.Lines(m.Payload) {
			f := strings.Fields(line)
			if len(f) == 3 && !strings.Contains(f[0], ".statsd.") {
				out[f[0]] = f[1]
			}
		}
	})
	return out
}

// Counters and timers published with subject "metlog.{type}.{shard}" and
// consumed by one aggregator per shard (filter "metlog.*.K") give exactly
// the metrics one aggregator computes from all of them: every value of a
// name reaches the same aggregator. Sharing one consumer instead (work
// queue style, no sharding) splits a name's timer values and changes its
// percentiles.
func TestShardedAggregationIsExact(t *testing.T) {
	const shards = 3
	srv := natstest.Start(t)
	sent := metrics(6000, 60)
	ocfg := natsout.Defaults()
	ocfg.URLs = []string{srv.URL}
	ocfg.Subject = "metlog.{type}.{shard}"
	ocfg.Shards = shards
	out, err := natsout.New(ocfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < len(sent); i += 1000 {
		if err := out.Write(ctx, sent[i:i+1000]); err != nil {
			t.Fatal(err)
		}
	}

	now := time.Unix(1_800_000_000, 0)
	want := aggregate(t, sent, now)
	got := map[string]string{}
	owner := map[string]int{} // metric → the shard that emitted it
	total := 0
	for k := range shards {
		icfg := natsin.Defaults()
		icfg.URLs = []string{srv.URL}
		icfg.Consumer = "aggregator-" + strconv.Itoa(k)
		icfg.FilterSubject = "metlog.*." + strconv.Itoa(k)
		icfg.MaxWait = config.Duration(100 * time.Millisecond)
		in, err := natsin.New(icfg, quiet)
		if err != nil {
			t.Fatal(err)
		}
		sink := &inputtest.Sink{}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- in.Run(runCtx, sink) }()
		expect := 0
		for _, m := range sent {
			if natsout.Shard(m.Fields[0].Strings[0], shards) == k {
				expect++
			}
		}
		msgs, err := sink.Wait(ctx, expect)
		stop()
		if rerr := <-done; rerr != nil {
			t.Fatal(rerr)
		}
		if err != nil {
			t.Fatalf("shard %d: %d of %d messages: %v", k, len(msgs), expect, err)
		}
		total += len(msgs)
		for name, v := range aggregate(t, msgs, now) {
			if prev, ok := owner[name]; ok {
				t.Errorf("%s emitted by shards %d and %d", name, prev, k)
			}
			owner[name], got[name] = k, v
		}
	}
	if total != len(sent) {
		t.Fatalf("the shards consumed %d messages, want %d", total, len(sent))
	}
	if len(got) != len(want) {
		t.Errorf("%d metrics sharded, %d from one aggregator", len(got), len(want))
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s = %s sharded, %s from one aggregator", name, got[name], w)
		}
	}
	t.Logf("%d messages over %d shards: %d metrics, all equal to one aggregator's", len(sent), shards, len(want))

	// Without sharding, round robin over three aggregators: the timer
	// percentiles of a name no longer match.
	var parts [shards][]*metlog.Message
	for i, m := range sent {
		parts[i%shards] = append(parts[i%shards], m)
	}
	split := aggregate(t, parts[0], now)
	differ := 0
	for name, w := range want {
		if strings.Contains(name, ".upper_90") && split[name] != w {
			differ++
		}
	}
	if differ == 0 {
		t.Error("round robin gave the same percentiles: the test data cannot tell sharding apart")
	}
}
