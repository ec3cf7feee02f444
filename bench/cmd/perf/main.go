// Command perf runs metlog's performance harness: every workload against
// metlog and its peers, with the figures written to docs/performance.md
// and the raw numbers under results/.
//
//	go run ./cmd/perf -metlog ../bin/metlog -out ../docs/performance.md
//	go run ./cmd/perf -quick -workloads routing,statsd
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/metlog/metlog/bench/harness"
)

func main() {
	quick := len(os.Args) > 1 && slicesContains(os.Args[1:], "-quick", "--quick")
	cfg := harness.Full()
	if quick {
		cfg = harness.Quick()
	}
	flag.Bool("quick", false, "the quick configuration (under two minutes), for development")
	flag.StringVar(&cfg.Metlog, "metlog", "../bin/metlog", "the metlog `binary` (make build)")
	flag.StringVar(&cfg.BenchDir, "bench", ".", "the bench module's `directory`")
	flag.StringVar(&cfg.ResultsDir, "results", "results", "`directory` for raw results, profiles and the runs' files")
	flag.StringVar(&cfg.Out, "out", "", "write the Markdown report to this `file` (default: none)")
	workloads := flag.String("workloads", strings.Join(cfg.Workloads, ","), "comma-separated `list` of workloads: "+strings.Join(harness.Workloads, ", "))
	systems := flag.String("systems", "", "comma-separated `names` of the peers to run (default: all; metlog always runs)")
	flag.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "alternating rounds of the routing and statsd workloads")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the runs' working directories (output files, journals)")
	flag.StringVar(&cfg.ClientBenchtime, "client-benchtime", cfg.ClientBenchtime, "go test -benchtime of the client benchmarks")
	flag.IntVar(&cfg.ClientRounds, "client-rounds", cfg.ClientRounds, "runs of the client benchmarks")
	flag.IntVar(&cfg.MessageSize, "size", cfg.MessageSize, "log line size in `bytes`, newline included")
	flag.IntVar(&cfg.RoutingLines, "routing-lines", cfg.RoutingLines, "lines per routing run")
	flag.IntVar(&cfg.RoutingConns, "routing-conns", cfg.RoutingConns, "TCP connections of the routing load")
	flag.Float64Var(&cfg.RoutingRate, "routing-rate", 0, "send the routing load at this many lines/s in all, to compare CPU at a fixed rate (0: flat out)")
	flag.DurationVar(&cfg.RoutingTimeout, "routing-timeout", cfg.RoutingTimeout, "give up on a routing run after this long")
	flag.DurationVar(&cfg.StatsdDuration, "statsd-duration", cfg.StatsdDuration, "how long each statsd run sends")
	rates := flag.String("statsd-rates", joinRates(cfg.StatsdRates), "offered statsd rates in lines/s, comma-separated; 0 is flat out")
	flag.IntVar(&cfg.StatsdPerDatagram, "statsd-lines", cfg.StatsdPerDatagram, "statsd lines per datagram")
	flag.IntVar(&cfg.StatsdNames, "statsd-names", cfg.StatsdNames, "distinct statsd metric names")
	flag.DurationVar(&cfg.SustainedDuration, "sustained", cfg.SustainedDuration, "length of the sustained run")
	flag.Float64Var(&cfg.SustainedShare, "sustained-share", cfg.SustainedShare, "the sustained rate as a share of metlog's routing throughput")
	flag.Float64Var(&cfg.SustainedRate, "sustained-rate", 0, "the sustained rate in lines/s (default: -sustained-share of the measured maximum)")
	flag.Int64Var(&cfg.SustainedRotateBytes, "sustained-rotate", cfg.SustainedRotateBytes, "rotate the sustained run's output file at this many `bytes` (0: never)")
	flag.IntVar(&cfg.SustainedConns, "sustained-conns", cfg.SustainedConns, "TCP connections of the sustained load")
	flag.DurationVar(&cfg.SustainedSample, "sustained-sample", cfg.SustainedSample, "how often the sustained run samples memory and journal size")
	cpuProfile := flag.String("cpuprofile", "", "write the harness's own CPU profile (load generators and tail) to this `file`")
	flag.IntVar(&cfg.ProfileSeconds, "profile", cfg.ProfileSeconds, "`seconds` of CPU profile per metlog workload (0: none)")
	render := flag.String("render", "", "only render the report of this results `file` (JSON) to -out, with the current notes.md")
	flag.Parse()

	if *render != "" {
		if cfg.Out == "" {
			fmt.Fprintln(os.Stderr, "perf: -render needs -out")
			os.Exit(2)
		}
		if err := harness.Render(*render, cfg.BenchDir, cfg.Out); err != nil {
			fmt.Fprintln(os.Stderr, "perf:", err)
			os.Exit(1)
		}
		return
	}

	cfg.Workloads = strings.Split(*workloads, ",")
	if *systems != "" {
		cfg.Systems = strings.Split(*systems, ",")
	}
	var err error
	if cfg.StatsdRates, err = parseRates(*rates); err != nil {
		fmt.Fprintln(os.Stderr, "perf: -statsd-rates:", err)
		os.Exit(2)
	}
	cfg.Progress = os.Stderr
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "perf: -cpuprofile:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	err = harness.Run(ctx, cfg)
	pprof.StopCPUProfile()
	if err != nil {
		fmt.Fprintln(os.Stderr, "perf:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "perf: done in %v\n", time.Since(start).Round(time.Second))
}

func slicesContains(args []string, want ...string) bool {
	for _, a := range args {
		for _, w := range want {
			if a == w || a == w+"=true" {
				return true
			}
		}
	}
	return false
}

func joinRates(rates []float64) string {
	var s []string
	for _, r := range rates {
		s = append(s, strconv.FormatFloat(r, 'f', -1, 64))
	}
	return strings.Join(s, ",")
}

func parseRates(s string) ([]float64, error) {
	var out []float64
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%q: want a number of lines per second, 0 for flat out", f)
		}
		out = append(out, v)
	}
	return out, nil
}
