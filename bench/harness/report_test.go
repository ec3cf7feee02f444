package harness

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestReportGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	got := Report(&r, "## Reading\n\nThe closing note.\n")
	golden := filepath.Join("testdata", "report.md")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("the report differs from %s (go test -update rewrites it):\n%s", golden, firstDiff(got, string(want)))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + itoa(i+1) + ":\n got: " + x + "\nwant: " + y
		}
	}
	return ""
}

func itoa(i int) string { return formatCount(float64(i)) }

func TestSummariseRatios(t *testing.T) {
	samples := []Sample{
		{System: "metlog", Round: 1, Rate: 100, Cores: 1, Sent: 10, Lost: 0},
		{System: "peer", Round: 1, Rate: 50, Cores: 1, Sent: 10, Lost: 5},
		{System: "peer", Round: 2, Rate: 90, Cores: 0.5, Sent: 10, Lost: 1},
		{System: "metlog", Round: 2, Rate: 300, Cores: 1, Sent: 10},
		{System: "peer", Round: 3, Error: "timed out"},
		{System: "metlog", Round: 0, Rate: 1e9}, // a profile run: not counted
	}
	got := summarise(samples, "")
	if len(got) != 2 || got[0].system != "metlog" || got[1].system != "peer" {
		t.Fatalf("summaries %+v", got)
	}
	peer := got[1]
	// Ratios per round: 50/100 and 90/300; their median is 0.4.
	if math.Abs(peer.ratio-0.4) > 1e-9 {
		t.Errorf("ratio %v, want 0.4", peer.ratio)
	}
	// Lines per CPU-second: 50 and 180 against 100 and 300: 0.5 and 0.6.
	if math.Abs(peer.effRatio-0.55) > 1e-9 {
		t.Errorf("efficiency ratio %v, want 0.55", peer.effRatio)
	}
	if peer.rate != 70 || peer.rounds != 2 || peer.failed != 1 || peer.lossPct != 30 {
		t.Errorf("peer summary %+v", peer)
	}
	if got[0].ratio != 1 {
		t.Errorf("metlog's ratio to itself is %v", got[0].ratio)
	}
}

func TestSummariseAccumulatorIsTheReference(t *testing.T) {
	samples := []Sample{
		{System: "metlog + accumulator", Round: 1, Rate: 100, Variant: "flat out"},
		{System: "metlog input only", Round: 1, Rate: 200, Variant: "flat out"},
		{System: "collectd", Round: 1, Rate: 50, Variant: "flat out"},
		{System: "collectd", Round: 1, Rate: 1, Variant: "other"},
	}
	for _, s := range summarise(samples, "flat out") {
		want := map[string]float64{"metlog + accumulator": 1, "metlog input only": 2, "collectd": 0.5}[s.system]
		if s.ratio != want {
			t.Errorf("%s: ratio %v, want %v", s.system, s.ratio, want)
		}
	}
}

func TestParseBenchmarks(t *testing.T) {
	out := `goos: linux
BenchmarkCounter/metlog/discard-2   	   20000	       248.2 ns/op	       185.2 cpu-ns/op	         0.4230 drops/op	       3 B/op	       0 allocs/op
BenchmarkLog/zap/udp-16   	   20000	      4919 ns/op	      5781 cpu-ns/op	     192 B/op	       1 allocs/op
BenchmarkOther-2   	   20000	      1 ns/op
BenchmarkTimer/cactus/udp   	   10	      397.5 ns/op
PASS
`
	got := parseBenchmarks([]byte(out), 3)
	if len(got) != 3 {
		t.Fatalf("%d benchmarks, want 3: %+v", len(got), got)
	}
	want := []struct {
		event, system, sink string
		metrics             map[string]float64
	}{
		{"Counter", "metlog", "discard", map[string]float64{"ns/op": 248.2, "cpu-ns/op": 185.2, "drops/op": 0.423, "B/op": 3, "allocs/op": 0}},
		{"Log", "zap", "udp", map[string]float64{"ns/op": 4919, "cpu-ns/op": 5781, "B/op": 192, "allocs/op": 1}},
		{"Timer", "cactus", "udp", map[string]float64{"ns/op": 397.5}},
	}
	for i, w := range want {
		g := got[i]
		if g.Round != 3 || g.Event != w.event || g.System != w.system || g.Sink != w.sink || len(g.Metrics) != len(w.metrics) {
			t.Errorf("benchmark %d: %+v", i, g)
			continue
		}
		for unit, v := range w.metrics {
			if g.Metrics[unit] != v {
				t.Errorf("benchmark %d: %s = %v, want %v", i, unit, g.Metrics[unit], v)
			}
		}
	}
}

func TestShares(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "pprof-top.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	var flat float64
	for _, s := range shares(string(b)) {
		got[s.What] = s.Fraction
		if !strings.HasPrefix(s.What, "(cumulative)") {
			flat += s.Fraction
		}
	}
	if math.Abs(flat-1) > 0.01 {
		t.Errorf("flat shares add up to %v, want 1: %v", flat, got)
	}
	// The listing's first row: Syscall6, 24.38% flat.
	if v := got["system calls (their kernel time included)"]; v < 0.24 || v > 0.3 {
		t.Errorf("system calls: %v", v)
	}
	for _, what := range []string{"JSON encoding and decoding", "Heka protobuf encoding and decoding", "(cumulative) reading sockets"} {
		if got[what] <= 0 {
			t.Errorf("no share for %q: %v", what, got)
		}
	}
	if len(shares("no listing here")) != 0 {
		t.Error("shares of a text without a listing")
	}
}

func TestParseSeconds(t *testing.T) {
	tests := map[string]float64{"0": 0, "1.20s": 1.2, "350ms": 0.35, "10us": 0.00001}
	for in, want := range tests {
		got, err := parseSeconds(in)
		if err != nil || math.Abs(got-want) > 1e-12 {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseSeconds("1.2"); err == nil {
		t.Error("no error for a number without unit")
	}
}
