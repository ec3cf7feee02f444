package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// routing is workload 2: metlog JSON lines over TCP, several connections,
// into a file, metlog versus rsyslog; then one more metlog run, not
// counted, for a CPU profile.
func (h *harness) routing(ctx context.Context) error {
	ds := h.available("routing", h.tools.metlogDaemon("metlog-routing.toml", false), h.tools.rsyslogDaemon())
	if len(ds) == 0 {
		return fmt.Errorf("no system to run")
	}
	for r := 1; r <= h.cfg.Rounds; r++ {
		for _, d := range order(ds, r) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s := h.routingRun(ctx, d, r, nil)
			h.res.Routing = append(h.res.Routing, s)
		}
	}
	if ds[0].name == "metlog" && h.cfg.ProfileSeconds > 0 {
		h.profileRun(ctx, "routing", func(ctx context.Context, at func(*instance)) {
			h.routingRun(ctx, ds[0], 0, at)
		})
	}
	return nil
}

// routingRun measures one system. Round 0 is the profile run: it sends
// for ProfileSeconds and more instead of a fixed number of lines, and
// calls during with the instance once the load is running.
func (h *harness) routingRun(ctx context.Context, d daemon, round int, during func(*instance)) Sample {
	s := Sample{System: d.name, Round: round}
	fail := func(err error) Sample {
		s.Error = err.Error()
		h.progress("routing", d.name, "FAILED: %v", err)
		return s
	}
	dir, cleanup, err := h.runDir("routing-" + d.name)
	if err != nil {
		return fail(err)
	}
	defer cleanup()
	ports, err := freePorts(2)
	if err != nil {
		return fail(err)
	}
	data := tmplData{Dir: dir, Out: filepath.Join(dir, "out.log"), Port: ports[0], HTTPPort: ports[1]}
	in, err := d.start(ctx, dir, data)
	if err != nil {
		return fail(err)
	}
	defer in.stop(10 * time.Second)

	load := &tcpLoad{
		addr: fmt.Sprintf("127.0.0.1:%d", data.Port), conns: h.cfg.RoutingConns,
		total: uint64(h.cfg.RoutingLines), rate: h.cfg.RoutingRate, maker: newLineMaker(h.cfg.MessageSize),
	}
	what := fmt.Sprintf("round %d/%d: %s lines of %d bytes over %d connections", round, h.cfg.Rounds,
		formatCount(float64(load.total)), h.cfg.MessageSize, load.conns)
	if during != nil {
		load.total = 0
		load.deadline = time.Now().Add(time.Duration(h.cfg.ProfileSeconds)*time.Second + 1500*time.Millisecond)
		what = fmt.Sprintf("profile run: %ds of CPU profile while sending flat out", h.cfg.ProfileSeconds)
	} else {
		load.deadline = time.Now().Add(h.cfg.RoutingTimeout)
	}
	h.progress("routing", d.name, "%s", what)

	u0, err := readUsage(in.pid())
	if err != nil {
		return fail(err)
	}
	self0, all0, io0 := selfCPU(), machineCPU(), ioStalled()
	sendErr := make(chan error, 1)
	go func() { sendErr <- load.run(ctx) }()
	if during != nil {
		time.Sleep(500 * time.Millisecond) // past connection setup
		during(in)
	}

	// Follow the output's size until it stops growing after the sender is
	// done. Keep every sample: the end of the measured interval is when
	// the file held 99% of its final size, so that a system's last timed
	// flush (rsyslog's flushInterval) does not count as throughput.
	type point struct {
		size          int64
		u             usage
		self, all, io float64
	}
	var points []point
	var sent error
	sending := true
	var sentAt time.Time // when the sender finished
	var sizeAtSent int64 // the output's size then
	lastGrowth := time.Now()
	const settle = 2 * time.Second
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case sent = <-sendErr:
			sending = false
			lastGrowth = time.Now()
			sentAt, sizeAtSent = lastGrowth, fileSize(data.Out)
			continue
		case <-tick.C:
		}
		size := fileSize(data.Out)
		if len(points) == 0 || size != points[len(points)-1].size {
			u, err := readUsage(in.pid())
			if err != nil {
				return fail(fmt.Errorf("%w (did %s exit? its log: %s)", err, d.name, tail(in.log, 400)))
			}
			points = append(points, point{size, u, selfCPU(), machineCPU(), ioStalled()})
			lastGrowth = time.Now()
		}
		if !sending && time.Since(lastGrowth) > settle {
			break
		}
		if time.Since(u0.at) > h.cfg.RoutingTimeout+settle {
			s.Error = "timed out"
			break
		}
	}
	if sent != nil {
		return fail(fmt.Errorf("sending: %w", sent))
	}
	end, err := readUsage(in.pid())
	if err != nil {
		return fail(err)
	}
	s.PeakRSS = end.peakRSS
	s.Sent = load.sent.Load()

	final := points[len(points)-1].size
	cut := points[len(points)-1]
	for _, p := range points {
		if final > 0 && p.size >= final-final/100 {
			cut = p
			break
		}
	}
	in.stop(10 * time.Second)
	out := newOutputFile(data.Out, false)
	if _, err := out.poll(); err != nil {
		return fail(err)
	}
	out.close()
	s.Received, s.Distinct, s.Duplicates = out.lines, out.seqs, out.dups
	s.Lost = int64(s.Sent) - int64(s.Distinct)
	s.Seconds = cut.u.at.Sub(u0.at).Seconds()
	if s.Seconds > 0 && final > 0 {
		s.Rate = float64(s.Received) * float64(cut.size) / float64(final) / s.Seconds
		s.Cores = (cut.u.cpu - u0.cpu) / s.Seconds
		s.LoadCores = (cut.self - self0) / s.Seconds
		s.OtherCores = max(0, (cut.all-all0)/s.Seconds-s.Cores-s.LoadCores)
		s.IOStall = (cut.io - io0) / s.Seconds
		s.SentShare = min(1, float64(sizeAtSent)/float64(final))
		s.CatchUp = max(0, cut.u.at.Sub(sentAt).Seconds())
	}
	h.progress("routing", d.name, "%s lines/s, %.2f cores, peak RSS %.0f MiB, lost %d of %s (others %.2f cores, I/O stall %.0f%%)",
		formatCount(s.Rate), s.Cores, float64(s.PeakRSS)/(1<<20), s.Lost, formatCount(float64(s.Sent)), s.OtherCores, 100*s.IOStall)
	return s
}
