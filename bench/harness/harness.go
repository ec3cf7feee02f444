// Package harness runs metlog and its peers through the performance
// workloads and writes what it measured: raw numbers as JSON, and tables
// of ratios to metlog as Markdown.
//
// Every system runs as a child process on loopback, started fresh for each
// measurement from a config template in configs/, and stopped by its PID.
// CPU time comes from /proc/PID/stat (utime + stime) and peak memory from
// /proc/PID/status (VmHWM), for metlog as for its peers. The systems of a
// workload alternate, round after round (the order reversed every other
// round), and each ratio is taken between measurements of the same round
// before the median is reported: on a shared machine absolute figures
// drift, ratios much less.
//
// Workloads:
//
//	clients    the client-cost benchmarks of the bench package (go test -bench)
//	routing    metlog JSON lines over TCP into a file: metlog versus rsyslog
//	statsd     statsd lines over UDP: metlog versus etsy statsd, statsd_exporter, collectd
//	sustained  metlog at half its measured routing maximum for a long run:
//	           loss, end-to-end latency, memory and journal size over time
package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Config says what to run and for how long.
type Config struct {
	// Metlog is the metlog binary; BenchDir the bench module (for go test,
	// node_modules and bin); ResultsDir where raw results, profiles and
	// the runs' working directories go; Out the Markdown report.
	Metlog, BenchDir, ResultsDir, Out string
	// Mode names the configuration in the report ("full", "quick").
	Mode string
	// Workloads to run, in order: clients, routing, statsd, sustained.
	Workloads []string
	// Rounds of alternation for the routing and statsd workloads.
	Rounds int
	// Keep leaves the working directories (output files, journals).
	Keep bool
	// Systems, when not empty, limits the peers to those named (metlog
	// always runs: the ratios are to it).
	Systems []string

	// ClientBenchtime is go test's -benchtime; ClientRounds how many times
	// the benchmark binary runs.
	ClientBenchtime string
	ClientRounds    int

	// MessageSize is the size of a log line, newline included.
	MessageSize int
	// RoutingLines are sent per run over RoutingConns connections, at
	// RoutingRate lines/s in all (0: flat out); a run is abandoned after
	// RoutingTimeout.
	RoutingLines   int
	RoutingConns   int
	RoutingRate    float64
	RoutingTimeout time.Duration

	// StatsdDuration is how long each statsd run sends; StatsdRates are
	// the offered rates in lines per second (0: as fast as the sender
	// can), StatsdPerDatagram lines go in each datagram, over StatsdNames
	// metric names.
	StatsdDuration    time.Duration
	StatsdRates       []float64
	StatsdPerDatagram int
	StatsdNames       int

	// SustainedDuration is the sustained run's length; its rate is
	// SustainedShare of metlog's median routing throughput, or
	// SustainedRate when that is set or routing did not run.
	SustainedDuration time.Duration
	SustainedShare    float64
	SustainedRate     float64
	SustainedConns    int
	// SustainedSample is how often memory and journal size are sampled.
	SustainedSample time.Duration
	// SustainedRotateBytes rotates the output file (keeping two), so that
	// a long run does not fill the disk.
	SustainedRotateBytes int64

	// ProfileSeconds is the length of each CPU profile of metlog.
	ProfileSeconds int

	// Progress gets a line per workload, round and system.
	Progress io.Writer `json:"-"`
}

// Workloads are the workload names, in the order they run.
var Workloads = []string{"clients", "routing", "statsd", "sustained"}

// Full is the configuration of make bench: about 15 minutes, 10 of them
// the sustained run.
func Full() Config {
	return Config{
		Mode: "full", Workloads: Workloads, Rounds: 5,
		ClientBenchtime: "300ms", ClientRounds: 3,
		MessageSize: 250, RoutingLines: 3_000_000, RoutingConns: 4, RoutingTimeout: 90 * time.Second,
		StatsdDuration: 3 * time.Second, StatsdRates: []float64{0, 200_000}, StatsdPerDatagram: 25, StatsdNames: 1000,
		SustainedDuration: 10 * time.Minute, SustainedShare: 0.5, SustainedConns: 4,
		SustainedSample: 30 * time.Second, SustainedRotateBytes: 512 << 20,
		ProfileSeconds: 5,
	}
}

// Quick is the configuration of make bench-quick: under two minutes, for
// development; its figures are noisier.
func Quick() Config {
	c := Full()
	c.Mode = "quick"
	c.Rounds = 1
	c.ClientBenchtime, c.ClientRounds = "50ms", 1
	c.RoutingLines = 500_000
	c.StatsdDuration = 2 * time.Second
	c.SustainedDuration, c.SustainedSample = 15*time.Second, 3*time.Second
	c.SustainedRotateBytes = 128 << 20
	c.ProfileSeconds = 2
	return c
}

// harness is one run of the harness.
type harness struct {
	cfg   Config
	tools tools
	res   *Results
	start time.Time
	work  string // parent of the runs' working directories
}

// Run runs the configured workloads and writes the results; a workload
// that fails is reported and the others still run.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	for _, w := range cfg.Workloads {
		if !slices.Contains(Workloads, w) {
			return fmt.Errorf("unknown workload %q (want %s)", w, strings.Join(Workloads, ", "))
		}
	}
	var err error
	if cfg.ResultsDir, err = filepath.Abs(cfg.ResultsDir); err != nil {
		return err
	}
	if cfg.BenchDir, err = filepath.Abs(cfg.BenchDir); err != nil {
		return err
	}
	h := &harness{cfg: cfg, start: time.Now()}
	h.tools = findTools(cfg.Metlog, cfg.BenchDir)
	h.res = &Results{Mode: cfg.Mode, Started: h.start.UTC(), Host: hostInfo(), Config: cfg,
		Versions: map[string]string{}, Skipped: map[string]string{}}
	h.work = filepath.Join(cfg.ResultsDir, "runs")
	if err := os.MkdirAll(h.work, 0o755); err != nil {
		return err
	}
	defer func() {
		if !cfg.Keep {
			os.RemoveAll(h.work)
		}
	}()
	steps := map[string]func(context.Context) error{
		"clients": h.clients, "routing": h.routing, "statsd": h.statsd, "sustained": h.sustained,
	}
	for _, w := range Workloads {
		if !slices.Contains(cfg.Workloads, w) {
			continue
		}
		h.progress(w, "", "starting")
		if err := steps[w](ctx); err != nil {
			h.progress(w, "", "FAILED: %v", err)
			h.res.Errors = append(h.res.Errors, w+": "+err.Error())
		}
		if ctx.Err() != nil {
			break
		}
	}
	h.res.Finished = time.Now().UTC()
	return errors.Join(h.write(), ctx.Err())
}

// progress prints one line: elapsed time, workload, system, message.
func (h *harness) progress(workload, system, format string, args ...any) {
	el := time.Since(h.start).Round(time.Second)
	who := workload
	if system != "" {
		who += " · " + system
	}
	fmt.Fprintf(h.cfg.Progress, "[%6s] %-28s %s\n", el, who, fmt.Sprintf(format, args...))
}

// runDir makes a fresh working directory for one run.
func (h *harness) runDir(name string) (string, func(), error) {
	dir, err := os.MkdirTemp(h.work, strings.NewReplacer(" ", "-", "/", "-").Replace(name)+"-")
	if err != nil {
		return "", nil, err
	}
	return dir, func() {
		if !h.cfg.Keep {
			os.RemoveAll(dir)
		}
	}, nil
}

// order returns the systems of round r (from 1): as given in odd rounds,
// reversed in even ones.
func order[T any](systems []T, r int) []T {
	out := slices.Clone(systems)
	if r%2 == 0 {
		slices.Reverse(out)
	}
	return out
}

// available keeps the daemons that can run here and records the others.
func (h *harness) available(workload string, ds ...daemon) []daemon {
	var out []daemon
	for _, d := range ds {
		if len(h.cfg.Systems) > 0 && !isMetlog(d.name) && !slices.Contains(h.cfg.Systems, d.name) {
			continue
		}
		if d.missing != "" {
			h.res.Skipped[workload+": "+d.name] = d.missing
			h.progress(workload, d.name, "SKIPPED: %s", d.missing)
			continue
		}
		name := d.name
		if isMetlog(name) {
			name = "metlog" // its variants are one binary
		}
		h.res.Versions[name] = d.version
		out = append(out, d)
	}
	return out
}

// write saves the raw results as JSON (a stamped file and latest.json)
// and the report as Markdown.
func (h *harness) write() error {
	b, err := json.MarshalIndent(h.res, "", "  ")
	if err != nil {
		return err
	}
	stamp := h.start.UTC().Format("20060102T150405Z")
	raw := filepath.Join(h.cfg.ResultsDir, h.cfg.Mode+"-"+stamp+".json")
	errs := []error{
		os.WriteFile(raw, b, 0o644),
		os.WriteFile(filepath.Join(h.cfg.ResultsDir, "latest.json"), b, 0o644),
	}
	if h.cfg.Out != "" {
		errs = append(errs, os.WriteFile(h.cfg.Out, []byte(Report(h.res, notes(h.cfg.BenchDir, h.res))), 0o644))
		h.progress("report", "", "wrote %s and %s", h.cfg.Out, raw)
	}
	return errors.Join(errs...)
}

// Render writes the report of earlier results (a JSON file the harness
// wrote) to out, with the current notes: to update the reading without
// measuring again.
func Render(resultsFile, benchDir, out string) error {
	b, err := os.ReadFile(resultsFile)
	if err != nil {
		return err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %w", resultsFile, err)
	}
	return os.WriteFile(out, []byte(Report(&r, notes(benchDir, &r))), 0o644)
}

// notes is the hand-written reading of the figures, notes.md in the bench
// module, put at the end of the report of a run of every workload (it
// quotes them all); other runs get none.
func notes(benchDir string, r *Results) string {
	if !slices.Equal(r.Config.Workloads, Workloads) {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(benchDir, "notes.md"))
	if err != nil {
		return ""
	}
	return string(b)
}

// Host describes the machine.
type Host struct {
	CPUs      int    `json:"cpus"`
	Model     string `json:"model"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go_version"`
	// LoadAvg is the one-minute load average when the run started: other
	// work on the machine shares its cores.
	LoadAvg string `json:"load_avg"`
}

func hostInfo() Host {
	h := Host{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		h.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return h
}
