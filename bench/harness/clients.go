package harness

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// clients is workload 1: the bench package's benchmarks, compiled once
// and run ClientRounds times; every benchmark alternates the systems
// within it.
func (h *harness) clients(ctx context.Context) error {
	bin, err := filepath.Abs(filepath.Join(h.cfg.ResultsDir, "clients.test"))
	if err != nil {
		return err
	}
	h.progress("clients", "", "compiling the benchmarks")
	build := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, ".")
	build.Dir = h.cfg.BenchDir
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go test -c: %v: %s", err, out)
	}
	defer os.Remove(bin)
	for r := 1; r <= h.cfg.ClientRounds; r++ {
		h.progress("clients", "", "round %d/%d: go test -bench . -benchmem -benchtime %s", r, h.cfg.ClientRounds, h.cfg.ClientBenchtime)
		cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", ".", "-test.benchmem",
			"-test.benchtime", h.cfg.ClientBenchtime, "-test.timeout", "10m")
		cmd.Dir = h.cfg.BenchDir
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("benchmarks: %v: %s%s", err, out, stderr.Bytes())
		}
		bs := parseBenchmarks(out, r)
		if len(bs) == 0 {
			return fmt.Errorf("benchmarks printed no results: %s", out)
		}
		h.res.Clients = append(h.res.Clients, bs...)
	}
	if h.cfg.ProfileSeconds > 0 {
		h.profileClients(ctx, bin)
	}
	return nil
}

// profileClients runs metlog's client benchmarks once more under the CPU
// profiler.
func (h *harness) profileClients(ctx context.Context, bin string) {
	dir := filepath.Join(h.cfg.ResultsDir, "profiles")
	file := filepath.Join(dir, "clients.pprof")
	h.progress("clients", "metlog", "CPU profile of metlog's client benchmarks")
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		cmd := exec.CommandContext(ctx, bin, "-test.run", "^$", "-test.bench", "/metlog/", "-test.benchtime",
			h.cfg.ClientBenchtime, "-test.cpuprofile", file, "-test.timeout", "10m")
		cmd.Dir = h.cfg.BenchDir
		if out, cerr := cmd.CombinedOutput(); cerr != nil {
			err = fmt.Errorf("%v: %s", cerr, out)
		}
	}
	var p Profile
	if err == nil {
		p, err = analyse(ctx, "clients", file)
	}
	if err != nil {
		h.progress("clients", "metlog", "profile: %v", err)
		h.res.Errors = append(h.res.Errors, "clients profile: "+err.Error())
		return
	}
	h.res.Profiles = append(h.res.Profiles, p)
}

// parseBenchmarks reads go test -bench output: lines such as
//
//	BenchmarkCounter/metlog/discard-2  1000  248.2 ns/op  185.2 cpu-ns/op  3 B/op  0 allocs/op
func parseBenchmarks(out []byte, round int) []Benchmark {
	var bs []Benchmark
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the GOMAXPROCS suffix
			}
		}
		parts := strings.Split(strings.TrimPrefix(name, "Benchmark"), "/")
		if len(parts) != 3 {
			continue
		}
		b := Benchmark{Round: round, Event: parts[0], System: parts[1], Sink: parts[2], Metrics: map[string]float64{}}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				b.Metrics[f[i+1]] = v
			}
		}
		bs = append(bs, b)
	}
	return bs
}
