//go:build linux

package carbon

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/output/outputtest"
)

// carbonCache is a carbon-cache process run by a test, with its own config
// and whisper files in a temporary directory.
type carbonCache struct {
	t        *testing.T
	dir      string
	tcp, udp string // line receiver addresses
	pickle   string // the last listener carbon opens: once it accepts, all are up
	proc     *outputtest.Process
}

// startCarbon runs carbon-cache in the foreground, keeping every data
// point at a one-second resolution, and stops it when the test ends.
func startCarbon(t *testing.T) *carbonCache {
	t.Helper()
	bin, err := exec.LookPath("carbon-cache")
	if err != nil {
		t.Skip("SKIPPED: carbon-cache is not installed (Debian package graphite-carbon; `make deps` installs it)")
	}
	if _, err := exec.LookPath("whisper-fetch"); err != nil {
		t.Skip("SKIPPED: whisper-fetch is not installed (Debian package python3-whisper; `make deps` installs it)")
	}
	dir := t.TempDir()
	for _, d := range []string{"conf", "whisper", "log"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The ports are free when chosen, but another test may take one before
	// carbon-cache binds it: then start again on others.
	for attempt := 1; ; attempt++ {
		c, err := tryCarbon(t, bin, dir)
		if err == nil {
			return c
		}
		if attempt == 3 || !strings.Contains(c.proc.Output(), "Address already in use") {
			t.Fatalf("carbon-cache %v: %s", err, c.proc.Output())
		}
		pids, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
		for _, p := range pids {
			os.Remove(p)
		}
	}
}

// tryCarbon configures carbon-cache in dir on free ports and starts it.
func tryCarbon(t *testing.T, bin, dir string) (*carbonCache, error) {
	t.Helper()
	line, udp, pickle, query := outputtest.FreePort(t, "tcp"), outputtest.FreePort(t, "udp"), outputtest.FreePort(t, "tcp"), outputtest.FreePort(t, "tcp")
	conf := fmt.Sprintf(`[cache]
STORAGE_DIR = %[1]s/
LOCAL_DATA_DIR = %[1]s/whisper/
CONF_DIR = %[1]s/conf/
LOG_DIR = %[1]s/log/
PID_DIR = %[1]s/
DATABASE = whisper
ENABLE_TAGS = False
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
WHISPER_AUTOFLUSH = True
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = %[2]s
ENABLE_UDP_LISTENER = True
UDP_RECEIVER_INTERFACE = 127.0.0.1
UDP_RECEIVER_PORT = %[3]s
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = %[4]s
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = %[5]s
`, dir, line, udp, pickle, query)
	schemas := "[everything]\npattern = .*\nretentions = 1s:1h\n"
	if err := os.WriteFile(filepath.Join(dir, "conf", "carbon.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "conf", "storage-schemas.conf"), []byte(schemas), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &carbonCache{t: t, dir: dir, tcp: "127.0.0.1:" + line, udp: "127.0.0.1:" + udp,
		pickle: "127.0.0.1:" + pickle}
	cmd := exec.Command(bin, "--config="+filepath.Join(dir, "conf", "carbon.conf"), "--nodaemon", "start")
	c.proc = outputtest.StartProcess(t, "carbon-cache", cmd)
	return c, c.proc.Ready(60*time.Second, func() bool { return outputtest.Listening(c.pickle) })
}

// start runs carbon-cache and waits until it listens. It stops when the
// test ends, unless stop stopped it first.
func (c *carbonCache) start(bin string) {
	c.t.Helper()
	cmd := exec.Command(bin, "--config="+filepath.Join(c.dir, "conf", "carbon.conf"), "--nodaemon", "start")
	c.proc = outputtest.StartProcess(c.t, "carbon-cache", cmd)
	c.proc.WaitReady(c.t, 60*time.Second, func() bool { return outputtest.Listening(c.pickle) })
}

// stop ends carbon-cache with SIGTERM (it writes its cache out first), or
// kills it after 20s.
func (c *carbonCache) stop() { c.proc.Stop() }

// value reads metric's data point at ts from its whisper file with
// whisper-fetch; ok is false while there is none.
func (c *carbonCache) value(metric string, ts int64) (v float64, ok bool) {
	c.t.Helper()
	path := filepath.Join(c.dir, "whisper", strings.ReplaceAll(metric, ".", "/")+".wsp")
	if _, err := os.Stat(path); err != nil {
		return 0, false
	}
	out, err := exec.Command("whisper-fetch", "--json",
		"--from="+strconv.FormatInt(ts-1, 10), "--until="+strconv.FormatInt(ts+1, 10), path).Output()
	if err != nil {
		return 0, false // the file may be half created
	}
	var r struct {
		Start, Step int64
		Values      []*float64
	}
	if err := json.Unmarshal(out, &r); err != nil {
		c.t.Fatalf("whisper-fetch: %v: %s", err, out)
	}
	for i, v := range r.Values {
		if r.Start+int64(i)*r.Step == ts && v != nil {
			return *v, true
		}
	}
	return 0, false
}

// waitFor polls the whisper files until every metric holds its value at
// ts, failing after 60s.
func (c *carbonCache) waitFor(ts int64, want map[string]float64) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		missing := map[string]string{}
		for name, w := range want {
			got, ok := c.value(name, ts)
			switch {
			case !ok:
				missing[name] = "no data point"
			case got != w:
				missing[name] = fmt.Sprintf("%v, want %v", got, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("after 60s, at %d: %v", ts, missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func statmetric(ts int64, values map[string]float64) *metlog.Message {
	var b strings.Builder
	m := &metlog.Message{Timestamp: ts * 1e9, Type: "statmetric", Logger: "statsd"}
	for name, v := range values {
		fmt.Fprintf(&b, "%s %s %d\n", name, strconv.FormatFloat(v, 'f', -1, 64), ts)
		m.Fields = append(m.Fields, metlog.Float(name, v))
	}
	m.Payload = b.String()
	return m
}

// writeUntilAccepted writes like the router does: again after each error,
// until the batch is accepted.
func writeUntilAccepted(t *testing.T, o *Output, batch []*metlog.Message) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := o.Write(context.Background(), batch)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("write not accepted within 30s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCarbonCache sends statmetric lines and directly formatted counters,
// timers and gauges to a real carbon-cache over TCP, restarts it, sends
// more, and reads every value back from the whisper files.
func TestCarbonCache(t *testing.T) {
	c := startCarbon(t)
	cfg := Defaults()
	cfg.Address = c.tcp
	cfg.Direct = true
	cfg.Prefix = "direct"
	cfg.LoggerNamespace = true
	o := newOutput(t, cfg)

	ts := time.Now().Unix() - 30
	stats := map[string]float64{
		"stats.counters.page_views.count": 3, "stats.counters.page_views.rate": 0.3,
		"stats.timers.db_query.mean": 12.75, "stats.gauges.queue": -4,
	}
	metric := func(typ, name, payload string, rate float64) *metlog.Message {
		m := outputtest.Metric(typ, "web app", name, payload, metlog.Float("rate", rate))
		m.Timestamp = ts * 1e9
		return m
	}
	batch := []*metlog.Message{
		statmetric(ts, stats),
		metric("counter", "hits", "5", 0.5),
		metric("timer", "GET /login", "250.5", 1),
		metric("gauge", "temperature", "21.5", 1),
		{Type: "oldstyle", Payload: "not a metric"},
	}
	writeUntilAccepted(t, o, batch)
	want := map[string]float64{
		"direct.counters.web_app.hits":      10,
		"direct.timers.web_app.GET__login":  250.5,
		"direct.gauges.web_app.temperature": 21.5,
		"stats.counters.page_views.count":   3,
		"stats.counters.page_views.rate":    0.3,
		"stats.timers.db_query.mean":        12.75,
		"stats.gauges.queue":                -4,
	}
	c.waitFor(ts, want)
	if st := o.Stats(); st.Lines != 7 || st.Skipped != 1 || st.Invalid != 0 {
		t.Errorf("stats %+v", st)
	}

	// carbon restarts: the output notices the closed connection and
	// reconnects, and the router's retries cover the time it is down.
	bin, _ := exec.LookPath("carbon-cache")
	c.stop()
	c.start(bin)
	ts++
	writeUntilAccepted(t, o, []*metlog.Message{
		statmetric(ts, map[string]float64{"stats.gauges.queue": 8}),
		metric("gauge", "temperature", "-1.5", 1),
	})
	c.waitFor(ts, map[string]float64{"stats.gauges.queue": 8, "direct.gauges.web_app.temperature": 20})
}

// TestCarbonCacheUDP sends a batch too big for one datagram to carbon's
// UDP listener.
func TestCarbonCacheUDP(t *testing.T) {
	c := startCarbon(t)
	cfg := Defaults()
	cfg.Address = c.udp
	cfg.Protocol = "udp"
	cfg.MaxDatagram = 200
	o := newOutput(t, cfg)
	ts := time.Now().Unix() - 30
	want := map[string]float64{}
	for i := range 40 {
		want[fmt.Sprintf("udp.metric%02d", i)] = float64(i) + 0.5
	}
	writeUntilAccepted(t, o, []*metlog.Message{statmetric(ts, want)})
	c.waitFor(ts, want)
}
