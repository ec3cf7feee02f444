package chaos

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// trickler holds connections open and writes a byte to each on every
// tick — a slow-loris client. Its goroutine stops with stop.
type trickler struct {
	conns []net.Conn
	next  func(i int) byte
	quit  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

func startTrickler(conns []net.Conn, every time.Duration, next func(i int) byte) *trickler {
	tr := &trickler{conns: conns, next: next, quit: make(chan struct{})}
	tr.wg.Go(func() {
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-tr.quit:
				return
			case <-tk.C:
				for i, c := range tr.conns {
					c.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
					c.Write([]byte{tr.next(i)})
				}
			}
		}
	})
	return tr
}

func (tr *trickler) stop() {
	tr.once.Do(func() { close(tr.quit) })
	tr.wg.Wait()
}

// closedByPeer counts the connections the other side has closed: a read
// returns EOF or a reset rather than timing out.
func closedByPeer(conns []net.Conn) int {
	n := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		buf := make([]byte, 512)
		for {
			_, err := c.Read(buf)
			if err == nil {
				continue // an error response, then the close
			}
			var ne net.Error
			if !(errors.As(err, &ne) && ne.Timeout()) {
				n++
			}
			break
		}
	}
	return n
}

func dialMany(t *testing.T, addr string, n int, first string) []net.Conn {
	t.Helper()
	var out []net.Conn
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(out), err)
		}
		t.Cleanup(func() { c.Close() })
		if first != "" {
			c.Write([]byte(first))
		}
		out = append(out, c)
	}
	return out
}

func openFDs(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents)
}

// Scenario 6: slow-loris clients and connection floods on the TCP input
// and the HTTP address. The TCP input's max_connections holds (the
// connections past it are closed at once), a sender arriving once the
// tricklers have held every slot for 10 s takes one of theirs (min_rate),
// the HTTP server drops clients that trickle their headers, the router's
// file descriptors stay bounded, and senders that were connected already —
// TCP, HTTP, UDP — deliver everything with their latency unchanged.
func TestSlowLorisAndFloods(t *testing.T) {
	period := scale(13*time.Second, 2*time.Minute)
	const maxConns = 64
	dir := t.TempDir()
	p := startProc(t, dir, routerConfig(t, "")+fmt.Sprintf(`
[input.tcp]
address = %q
max_connections = %d
[input.udp]
address = %q
[input.http]
[output.all]
type = "file"
template = "{payload}"
path = "all.log"
`, freePort(t, "tcp"), maxConns, freePort(t, "udp")))
	pid := p.cmd.Process.Pid
	tcpAddr := p.addr("input tcp")
	httpHost := strings.TrimPrefix(p.addr("http"), "http://")

	// The legitimate senders, connected before the attack.
	legit, err := net.Dial("tcp", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer legit.Close()
	lw := bufio.NewWriter(legit)
	udp, err := net.Dial("udp", p.addr("input udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	seq := 0
	var httpLat []time.Duration
	round := func() {
		for range 50 {
			fmt.Fprintf(lw, `{"type": "chaos", "payload": "tcp-%d"}`+"\n", seq)
			fmt.Fprintf(udp, `{"type": "chaos", "payload": "udp-%d"}`, seq)
			seq++
		}
		if err := lw.Flush(); err != nil {
			t.Fatalf("the connected TCP sender: %v", err)
		}
		start := time.Now()
		if code, body := post(t, p.addr("http"), jsonLines(fmt.Sprintf("http%d", seq), 50)...); code != 200 {
			t.Fatalf("the HTTP sender: %d %s", code, body)
		}
		httpLat = append(httpLat, time.Since(start))
	}
	for range 20 {
		round()
	}
	before := httpLat
	httpLat = nil
	fdsBefore := openFDs(pid)

	// The attack: slow-loris on every TCP slot and on HTTP headers and
	// bodies, then a flood of idle connections on both.
	tcpLoris := dialMany(t, tcpAddr, maxConns-1, "")
	tcpFlood := dialMany(t, tcpAddr, 400, "")
	hdrLoris := dialMany(t, httpHost, 200, "POST /v1/messages HTTP/1.1\r\nHost: x\r\n")
	bodyLoris := dialMany(t, httpHost, 200, "POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n")
	httpFlood := dialMany(t, httpHost, 400, "")
	loris := startTrickler(append(append(append([]net.Conn{}, tcpLoris...), hdrLoris...), bodyLoris...), 500*time.Millisecond,
		func(i int) byte {
			if i >= len(tcpLoris) && i < len(tcpLoris)+len(hdrLoris) {
				return 'x' // an endless header name
			}
			return ' ' // whitespace inside a JSON stream / a body
		})
	defer loris.stop()

	// A new TCP sender arriving once the tricklers have held their slots
	// for min_rate's 10 s: it takes the slot of one of them.
	var newcomer net.Conn
	start := time.Now()
	fdsPeak := 0
	for time.Since(start) < period {
		round()
		if newcomer == nil && time.Since(start) > 11*time.Second {
			if newcomer, err = net.Dial("tcp", tcpAddr); err != nil {
				t.Fatal(err)
			}
			defer newcomer.Close()
			fmt.Fprintf(newcomer, `{"type": "chaos", "payload": "newcomer"}`+"\n")
		}
		fdsPeak = max(fdsPeak, openFDs(pid))
		time.Sleep(100 * time.Millisecond) // the senders' own pace
	}
	during := httpLat
	tcpFloodClosed := closedByPeer(tcpFlood)
	tcpLorisClosed := closedByPeer(tcpLoris)
	hdrClosed := closedByPeer(hdrLoris)
	bodyClosed := closedByPeer(bodyLoris)
	httpFloodClosed := closedByPeer(httpFlood)
	newcomerIn := closedByPeer([]net.Conn{newcomer}) == 0
	loris.stop()

	if !newcomerIn {
		t.Error("a new TCP sender was refused: the tricklers kept every slot")
	}
	p.waitCounter(time.Minute, float64(3*seq+1), "outputs", "all", "delivered")
	if p.exited() {
		t.Fatal("the router died")
	}
	st := p.status()
	rss := p.rss()
	p.stop()
	got := map[string]bool{}
	for _, l := range strings.Fields(readFile(t, filepath.Join(dir, "all.log"))) {
		got[l] = true
	}
	if !got["newcomer"] {
		t.Error("the new TCP sender's message was not delivered")
	}
	for i := range seq {
		for _, k := range []string{"tcp", "udp"} {
			if !got[fmt.Sprintf("%s-%d", k, i)] {
				t.Fatalf("%s-%d from a legitimate sender was not delivered", k, i)
			}
		}
	}
	if tcpFloodClosed != len(tcpFlood) {
		t.Errorf("max_connections %d: the router kept %d of %d connections past it", maxConns, len(tcpFlood)-tcpFloodClosed, len(tcpFlood))
	}
	if hdrClosed != len(hdrLoris) {
		t.Errorf("%d of %d clients trickling their headers are still connected after %v", len(hdrLoris)-hdrClosed, len(hdrLoris), period)
	}
	p50b, p99b := percentile(before, 50), percentile(before, 99)
	p50d, p99d := percentile(during, 50), percentile(during, 99)
	if p99d > 4*p99b+250*time.Millisecond {
		t.Errorf("HTTP sender p99 %v during the attack, %v before", p99d, p99b)
	}
	if fdsPeak > fdsBefore+maxConns+len(hdrLoris)+len(bodyLoris)+len(httpFlood)+32 {
		t.Errorf("the router held %d file descriptors", fdsPeak)
	}
	figures(t, "slowloris_flood", "period", period, "tcp_max_connections", maxConns,
		"tcp_loris", len(tcpLoris), "tcp_loris_closed", tcpLorisClosed,
		"tcp_flood", len(tcpFlood), "tcp_flood_closed", tcpFloodClosed,
		"tcp_newcomer_admitted", newcomerIn,
		"http_header_loris", len(hdrLoris), "http_header_loris_closed", hdrClosed,
		"http_body_loris", len(bodyLoris), "http_body_loris_closed", bodyClosed,
		"http_idle_flood", len(httpFlood), "http_idle_flood_closed", httpFloodClosed,
		"fds_before", fdsBefore, "fds_peak", fdsPeak,
		"legit_messages", 3*seq, "http_p50_before", p50b.Round(time.Millisecond), "http_p99_before", p99b.Round(time.Millisecond),
		"http_p50_during", p50d.Round(time.Millisecond), "http_p99_during", p99d.Round(time.Millisecond),
		"rss", fmt.Sprintf("%.1fMiB", float64(rss)/(1<<20)),
		"tcp_received", lookup(st, "inputs", "tcp", "received"))
}
