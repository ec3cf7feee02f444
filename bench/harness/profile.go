package harness

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// profileRun runs a workload once more with metlog, not counted, and
// takes a CPU profile from its /debug/pprof while the load runs: run calls
// during with the instance once the load has started.
func (h *harness) profileRun(ctx context.Context, workload string, run func(ctx context.Context, during func(*instance))) {
	dir := filepath.Join(h.cfg.ResultsDir, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.progress(workload, "metlog", "profile: %v", err)
		return
	}
	file := filepath.Join(dir, strings.ReplaceAll(workload, " ", "-")+".pprof")
	fetchErr := fmt.Errorf("the run failed before the load started")
	run(ctx, func(in *instance) {
		h.progress(workload, "metlog", "CPU profile for %ds", h.cfg.ProfileSeconds)
		fetchErr = fetchProfile(ctx, in.status, h.cfg.ProfileSeconds, file)
	})
	if fetchErr != nil {
		h.progress(workload, "metlog", "profile: %v", fetchErr)
		h.res.Errors = append(h.res.Errors, workload+" profile: "+fetchErr.Error())
		return
	}
	p, err := analyse(ctx, workload, file)
	if err != nil {
		h.progress(workload, "metlog", "profile: %v", err)
		h.res.Errors = append(h.res.Errors, workload+" profile: "+err.Error())
		return
	}
	h.res.Profiles = append(h.res.Profiles, p)
}

// fetchProfile saves seconds of CPU profile from a router with pprof on.
func fetchProfile(ctx context.Context, base string, seconds int, file string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(seconds+30)*time.Second)
	defer cancel()
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, seconds)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// analyse runs go tool pprof -top on a profile: the first rows for the
// report, all of them for the shares.
func analyse(ctx context.Context, workload, file string) (Profile, error) {
	p := Profile{Workload: workload, File: file}
	top, err := pprofTop(ctx, file, 20)
	if err != nil {
		return p, err
	}
	p.Top = top
	all, err := pprofTop(ctx, file, 100000)
	if err != nil {
		return p, err
	}
	p.Shares = shares(all)
	return p, nil
}

func pprofTop(ctx context.Context, file string, n int) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, goBin, "tool", "pprof", "-top", "-nodecount="+strconv.Itoa(n), file)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof: %w", err)
	}
	return string(out), nil
}

// A category of CPU time: a function's flat time counts in the first
// category whose test accepts its name.
type category struct {
	what string
	test func(fn string) bool
}

var categories = []category{
	{"system calls (their kernel time included)", func(fn string) bool {
		return hasAnyPrefix(fn, "syscall.", "internal/runtime/syscall", "runtime/internal/syscall", "golang.org/x/sys/unix.")
	}},
	{"copying (memmove)", func(fn string) bool { return fn == "runtime.memmove" }},
	{"garbage collection and allocation", func(fn string) bool {
		if !strings.HasPrefix(fn, "runtime.") {
			return false
		}
		return containsAny(strings.ToLower(fn), "gc", "malloc", "sweep", "scan", "mspan", "mheap", "mcache", "mcentral",
			"greyobject", "findobject", "heapbits", "markbits", "memclr", "wbbuf", "barrier", "typepointers", "spanof", "nextfree")
	}},
	{"scheduler and other runtime", func(fn string) bool { return strings.HasPrefix(fn, "runtime.") }},
	{"JSON encoding and decoding", func(fn string) bool { return containsAny(strings.ToLower(fn), "json") }},
	{"Heka protobuf encoding and decoding", func(fn string) bool {
		return containsAny(strings.ToLower(fn), "heka", "protobuf", "proto")
	}},
	{"statsd parsing", func(fn string) bool { return containsAny(strings.ToLower(fn), "statsd") }},
	{"checksums", func(fn string) bool { return containsAny(strings.ToLower(fn), "crc32", "hash/") }},
	{"other metlog code", func(fn string) bool { return strings.Contains(fn, "github.com/metlog/metlog") }},
	{"other", func(string) bool { return true }},
}

// Cumulative markers: the time spent in and under these functions.
var markers = []struct{ what, fn string }{
	{"(cumulative) fsync", "Fsync"},
	{"(cumulative) reading sockets", "internal/poll.(*FD).Read"},
	{"(cumulative) writing files", "internal/poll.(*FD).Write"},
}

// shares splits a pprof -top listing into categories by flat time, and
// adds the cumulative markers.
func shares(top string) []Share {
	flat := map[string]float64{}
	cum := map[string]float64{}
	var total float64
	rows := false
	for line := range strings.SplitSeq(top, "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == "flat" && f[1] == "flat%" {
			rows = true
			continue
		}
		if !rows || len(f) < 6 {
			continue
		}
		fl, err1 := parseSeconds(f[0])
		cu, err2 := parseSeconds(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		fn := strings.Join(f[5:], " ")
		total += fl
		for _, c := range categories {
			if c.test(fn) {
				flat[c.what] += fl
				break
			}
		}
		for _, m := range markers {
			if strings.Contains(fn, m.fn) {
				cum[m.what] = max(cum[m.what], cu)
			}
		}
	}
	var out []Share
	if total == 0 {
		return out
	}
	for _, c := range categories {
		if v := flat[c.what]; v > 0 {
			out = append(out, Share{c.what, v / total})
		}
	}
	for _, m := range markers {
		if v := cum[m.what]; v > 0 {
			out = append(out, Share{m.what, v / total})
		}
	}
	return out
}

// parseSeconds reads a pprof duration such as 1.20s, 350ms or 0.
func parseSeconds(s string) (float64, error) {
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	return d.Seconds(), err
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func containsAny(s string, subs ...string) bool {
	for _, p := range subs {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
