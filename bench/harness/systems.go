package harness

import (
	"bufio"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// configs are the systems' config templates, filled in per run with a
// tmplData.
//
//go:embed configs
var configs embed.FS

// tmplData is what a config template may refer to.
type tmplData struct {
	Dir         string // the run's working directory
	Out         string // the output file (log routing)
	Port        int    // where the workload sends
	HTTPPort    int    // metlog's HTTP address
	MgmtPort    int    // etsy statsd's management interface
	RotateBytes int64  // metlog's file output rotation, 0 for none
	Accumulator bool   // run metlog's statsd accumulator
}

// writeConfig fills configs/name with data into dir/name.
func writeConfig(name, dir string, data tmplData) (string, error) {
	t, err := template.ParseFS(configs, "configs/"+name)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := t.Execute(f, data); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}

// instance is one system under test, started for one run.
type instance struct {
	*process
	data tmplData
	// counts, when set, asks the system how many statsd lines it took in
	// (parsed and kept, not dropped). busy is true while the system is
	// known to be still working on lines it took in (metlog's aggregator
	// reading back what its input journaled), so the count will move.
	counts func(ctx context.Context) (n uint64, busy bool, err error)
	// status is metlog's HTTP address, for /api/status and profiles.
	status string
}

// daemon is a system a workload can start.
type daemon struct {
	name string
	// missing says why the system cannot run here ("" when it can).
	missing string
	version string
	start   func(ctx context.Context, dir string, d tmplData) (*instance, error)
}

// tools are the programs the workloads run, found on this machine.
type tools struct {
	metlog         string // the metlog binary
	rsyslogd       string
	collectd       string
	node, statsdJS string // etsy statsd: node and its stats.js
	statsdExporter string
}

// findTools looks for every program; a missing one leaves its path empty.
func findTools(metlogBin, benchDir string) tools {
	look := func(name string, alt ...string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		for _, a := range alt {
			if _, err := os.Stat(a); err == nil {
				return a
			}
		}
		return ""
	}
	t := tools{
		rsyslogd: look("rsyslogd", "/usr/sbin/rsyslogd"),
		collectd: look("collectd", "/usr/sbin/collectd"),
		node:     look("node", "/usr/bin/node"),
	}
	if abs, err := filepath.Abs(metlogBin); err == nil {
		if _, err := os.Stat(abs); err == nil {
			t.metlog = abs
		}
	}
	if js := filepath.Join(benchDir, "node_modules", "statsd", "stats.js"); fileSize(js) > 0 {
		t.statsdJS, _ = filepath.Abs(js)
	}
	if se := filepath.Join(benchDir, "bin", "statsd_exporter"); fileSize(se) > 0 {
		t.statsdExporter, _ = filepath.Abs(se)
	}
	return t
}

// versionOf runs a program and returns the first line matching re.
func versionOf(re string, argv ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if m := regexp.MustCompile(re).Find(out); m != nil {
		return strings.Join(strings.Fields(string(m)), " ")
	}
	return "unknown"
}

// metlogDaemon runs `metlog router` with the config template cfg.
func (t tools) metlogDaemon(cfg string, udp bool) daemon {
	d := daemon{name: "metlog"}
	if t.metlog == "" {
		d.missing = "the metlog binary is missing (make build)"
		return d
	}
	d.version = versionOf(`metlog \S+`, t.metlog, "version")
	d.start = func(ctx context.Context, dir string, data tmplData) (*instance, error) {
		path, err := writeConfig(cfg, dir, data)
		if err != nil {
			return nil, err
		}
		p, err := startProcess("metlog", dir, nil, t.metlog, "router", "--config", path, "-log-level", "warn")
		if err != nil {
			return nil, err
		}
		in := &instance{process: p, data: data, status: fmt.Sprintf("http://127.0.0.1:%d", data.HTTPPort)}
		in.counts = func(ctx context.Context) (uint64, bool, error) {
			st, err := metlogStatus(ctx, in.status)
			if err != nil {
				return 0, false, err
			}
			var received uint64
			for _, i := range st.Inputs {
				received += i.Received
			}
			// With an aggregator, a line counts once the aggregator has
			// read it back from the journal too (matched counts messages;
			// read counts journal records, which hold many lines each),
			// and the router is busy until it has read them all: a pause
			// in its reading is not the end of the run.
			n := received
			for _, a := range st.Aggregates {
				n = min(n, a.Matched)
			}
			return n, n < received, nil
		}
		ready := func() bool {
			if _, err := metlogStatus(ctx, in.status); err != nil {
				return false
			}
			if udp {
				_, ok := udpSockets(data.Port)
				return ok
			}
			return tcpListening(data.Port)
		}
		if err := waitFor(ctx, p, 20*time.Second, "router", ready); err != nil {
			p.stop(5 * time.Second)
			return nil, err
		}
		return in, nil
	}
	return d
}

// routerStatus is the part of metlog's /api/status the harness reads.
type routerStatus struct {
	Journal struct {
		Bytes    int64 `json:"bytes"`
		Segments int   `json:"segments"`
	} `json:"journal"`
	Inputs map[string]struct {
		Received uint64 `json:"received"`
		Dropped  uint64 `json:"dropped"`
	} `json:"inputs"`
	Aggregates map[string]struct {
		Matched uint64 `json:"matched"`
	} `json:"aggregates"`
	Outputs map[string]struct {
		Delivered  uint64 `json:"delivered"`
		LagRecords uint64 `json:"lag_records"`
	} `json:"outputs"`
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func metlogStatus(ctx context.Context, base string) (routerStatus, error) {
	var st routerStatus
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/status", nil)
	if err != nil {
		return st, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("/api/status: %s", resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// rsyslogDaemon runs rsyslogd in the foreground with configs/rsyslog.conf.
func (t tools) rsyslogDaemon() daemon {
	d := daemon{name: "rsyslog"}
	if t.rsyslogd == "" {
		d.missing = "rsyslogd is not installed (apt-get install rsyslog)"
		return d
	}
	d.version = versionOf(`rsyslogd\s+\S+`, t.rsyslogd, "-v")
	d.start = func(ctx context.Context, dir string, data tmplData) (*instance, error) {
		path, err := writeConfig("rsyslog.conf", dir, data)
		if err != nil {
			return nil, err
		}
		p, err := startProcess("rsyslog", dir, nil, t.rsyslogd, "-n", "-f", path, "-i", filepath.Join(dir, "rsyslogd.pid"))
		if err != nil {
			return nil, err
		}
		if err := waitFor(ctx, p, 20*time.Second, "imptcp", func() bool { return tcpListening(data.Port) }); err != nil {
			p.stop(5 * time.Second)
			return nil, err
		}
		return &instance{process: p, data: data}, nil
	}
	return d
}

// etsyStatsd runs etsy statsd under node with configs/statsd.js.
func (t tools) etsyStatsd() daemon {
	d := daemon{name: "etsy statsd"}
	if t.node == "" || t.statsdJS == "" {
		d.missing = "node or the statsd package is missing (npm ci in bench/)"
		return d
	}
	d.version = "statsd " + packageVersion(filepath.Join(filepath.Dir(t.statsdJS), "package.json")) +
		", node " + versionOf(`v\S+`, t.node, "--version")
	d.start = func(ctx context.Context, dir string, data tmplData) (*instance, error) {
		path, err := writeConfig("statsd.js", dir, data)
		if err != nil {
			return nil, err
		}
		p, err := startProcess("statsd", dir, nil, t.node, t.statsdJS, path)
		if err != nil {
			return nil, err
		}
		mgmt := fmt.Sprintf("127.0.0.1:%d", data.MgmtPort)
		ready := func() bool {
			_, ok := udpSockets(data.Port)
			return ok && tcpListening(data.MgmtPort)
		}
		if err := waitFor(ctx, p, 20*time.Second, "udp and management ports", ready); err != nil {
			p.stop(5 * time.Second)
			return nil, err
		}
		in := &instance{process: p, data: data}
		in.counts = func(ctx context.Context) (uint64, bool, error) {
			n, err := etsyCounter(ctx, mgmt, "statsd.metrics_received")
			return n, false, err
		}
		return in, nil
	}
	return d
}

// etsyCounter reads one counter from etsy statsd's management interface.
func etsyCounter(ctx context.Context, addr, name string) (uint64, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "counters\n"); err != nil {
		return 0, err
	}
	re := regexp.MustCompile(`'` + regexp.QuoteMeta(name) + `':\s*(\d+)`)
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			return strconv.ParseUint(m[1], 10, 64)
		}
		if sc.Text() == "END" {
			break
		}
	}
	return 0, fmt.Errorf("etsy statsd: no %s counter", name)
}

func packageVersion(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	var p struct{ Version string }
	json.Unmarshal(b, &p)
	return p.Version
}

// statsdExporterDaemon runs prometheus/statsd_exporter.
func (t tools) statsdExporterDaemon() daemon {
	d := daemon{name: "statsd_exporter"}
	if t.statsdExporter == "" {
		d.missing = "statsd_exporter is missing (make bench-deps installs it into bench/bin)"
		return d
	}
	d.version = versionOf(`statsd_exporter\s+v\S+`, "go", "version", "-m", t.statsdExporter)
	d.start = func(ctx context.Context, dir string, data tmplData) (*instance, error) {
		p, err := startProcess("statsd_exporter", dir, nil, t.statsdExporter,
			fmt.Sprintf("--web.listen-address=127.0.0.1:%d", data.HTTPPort),
			fmt.Sprintf("--statsd.listen-udp=127.0.0.1:%d", data.Port),
			"--statsd.listen-tcp=", "--statsd.read-buffer=16777216", "--log.level=warn")
		if err != nil {
			return nil, err
		}
		metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", data.HTTPPort)
		in := &instance{process: p, data: data}
		in.counts = func(ctx context.Context) (uint64, bool, error) {
			// Samples parsed; datagrams dropped from its own queue when
			// full never get parsed.
			m, err := scrape(ctx, metrics, "statsd_exporter_samples_total")
			return uint64(m["statsd_exporter_samples_total"]), false, err
		}
		ready := func() bool {
			_, ok := udpSockets(data.Port)
			_, err := scrape(ctx, metrics)
			return ok && err == nil
		}
		if err := waitFor(ctx, p, 20*time.Second, "udp and http ports", ready); err != nil {
			p.stop(5 * time.Second)
			return nil, err
		}
		return in, nil
	}
	return d
}

// scrape reads the named unlabelled metrics from a Prometheus endpoint.
func scrape(ctx context.Context, url string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		for _, n := range names {
			if name == n {
				out[n], _ = strconv.ParseFloat(val, 64)
			}
		}
	}
	return out, sc.Err()
}

// collectdDaemon runs collectd in the foreground with its statsd plugin.
func (t tools) collectdDaemon() daemon {
	d := daemon{name: "collectd"}
	if t.collectd == "" {
		d.missing = "collectd is not installed (apt-get install collectd-core)"
		return d
	}
	d.version = versionOf(`collectd \d[\w.]*`, t.collectd, "-h")
	d.start = func(ctx context.Context, dir string, data tmplData) (*instance, error) {
		path, err := writeConfig("collectd.conf", dir, data)
		if err != nil {
			return nil, err
		}
		p, err := startProcess("collectd", dir, nil, t.collectd, "-f", "-C", path)
		if err != nil {
			return nil, err
		}
		if err := waitFor(ctx, p, 20*time.Second, "statsd port", func() bool { _, ok := udpSockets(data.Port); return ok }); err != nil {
			p.stop(5 * time.Second)
			return nil, err
		}
		// collectd counts nothing it could report here: the kernel's drop
		// counter for its socket tells what it lost.
		return &instance{process: p, data: data}, nil
	}
	return d
}
