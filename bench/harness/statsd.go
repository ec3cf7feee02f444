package harness

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// statsd is workload 3: statsd lines over UDP, counters and timers over
// a thousand names, at each offered rate, metlog versus etsy statsd,
// statsd_exporter and collectd. metlog runs its statsd input, and its
// statsd accumulator too when the binary has one (both, as two systems).
func (h *harness) statsd(ctx context.Context) error {
	ml := h.tools.metlogDaemon("metlog-statsd.toml", true)
	var ds []daemon
	if h.hasAccumulator() {
		acc := ml
		acc.name = "metlog + accumulator"
		ds = append(ds, acc)
		ml.name = "metlog input only"
	}
	ds = append(ds, ml, h.tools.etsyStatsd(), h.tools.statsdExporterDaemon(), h.tools.collectdDaemon())
	ds = h.available("statsd", ds...)
	if len(ds) == 0 {
		return fmt.Errorf("no system to run")
	}
	for _, rate := range h.cfg.StatsdRates {
		for r := 1; r <= h.cfg.Rounds; r++ {
			for _, d := range order(ds, r) {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				h.res.Statsd = append(h.res.Statsd, h.statsdRun(ctx, d, rate, r, nil))
			}
		}
	}
	if strings.HasPrefix(ds[0].name, "metlog") && h.cfg.ProfileSeconds > 0 {
		h.profileRun(ctx, "statsd", func(ctx context.Context, at func(*instance)) {
			h.statsdRun(ctx, ds[0], 0, 0, at)
		})
	}
	return nil
}

// hasAccumulator reports whether the metlog binary has the statsd
// aggregator.
func (h *harness) hasAccumulator() bool {
	if h.tools.metlog == "" {
		return false
	}
	out, err := exec.Command(h.tools.metlog, "plugins", "-markdown").Output()
	if err != nil {
		return false
	}
	_, aggs, ok := strings.Cut(string(out), "## Aggregat")
	if !ok {
		return false
	}
	aggs, _, _ = strings.Cut(aggs, "\n## ")
	return strings.Contains(aggs, "### statsd")
}

// rateName names an offered rate.
func rateName(rate float64) string {
	if rate == 0 {
		return "flat out"
	}
	return formatCount(rate) + " lines/s"
}

// statsdRun measures one system at one offered rate. Round 0 is the
// profile run, which sends flat out for longer and calls during with the
// instance once the load runs.
func (h *harness) statsdRun(ctx context.Context, d daemon, rate float64, round int, during func(*instance)) Sample {
	s := Sample{System: d.name, Variant: rateName(rate), Round: round}
	fail := func(err error) Sample {
		s.Error = err.Error()
		h.progress("statsd", d.name, "FAILED: %v", err)
		return s
	}
	dir, cleanup, err := h.runDir("statsd-" + d.name)
	if err != nil {
		return fail(err)
	}
	defer cleanup()
	ports, err := freePorts(3)
	if err != nil {
		return fail(err)
	}
	data := tmplData{Dir: dir, Port: ports[0], HTTPPort: ports[1], MgmtPort: ports[2],
		Accumulator: d.name == "metlog + accumulator"}
	in, err := d.start(ctx, dir, data)
	if err != nil {
		return fail(err)
	}
	defer in.stop(10 * time.Second)

	load := &statsdLoad{
		addr: fmt.Sprintf("127.0.0.1:%d", data.Port), rate: rate, duration: h.cfg.StatsdDuration,
		perDatagram: h.cfg.StatsdPerDatagram, names: h.cfg.StatsdNames,
	}
	if during != nil {
		load.duration = time.Duration(h.cfg.ProfileSeconds)*time.Second + 1500*time.Millisecond
		h.progress("statsd", d.name, "profile run: %ds of CPU profile while sending flat out", h.cfg.ProfileSeconds)
	} else {
		h.progress("statsd", d.name, "round %d/%d: %s for %v, %d lines a datagram", round, h.cfg.Rounds,
			s.Variant, h.cfg.StatsdDuration, h.cfg.StatsdPerDatagram)
	}
	var before uint64
	if in.counts != nil {
		if before, _, err = in.counts(ctx); err != nil {
			return fail(err)
		}
	}
	k0, _ := udpSockets(data.Port)
	u0, err := readUsage(in.pid())
	if err != nil {
		return fail(err)
	}
	self0, all0, io0 := selfCPU(), machineCPU(), ioStalled()
	sendErr := make(chan error, 1)
	go func() { sendErr <- load.run(ctx) }()
	if during != nil {
		time.Sleep(500 * time.Millisecond)
		during(in)
	}
	if err := <-sendErr; err != nil {
		return fail(fmt.Errorf("sending: %w", err))
	}
	selfEnd := selfCPU()
	sendEnd := time.Now()

	// The system is done when its socket is empty and its own count, if
	// it keeps one, stopped moving, and it is not known to be busy.
	var got uint64
	var end usage
	drainBy := time.Now().Add(15 * time.Second)
	for {
		k, ok := udpSockets(data.Port)
		if !ok {
			return fail(fmt.Errorf("its socket is gone; its log: %s", tail(in.log, 400)))
		}
		if end, err = readUsage(in.pid()); err != nil {
			return fail(err)
		}
		stable := true
		if in.counts != nil {
			n, busy, err := in.counts(ctx)
			if err != nil {
				return fail(err)
			}
			stable = n == got && !busy
			got = n
		}
		s.KernelDrops = k.drops - k0.drops
		if k.rxQueue == 0 && stable {
			break
		}
		if time.Now().After(drainBy) {
			s.Error = "still reading 15s after the load ended"
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	self1, all1, io1 := selfCPU(), machineCPU(), ioStalled()
	s.PeakRSS = end.peakRSS
	s.Sent = load.sent.Load()
	if in.counts != nil {
		s.Received = got - before
	} else {
		// collectd counts nothing it could report: the kernel's drop
		// counter for its socket tells what it lost.
		s.Received = s.Sent - min(s.Sent, s.KernelDrops*uint64(h.cfg.StatsdPerDatagram))
	}
	s.Lost = int64(s.Sent) - int64(s.Received)
	s.Seconds = end.at.Sub(u0.at).Seconds()
	if s.Seconds > 0 {
		s.Rate = float64(s.Received) / s.Seconds
		s.Cores = (end.cpu - u0.cpu) / s.Seconds
		s.LoadCores = (selfEnd - self0) / sendEnd.Sub(u0.at).Seconds()
		s.OtherCores = max(0, (all1-all0-(self1-self0))/s.Seconds-s.Cores)
		s.IOStall = (io1 - io0) / s.Seconds
	}
	h.progress("statsd", d.name, "%s lines/s received, lost %.1f%% (kernel drops %d datagrams), %.2f cores, peak RSS %.0f MiB (others %.2f cores)",
		formatCount(s.Rate), 100*float64(s.Lost)/float64(max(s.Sent, 1)), s.KernelDrops, s.Cores, float64(s.PeakRSS)/(1<<20), s.OtherCores)
	return s
}
