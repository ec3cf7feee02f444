package chaos

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/input/tcp"
)

// slowEndpoint speaks the acknowledged stream protocol (docs/protocol.md)
// to a router's tcp output, like a next router whose throughput is rate
// messages a second: it acknowledges each record once its turn in that
// rate has come. It remembers every payload it received.
type slowEndpoint struct {
	ln   net.Listener
	rate int
	wg   sync.WaitGroup

	mu       sync.Mutex
	payloads map[string]int
	conns    []net.Conn
}

func newSlowEndpoint(t *testing.T, rate int) *slowEndpoint {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &slowEndpoint{ln: ln, rate: rate, payloads: map[string]int{}}
	e.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.conns = append(e.conns, c)
			e.mu.Unlock()
			e.wg.Go(func() { e.serve(c) })
		}
	})
	t.Cleanup(e.close)
	return e
}

func (e *slowEndpoint) close() {
	e.ln.Close()
	e.mu.Lock()
	for _, c := range e.conns {
		c.Close()
	}
	e.mu.Unlock()
	e.wg.Wait()
}

func (e *slowEndpoint) serve(c net.Conn) {
	defer c.Close()
	rd := heka.NewReader(bufio.NewReader(c), 0)
	start := time.Now()
	var m metlog.Message
	var count int64
	var ack []byte
	for {
		rec, err := rd.Next()
		if err != nil {
			return
		}
		if heka.Unmarshal(rec.Message, &m) != nil {
			return
		}
		if m.Type == tcp.TypeHello {
			continue
		}
		count++
		e.mu.Lock()
		e.payloads[m.Payload]++
		e.mu.Unlock()
		// The endpoint's pace: record count is due at start+count/rate.
		if due := start.Add(time.Duration(count) * time.Second / time.Duration(e.rate)); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
		a := metlog.Message{Type: tcp.TypeAck, Fields: []metlog.Field{metlog.Int("count", count), metlog.Int("rejected", 0)}}
		if ack, err = heka.AppendRecord(ack[:0], &a, nil); err != nil {
			return
		}
		if _, err := c.Write(ack); err != nil {
			return
		}
	}
}

func (e *slowEndpoint) received() (distinct, total int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range e.payloads {
		total += n
	}
	return len(e.payloads), total
}

// Scenario 5: UDP traffic at ten times what the router can deliver (its
// one endpoint takes 2,000 messages a second) for a while. The router's
// memory stays flat (the journal bounds what it holds), every message it
// could not keep is counted — sent − delivered = dropped, exactly — and
// afterwards it delivers at full speed again without a restart.
func TestOverload(t *testing.T) {
	period := scale(15*time.Second, 5*time.Minute)
	const sustainable = 2000
	const offered = 10 * sustainable
	end := newSlowEndpoint(t, sustainable)
	dir := t.TempDir()
	p := startProc(t, dir, routerConfig(t, "journal_max_bytes = 2097152")+fmt.Sprintf(`
[input.udp]
address = %q
[output.next]
type = "tcp"
address = %q
`, freePort(t, "udp"), end.ln.Addr().String()))
	pid := p.cmd.Process.Pid
	udp, err := net.Dial("udp", p.addr("input udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	sent, sendErrs := 0, 0
	send := func() {
		if _, err := fmt.Fprintf(udp, `{"type": "chaos", "payload": "o%d"}`, sent); err != nil {
			// ECONNREFUSED and ENOBUFS: the datagram did not leave.
			if !errors.Is(err, syscall.ENOBUFS) && !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatal(err)
			}
			sendErrs++
			return
		}
		sent++
	}

	var rss []int64
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	sample := time.NewTicker(period / 30)
	for time.Since(start) < period {
		select {
		case <-tick.C:
			for range offered / 100 {
				send()
			}
		case <-sample.C:
			rss = append(rss, p.rss())
		}
	}
	tick.Stop()
	sample.Stop()
	elapsed := time.Since(start)
	sentOverload := sent
	overloadDelivered, _ := end.received()

	// Recovery: the backlog drains, then a probe datagram makes the
	// kernel report any drops since the last datagram read (SO_RXQ_OVFL).
	p.caughtUp(5*time.Minute, "next")
	before := p.counter("inputs", "udp", "received")
	send()
	p.waitCounter(time.Minute, before+1, "inputs", "udp", "received")
	p.caughtUp(time.Minute, "next")
	st := p.status()
	if p.exited() || p.cmd.Process.Pid != pid {
		t.Fatal("the router did not survive the overload")
	}
	distinct, total := end.received()
	sentTotal := sent
	dropped := int(lookup(st, "inputs", "udp", "dropped"))
	received := int(lookup(st, "inputs", "udp", "received"))
	rejected := 0
	if m, ok := lookup2(st, "inputs", "udp", "rejected"); ok {
		for _, v := range m {
			rejected += int(v.(float64))
		}
	}
	if sentTotal-distinct != dropped+rejected {
		t.Errorf("sent %d − delivered %d = %d, but the router counted %d dropped and %d rejected",
			sentTotal, distinct, sentTotal-distinct, dropped, rejected)
	}
	if received != distinct {
		t.Errorf("the input received %d, the endpoint %d distinct", received, distinct)
	}
	if dropped == 0 {
		t.Errorf("nothing dropped at %d×", offered/sustainable)
	}
	// Memory: flat once the journal is full (after the first quarter).
	warm := rss[len(rss)/4]
	peak := warm
	for _, v := range rss[len(rss)/4:] {
		peak = max(peak, v)
	}
	if peak > warm+warm/2+32<<20 {
		t.Errorf("RSS grew from %d MiB to %d MiB under overload", warm>>20, peak>>20)
	}

	// Full speed again: a burst at the sustainable rate is delivered.
	burst := sustainable
	b0 := p.counter("outputs", "next", "delivered")
	for range burst {
		send()
	}
	p.waitCounter(time.Minute, b0+float64(burst), "outputs", "next", "delivered")
	if d := p.counter("inputs", "udp", "dropped"); int(d) != dropped {
		t.Errorf("%v more drops after the overload", int(d)-dropped)
	}
	mib := func(v int64) string { return fmt.Sprintf("%.1fMiB", float64(v)/(1<<20)) }
	figures(t, "overload", "period", period, "offered_per_s", offered, "sustainable_per_s", sustainable,
		"offered_actual_per_s", fmt.Sprintf("%.0f", float64(sentOverload)/elapsed.Seconds()),
		"sent", sentTotal, "send_errors", sendErrs, "received", received, "delivered", distinct, "duplicates", total-distinct,
		"dropped", dropped, "rejected", rejected, "sent_minus_delivered", sentTotal-distinct,
		"delivered_during_overload_per_s", fmt.Sprintf("%.0f", float64(overloadDelivered)/elapsed.Seconds()),
		"rss_start", mib(rss[0]), "rss_warm", mib(warm), "rss_peak", mib(peak), "rss_end", mib(rss[len(rss)-1]),
		"journal_full", lookup(st, "journal", "full"))
}

// lookup2 returns the object at path in a decoded JSON document.
func lookup2(v any, path ...string) (map[string]any, bool) {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		v = m[k]
	}
	m, ok := v.(map[string]any)
	return m, ok
}
