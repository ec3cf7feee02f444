package harness

import (
	"slices"
	"time"
)

// Results is everything one run of the harness measured; it is written as
// JSON under the results directory and rendered by Report.
type Results struct {
	Mode     string    `json:"mode"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Host     Host      `json:"host"`
	Config   Config    `json:"config"`
	// Versions of the systems that ran; Skipped says why others did not.
	Versions map[string]string `json:"versions"`
	Skipped  map[string]string `json:"skipped,omitempty"`
	Errors   []string          `json:"errors,omitempty"`

	Clients   []Benchmark `json:"clients,omitempty"`
	Routing   []Sample    `json:"routing,omitempty"`
	Statsd    []Sample    `json:"statsd,omitempty"`
	Sustained *Sustained  `json:"sustained,omitempty"`
	Profiles  []Profile   `json:"profiles,omitempty"`
}

// Benchmark is one client-cost benchmark in one round.
type Benchmark struct {
	Round  int    `json:"round"`
	Event  string `json:"event"`  // Counter, Timer, Log
	System string `json:"system"` // metlog, zap, …
	Sink   string `json:"sink"`   // discard, udp
	// Metrics by unit: ns/op, B/op, allocs/op, cpu-ns/op, drops/op.
	Metrics map[string]float64 `json:"metrics"`
}

// Sample is one system's measurement in one round of the routing or the
// statsd workload.
type Sample struct {
	System  string `json:"system"`
	Variant string `json:"variant,omitempty"` // statsd: the offered rate
	Round   int    `json:"round"`

	// Sent lines the load generator handed to the kernel.
	Sent uint64 `json:"sent"`
	// Received: routing, lines in the output file; statsd, lines the
	// system counted (or, for a system that counts nothing, sent lines
	// less the kernel's drops on its socket).
	Received uint64 `json:"received"`
	// Distinct sequence numbers in the output, and duplicated lines
	// (routing).
	Distinct   uint64 `json:"distinct,omitempty"`
	Duplicates uint64 `json:"duplicates,omitempty"`
	// Lost is sent less what arrived (distinct lines for routing).
	Lost int64 `json:"lost"`
	// KernelDrops are datagrams the kernel dropped on the system's full
	// socket buffer (statsd).
	KernelDrops uint64 `json:"kernel_drops,omitempty"`

	// Seconds is the measured interval, from the first line sent until
	// the system finished (routing: wrote 99% of its output; statsd:
	// emptied its socket), and Rate lines per second over it.
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"rate"`
	// Cores is the system's CPU time over the interval per second;
	// LoadCores the same for the load generator (the harness).
	Cores     float64 `json:"cores"`
	LoadCores float64 `json:"load_cores"`
	// OtherCores is what every other process on the machine used over the
	// interval, per second: work that competed for the same cores.
	OtherCores float64 `json:"other_cores"`
	// IOStall is the share of the interval during which some task on the
	// machine waited for I/O (/proc/pressure/io).
	IOStall float64 `json:"io_stall"`
	// SentShare is the share of the output the file held when the sender
	// finished (routing), and CatchUp the seconds from then to the end of
	// the measured interval: how far the output trails the inputs flat out.
	SentShare float64 `json:"sent_share,omitempty"`
	CatchUp   float64 `json:"catch_up_s,omitempty"`
	// PeakRSS is VmHWM at the end of the run, in bytes.
	PeakRSS int64  `json:"peak_rss"`
	Error   string `json:"error,omitempty"`
}

// Sustained is the sustained run.
type Sustained struct {
	// Rate offered, lines per second, and how it was chosen.
	Rate       float64 `json:"rate"`
	RateSource string  `json:"rate_source"`
	Seconds    float64 `json:"seconds"`
	Sent       uint64  `json:"sent"`
	Received   uint64  `json:"received"`
	Distinct   uint64  `json:"distinct"`
	Duplicates uint64  `json:"duplicates"`
	Lost       int64   `json:"lost"`
	// Latency from the send time stamped in each line to the moment the
	// tail read it from the output file, in ns.
	LatencyP50  int64   `json:"latency_p50_ns"`
	LatencyP90  int64   `json:"latency_p90_ns"`
	LatencyP99  int64   `json:"latency_p99_ns"`
	LatencyP999 int64   `json:"latency_p999_ns"`
	LatencyMax  int64   `json:"latency_max_ns"`
	Cores       float64 `json:"cores"`
	LoadCores   float64 `json:"load_cores"`
	OtherCores  float64 `json:"other_cores"`
	PeakRSS     int64   `json:"peak_rss"`
	// Series samples the run at a fixed interval.
	Series []Point `json:"series"`
	Error  string  `json:"error,omitempty"`
}

// Point is one sample of the sustained run.
type Point struct {
	Seconds float64 `json:"seconds"`
	// Sent and Written are cumulative lines.
	Sent    uint64 `json:"sent"`
	Written uint64 `json:"written"`
	RSS     int64  `json:"rss"`
	// Journal is the bytes under the journal directory; Lag the output's
	// lag in records, from /api/status.
	Journal int64  `json:"journal_bytes"`
	Lag     uint64 `json:"lag_records"`
	// Cores metlog used and OtherCores the rest of the machine (the load
	// generator included), over the interval since the last point.
	Cores      float64 `json:"cores"`
	OtherCores float64 `json:"other_cores"`
	// IOStall is the share of the interval some task waited for I/O.
	IOStall float64 `json:"io_stall"`
}

// Profile is a CPU profile of metlog during a workload.
type Profile struct {
	Workload string `json:"workload"`
	File     string `json:"file"`
	// Top is go tool pprof -top's output.
	Top string `json:"top"`
	// Shares of the sampled CPU time by what it was spent on.
	Shares []Share `json:"shares"`
}

// Share is a fraction of a profile's CPU time.
type Share struct {
	What     string  `json:"what"`
	Fraction float64 `json:"fraction"`
}

// median of the values (0 for none).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
