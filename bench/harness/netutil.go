package harness

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// freePort returns a loopback port that is free for both TCP and UDP at
// the moment of asking.
func freePort() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port")
}

// freePorts returns n distinct free ports.
func freePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// waitFor polls ready every 20ms until it reports true, the process exits,
// or timeout passes.
func waitFor(ctx context.Context, p *process, timeout time.Duration, what string, ready func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready() {
			return nil
		}
		if done, err := p.exited(); done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %s not ready after %v; its log: %s", p.name, what, timeout, tail(p.log, 600))
		case <-tick.C:
		}
	}
}

// tcpListening reports whether something accepts connections on the port.
func tcpListening(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// udpSocket is a UDP socket's line in /proc/net/udp.
type udpSocket struct {
	rxQueue uint64 // bytes waiting to be read
	drops   uint64 // datagrams the kernel dropped because the buffer was full
}

// udpSockets sums the sockets bound to a local loopback port (several when
// a system reads with SO_REUSEPORT); ok is false when none is bound.
func udpSockets(port int) (s udpSocket, ok bool) {
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return s, false
	}
	defer f.Close()
	want := fmt.Sprintf(":%04X", port)
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
		f := strings.Fields(sc.Text())
		if len(f) < 13 || !strings.HasSuffix(f[1], want) {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		q, _ := strconv.ParseUint(rx, 16, 64)
		d, _ := strconv.ParseUint(f[12], 10, 64)
		s.rxQueue += q
		s.drops += d
		ok = true
	}
	return s, ok
}
