package harness

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// sustained is workload 4: metlog alone for a long run at a share of its
// measured routing maximum, over TCP, the journal syncing in batches. A
// tail of the output file reads every line as it appears and takes the
// send time stamped in its payload from the time it read it: that is the
// end-to-end latency, from the sender's write to the line being readable
// in the output file (the tail polls every 2ms, which bounds the error).
func (h *harness) sustained(ctx context.Context) error {
	ds := h.available("sustained", h.tools.metlogDaemon("metlog-routing.toml", false))
	if len(ds) == 0 {
		return fmt.Errorf("no metlog to run")
	}
	res := &Sustained{}
	h.res.Sustained = res
	res.Rate, res.RateSource = h.sustainedRate()
	if res.Rate <= 0 {
		return fmt.Errorf("no rate: routing did not measure metlog's maximum and no -sustained-rate was given")
	}
	dir, cleanup, err := h.runDir("sustained")
	if err != nil {
		return err
	}
	defer cleanup()
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	data := tmplData{Dir: dir, Out: filepath.Join(dir, "out.log"), Port: ports[0], HTTPPort: ports[1],
		RotateBytes: h.cfg.SustainedRotateBytes}
	in, err := ds[0].start(ctx, dir, data)
	if err != nil {
		return err
	}
	defer in.stop(10 * time.Second)
	h.progress("sustained", "metlog", "%s lines/s (%s) for %v over %d connections",
		formatCount(res.Rate), res.RateSource, h.cfg.SustainedDuration, h.cfg.SustainedConns)

	// The tail: its own goroutine, stopped and waited for below.
	out := newOutputFile(data.Out, true)
	var written atomic.Uint64
	stopTail := make(chan struct{})
	var tailErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := out.poll(); err != nil {
				tailErr = err
				return
			}
			written.Store(out.seqs)
			select {
			case <-stopTail:
				return
			case <-tick.C:
			}
		}
	})
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			close(stopTail)
			wg.Wait()
			out.close()
		}
	}
	defer stop()

	start := time.Now()
	load := &tcpLoad{
		addr: fmt.Sprintf("127.0.0.1:%d", data.Port), conns: h.cfg.SustainedConns, rate: res.Rate,
		deadline: start.Add(h.cfg.SustainedDuration), maker: newLineMaker(h.cfg.MessageSize), stamp: true,
	}
	u0, err := readUsage(in.pid())
	if err != nil {
		return err
	}
	self0, all0 := selfCPU(), machineCPU()
	sendErr := make(chan error, 1)
	go func() { sendErr <- load.run(ctx) }()

	var profiled chan struct{}
	profileAt := time.After(h.cfg.SustainedDuration / 2)
	if h.cfg.ProfileSeconds <= 0 {
		profileAt = nil
	}
	sample := time.NewTicker(h.cfg.SustainedSample)
	defer sample.Stop()
	prev, prevAll, prevIO := u0, all0, ioStalled()
	point := func() {
		u, err := readUsage(in.pid())
		if err != nil {
			return
		}
		all, io := machineCPU(), ioStalled()
		p := Point{Seconds: time.Since(start).Seconds(), Sent: load.sent.Load(), Written: written.Load(),
			RSS: u.rss, Journal: dirSize(filepath.Join(dir, "data", "journal"))}
		if st, err := metlogStatus(ctx, in.status); err == nil {
			for _, o := range st.Outputs {
				p.Lag += o.LagRecords
			}
		}
		if dt := u.at.Sub(prev.at).Seconds(); dt > 0 {
			p.Cores = (u.cpu - prev.cpu) / dt
			p.OtherCores = max(0, (all-prevAll)/dt-p.Cores)
			p.IOStall = (io - prevIO) / dt
		}
		prev, prevAll, prevIO = u, all, io
		res.Series = append(res.Series, p)
		h.progress("sustained", "metlog", "%4.0fs: sent %s, written %s, RSS %.0f MiB, journal %.0f MiB, lag %d, %.2f cores (others %.2f)",
			p.Seconds, formatCount(float64(p.Sent)), formatCount(float64(p.Written)), float64(p.RSS)/(1<<20),
			float64(p.Journal)/(1<<20), p.Lag, p.Cores, p.OtherCores)
	}
	var sent error
sending:
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case sent = <-sendErr:
			break sending
		case <-sample.C:
			point()
		case <-profileAt:
			profiled = make(chan struct{})
			go func() {
				defer close(profiled)
				h.profileSustained(ctx, in)
			}()
		}
	}
	if profiled != nil {
		<-profiled
	}
	if sent != nil {
		return fmt.Errorf("sending: %w", sent)
	}
	sentAt := time.Now()
	selfEnd := selfCPU()
	res.Sent = load.sent.Load()
	// Wait for the tail to see every line, or for the output to stop
	// growing for 5s.
	last, lastChange := written.Load(), time.Now()
	for written.Load() < res.Sent && time.Since(lastChange) < 5*time.Second && time.Since(sentAt) < time.Minute {
		time.Sleep(20 * time.Millisecond)
		if w := written.Load(); w != last {
			last, lastChange = w, time.Now()
		}
	}
	end, err := readUsage(in.pid())
	if err != nil {
		return err
	}
	self1, all1 := selfCPU(), machineCPU()
	point()
	stop()
	if tailErr != nil {
		return fmt.Errorf("tail: %w", tailErr)
	}
	res.Seconds = sentAt.Sub(start).Seconds()
	res.Received, res.Distinct, res.Duplicates = out.lines, out.seqs, out.dups
	res.Lost = int64(res.Sent) - int64(res.Distinct)
	res.Cores = (end.cpu - u0.cpu) / end.at.Sub(u0.at).Seconds()
	res.LoadCores = (selfEnd - self0) / res.Seconds
	res.OtherCores = max(0, (all1-all0-(self1-self0))/end.at.Sub(u0.at).Seconds()-res.Cores)
	res.PeakRSS = end.peakRSS
	l := out.latency
	res.LatencyP50, res.LatencyP90, res.LatencyP99 = l.quantile(0.5), l.quantile(0.9), l.quantile(0.99)
	res.LatencyP999, res.LatencyMax = l.quantile(0.999), l.max
	h.progress("sustained", "metlog", "sent %s, lost %d, duplicates %d; latency p50 %v p99 %v max %v; peak RSS %.0f MiB",
		formatCount(float64(res.Sent)), res.Lost, res.Duplicates, time.Duration(res.LatencyP50),
		time.Duration(res.LatencyP99), time.Duration(res.LatencyMax), float64(res.PeakRSS)/(1<<20))
	return nil
}

// sustainedRate is the rate of the sustained run and where it came from.
func (h *harness) sustainedRate() (float64, string) {
	if h.cfg.SustainedRate > 0 {
		return h.cfg.SustainedRate, "set by -sustained-rate"
	}
	if h.cfg.RoutingRate > 0 {
		return 0, "" // routing ran at a set rate: it measured no maximum
	}
	var rates []float64
	for _, s := range h.res.Routing {
		if s.System == "metlog" && s.Error == "" && s.Round > 0 {
			rates = append(rates, s.Rate)
		}
	}
	if len(rates) == 0 {
		return 0, ""
	}
	return h.cfg.SustainedShare * median(rates), fmt.Sprintf("%.0f%% of metlog's median routing throughput in this run", 100*h.cfg.SustainedShare)
}

// profileSustained takes the sustained run's CPU profile.
func (h *harness) profileSustained(ctx context.Context, in *instance) {
	h.profileRun(ctx, "sustained", func(_ context.Context, during func(*instance)) { during(in) })
}
