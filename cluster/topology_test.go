package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	natsclient "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output/clickhouse/clickhousetest"
	"github.com/metlog/metlog/output/nats/natstest"
)

func sortDurations(d []time.Duration) { slices.Sort(d) }

// tomlList formats strings as a TOML array.
func tomlList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// topology is the scaled-out deployment of docs/scaling.md: applications
// send to two edge routers (acknowledged TCP), which publish to a
// three-node JetStream cluster (stream replicas = 3); two central routers
// share one durable consumer and write what they receive to a heka file
// each.
type topology struct {
	t        *testing.T
	nodes    []*natstest.Server
	edges    []*router
	centrals []*router
	outs     []string // the central routers' output files
	// warehouse is set when the central routers also write to ClickHouse.
	warehouse bool
	clients   []*metlog.Client
}

// startTopology starts the cluster, two edge routers and two central
// routers writing files and, when warehouse is a ClickHouse URL, also the
// ClickHouse table default.metlog.
func startTopology(t *testing.T, warehouse string) *topology {
	t.Helper()
	top := &topology{t: t, nodes: natstest.StartCluster(t, 3), warehouse: warehouse != ""}
	urls := tomlList(natstest.URLs(top.nodes))
	dir := t.TempDir()
	for i := range 2 {
		addr := freeAddr(t)
		cfg := fmt.Sprintf(`
[router]
data_dir = "data"
http = %q
[input.tcp]
address = %q
[output.nats]
urls = %s
replicas = 3
timeout = "5s"
batch_size = 4096
retry_max = "500ms"
`, freeAddr(t), addr, urls)
		name := fmt.Sprintf("edge%d", i+1)
		top.edges = append(top.edges, startRouter(t, name, filepath.Join(dir, name), cfg))
		c, err := metlog.Dial("tcp+ack://"+addr, metlog.WithQueueSize(1<<16), metlog.WithLogger("cluster"))
		if err != nil {
			t.Fatal(err)
		}
		top.clients = append(top.clients, c)
	}
	for i := range 2 {
		cfg := fmt.Sprintf(`
[router]
data_dir = "data"
http = %q
[input.nats]
urls = %s
consumer = "central"
ack_wait = "2s"
max_wait = "100ms"
batch = 1024
[output.all]
type = "file"
format = "heka"
path = "out.heka"
retry_max = "500ms"
`, freeAddr(t), urls)
		if warehouse != "" {
			cfg += fmt.Sprintf(`
[output.warehouse]
type = "clickhouse"
url = %q
batch_size = 8192
retry_max = "500ms"
`, warehouse)
		}
		name := fmt.Sprintf("central%d", i+1)
		d := filepath.Join(dir, name)
		top.centrals = append(top.centrals, startRouter(t, name, d, cfg))
		top.outs = append(top.outs, filepath.Join(d, "out.heka"))
	}
	// Warm up: the edges create the stream, the central routers their
	// consumer.
	tr := newTracker("warmup-", top.outs...)
	defer tr.Close()
	top.send("warmup-", 20, 0, nil)
	top.waitDelivered(tr, 20)
	return top
}

// send sends n messages with payloads prefix0 … prefix(n-1), alternating
// between the edges, at rate messages a second (0: as fast as the clients
// take them). at[i] runs before message i is sent.
func (top *topology) send(prefix string, n, rate int, at map[int]func()) {
	t := top.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const tick = 10 * time.Millisecond
	var ticker *time.Ticker
	perTick := n
	if rate > 0 {
		ticker = time.NewTicker(tick)
		defer ticker.Stop()
		perTick = max(1, rate/int(time.Second/tick))
	}
	for i := range n {
		if f := at[i]; f != nil {
			f()
		}
		if ticker != nil && i%perTick == 0 && i > 0 {
			<-ticker.C
		}
		top.clients[i%2].Info(prefix + strconv.Itoa(i))
		if i%1000 == 999 || i == n-1 {
			for _, c := range top.clients {
				if err := c.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// close closes the clients, which must have lost nothing.
func (top *topology) closeClients() {
	top.t.Helper()
	for _, c := range top.clients {
		if err := c.Close(); err != nil {
			top.t.Fatal(err)
		}
		if s := c.Stats(); s.Dropped != 0 || s.Failed != 0 {
			top.t.Fatalf("client stats %+v", s)
		}
	}
}

// waitDelivered waits until tr has seen n distinct messages.
func (top *topology) waitDelivered(tr *tracker, n int) {
	top.t.Helper()
	waitFor(top.t, 2*time.Minute, func() bool { return tr.seen() >= n }, func() string {
		var b strings.Builder
		fmt.Fprintf(&b, "%d of %d messages arrived", tr.seen(), n)
		for _, r := range append(top.edges, top.centrals...) {
			fmt.Fprintf(&b, "\n%s:\n%s", r.name, r.logs())
		}
		return b.String()
	})
}

// settle waits until nothing is in flight: the consumer has nothing
// pending or unacknowledged and the central outputs have no lag, so that
// every redelivered duplicate has landed.
func (top *topology) settle() {
	top.t.Helper()
	urls := natstest.URLs(top.nodes)
	waitFor(top.t, time.Minute, func() bool {
		info := consumerState(urls)
		if info == nil || info.NumPending != 0 || info.NumAckPending != 0 {
			return false
		}
		for _, c := range top.centrals {
			if c.status("outputs", "all", "lag_records") != 0 ||
				top.warehouse && c.status("outputs", "warehouse", "lag_records") != 0 {
				return false
			}
		}
		return true
	}, func() string { return fmt.Sprintf("consumer %+v", consumerState(urls)) })
}

// stop stops every router gracefully.
func (top *topology) stop() {
	for _, r := range append(top.edges, top.centrals...) {
		r.stop()
	}
}

// messages returns the number of messages the cluster tests send, from
// METLOG_CLUSTER_MESSAGES or def (a third of it with -short).
func messages(def int) int {
	if v, err := strconv.Atoi(os.Getenv("METLOG_CLUSTER_MESSAGES")); err == nil && v > 0 {
		return v
	}
	if testing.Short() {
		return def / 3
	}
	return def
}

// Failures mid-stream: the stream's leader node is killed -9, and so is
// one central router, restarted later on the same data directory (its
// journal holds messages it had acknowledged to JetStream but not yet
// written). Every message must arrive, each under one UUID; duplicates
// (redelivered after the kills) are counted and reported.
//
// METLOG_CLUSTER_MESSAGES sets the number of messages (default 20000,
// sent at 2000 a second; a third with -short).
func TestEdgeClusterCentralFailover(t *testing.T) {
	n := messages(20000)
	top := startTopology(t, "")
	tr := newTracker("msg-", top.outs...)
	defer tr.Close()
	var killed *natstest.Server
	events := map[int]func(){
		n / 4: func() {
			killed = streamLeader(t, top.nodes)
			t.Logf("message %d: kill -9 nats node %s, the stream's leader", n/4, killed.Name)
			killed.Kill()
		},
		n / 2: func() {
			t.Logf("message %d: kill -9 %s", n/2, top.centrals[1].name)
			top.centrals[1].kill()
		},
		3 * n / 4: func() {
			t.Logf("message %d: restart %s", 3*n/4, top.centrals[1].name)
			top.centrals[1].start()
		},
	}
	start := time.Now()
	top.send("msg-", n, 2000, events)
	top.closeClients()
	top.waitDelivered(tr, n)
	elapsed := time.Since(start)
	top.settle()
	top.stop()
	tr.Close()
	rep := tr.report()
	if rep.distinct != n {
		t.Fatalf("%d distinct messages arrived, want %d", rep.distinct, n)
	}
	if rep.multiUUID != 0 {
		t.Errorf("%d messages arrived under more than one UUID", rep.multiUUID)
	}
	t.Logf("failover: %d messages at 2000/s through 2 edges → 3-node JetStream (R3) → 2 central routers; "+
		"all delivered after %v", n, elapsed.Round(time.Millisecond))
	t.Logf("failover: latency (client → central file) p50 %v, p99 %v, max %v",
		rep.p50.Round(time.Millisecond), rep.p99.Round(time.Millisecond), rep.max.Round(time.Millisecond))
	t.Logf("failover: loss 0; %d records written, %d duplicates (same UUID)", rep.total, rep.total-n)
}

// Steady state, no failures: latency at a rate the cluster keeps up with
// (1000 messages a second), then the end-to-end throughput of a burst.
//
// METLOG_CLUSTER_MESSAGES sets the size of the burst (default 20000; a
// third with -short).
func TestEdgeClusterCentralThroughput(t *testing.T) {
	n := messages(20000)
	var warehouse string
	if _, err := exec.LookPath("clickhouse-server"); err == nil {
		warehouse = clickhousetest.Start(t).URL
	} else {
		t.Log("SKIPPED the warehouse part: clickhouse-server is not installed (Debian package clickhouse-server; `make deps` installs it)")
	}
	top := startTopology(t, warehouse)
	paced := max(n/6, 1000)
	lat := newTracker("paced-", top.outs...)
	top.send("paced-", paced, 1000, nil)
	top.waitDelivered(lat, paced)
	lat.Close()

	burst := newTracker("burst-", top.outs...)
	defer burst.Close()
	start := time.Now()
	top.send("burst-", n, 0, nil)
	top.waitDelivered(burst, n)
	elapsed := time.Since(start)
	top.settle()
	top.closeClients()
	top.stop()
	burst.Close()

	for _, r := range []struct {
		name string
		tr   *tracker
		n    int
	}{{"paced", lat, paced}, {"burst", burst, n}} {
		rep := r.tr.report()
		if rep.distinct != r.n || rep.multiUUID != 0 {
			t.Fatalf("%s: %d distinct messages (want %d), %d under several UUIDs", r.name, rep.distinct, r.n, rep.multiUUID)
		}
		t.Logf("%s: %d messages, latency p50 %v, p99 %v, max %v; %d duplicates", r.name, r.n,
			rep.p50.Round(time.Millisecond), rep.p99.Round(time.Millisecond), rep.max.Round(time.Millisecond), rep.total-r.n)
	}
	t.Logf("burst: %d messages end to end in %v: %.0f messages/s", n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds())
	if warehouse != "" {
		// Both central routers wrote what each took from the cluster into
		// the one table; every message is there, once per UUID.
		rows, distinct := warehouseCount(t, warehouse, "burst-")
		if distinct != n {
			t.Fatalf("warehouse: %d distinct UUIDs of %d messages (%d rows)", distinct, n, rows)
		}
		t.Logf("warehouse: all %d messages in ClickHouse (%d rows: %d duplicates before merging)", n, rows, rows-n)
	}
}

// warehouseCount returns how many rows of the ClickHouse table have a
// payload starting with prefix, and how many distinct UUIDs they hold. The
// routers had delivered everything before the test asks.
func warehouseCount(t *testing.T, base, prefix string) (rows, distinct int) {
	t.Helper()
	q := fmt.Sprintf("SELECT count(), uniqExact(uuid) FROM default.metlog WHERE startsWith(payload, '%s') FORMAT TSV", prefix)
	resp, err := http.Get(base + "?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("warehouse query: %s: %s", resp.Status, body)
	}
	if _, err := fmt.Sscan(string(body), &rows, &distinct); err != nil {
		t.Fatalf("warehouse answer %q: %v", body, err)
	}
	return rows, distinct
}

// streamLeader returns the node leading the METLOG stream.
func streamLeader(t *testing.T, nodes []*natstest.Server) *natstest.Server {
	t.Helper()
	nc, err := natsclient.Connect(strings.Join(natstest.URLs(nodes), ","))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	var info *jetstream.StreamInfo
	waitFor(t, 30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, "METLOG")
		if err == nil {
			info, err = s.Info(ctx)
		}
		return err == nil && info.Cluster != nil && info.Cluster.Leader != ""
	}, func() string { return "the METLOG stream has no leader" })
	for _, n := range nodes {
		if n.Name == info.Cluster.Leader {
			return n
		}
	}
	t.Fatalf("no leader among the nodes: %+v", info.Cluster)
	return nil
}

// consumerState returns the central consumer's state, or nil if it cannot
// be read right now.
func consumerState(urls []string) *jetstream.ConsumerInfo {
	nc, err := natsclient.Connect(strings.Join(urls, ","))
	if err != nil {
		return nil
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, "METLOG", "central")
	if err != nil {
		return nil
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil
	}
	return info
}
