package statsd_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/internal/testenv"
)

// This file runs etsy statsd (the npm package, which `make deps` installs
// under testdeps/node_modules) with its graphite backend pointed at a
// carbon listener of the test's own.

// etsyStatsd returns the node binary and etsy statsd's bin/statsd, or
// skips the test when either is absent.
func etsyStatsd(t *testing.T) (node, script string) {
	t.Helper()
	return testenv.Node(t), testenv.NodeModule(t, "statsd/bin/statsd")
}

// flushResult is one flush: graphite name to value.
type flushResult map[string]float64

// carbon is a carbon plaintext listener: statsd's graphite backend opens
// one connection per flush, so each connection is one flushResult.
type carbon struct {
	ln      net.Listener
	flushes chan flushResult
	wg      sync.WaitGroup
	errs    chan error
}

func newCarbon(t *testing.T) *carbon {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &carbon{ln: ln, flushes: make(chan flushResult, 1000), errs: make(chan error, 10)}
	c.wg.Add(1)
	go c.accept()
	t.Cleanup(func() {
		ln.Close()
		c.wg.Wait()
	})
	return c
}

func (c *carbon) accept() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		// One at a time, in order: flushes are far apart.
		res, err := readCarbon(conn)
		conn.Close()
		if err != nil {
			select {
			case c.errs <- err:
			default:
			}
			continue
		}
		c.flushes <- res
	}
}

func readCarbon(conn net.Conn) (flushResult, error) {
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res := flushResult{}
	sc := bufio.NewScanner(conn)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if err := res.addLine(sc.Text()); err != nil {
			return nil, err
		}
	}
	return res, sc.Err()
}

// addLine adds one graphite plaintext line, "name value seconds".
func (r flushResult) addLine(line string) error {
	parts := strings.Split(line, " ")
	if len(parts) != 3 {
		return fmt.Errorf("carbon line %q: want three fields", line)
	}
	v, err := strconv.ParseFloat(parts[1], 64)
	if err != nil {
		return fmt.Errorf("carbon line %q: %v", line, err)
	}
	if _, err := strconv.ParseInt(parts[2], 10, 64); err != nil {
		return fmt.Errorf("carbon line %q: %v", line, err)
	}
	if _, dup := r[parts[0]]; dup {
		return fmt.Errorf("carbon: %s twice in one flush", parts[0])
	}
	r[parts[0]] = v
	return nil
}

// next waits for the next flush.
func (c *carbon) next(timeout time.Duration) (flushResult, error) {
	select {
	case r := <-c.flushes:
		return r, nil
	case err := <-c.errs:
		return nil, err
	case <-time.After(timeout):
		return nil, fmt.Errorf("no flush from statsd within %v", timeout)
	}
}

// freePort returns a port free at the time of the call.
func freePort(t *testing.T, network string) int {
	t.Helper()
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	default:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
}

// statsdProcess is a running etsy statsd.
type statsdProcess struct {
	carbon *carbon
	conn   net.Conn // UDP to statsd
	out    bytes.Buffer
}

// startStatsd runs etsy statsd with the settings in js (the inside of its
// config object) plus its ports, and waits for its first flush.
func startStatsd(t *testing.T, js string, interval time.Duration) *statsdProcess {
	t.Helper()
	node, script := etsyStatsd(t)
	p := &statsdProcess{carbon: newCarbon(t)}
	port := freePort(t, "udp")
	conf := fmt.Sprintf(`{
  address: "127.0.0.1", port: %d,
  mgmt_address: "127.0.0.1", mgmt_port: %d,
  graphiteHost: "127.0.0.1", graphitePort: %d,
  backends: ["./backends/graphite"],
  flushInterval: %d,
  automaticConfigReload: false,
  %s
}`, port, freePort(t, "tcp"), p.carbon.ln.Addr().(*net.TCPAddr).Port, interval.Milliseconds(), js)
	path := filepath.Join(t.TempDir(), "config.js")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, script, path)
	cmd.Dir = filepath.Dir(filepath.Dir(script))
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: &p.out}, &lockedWriter{w: &p.out}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("statsd output:\n%s", p.out.String())
		}
	})
	if _, err := p.carbon.next(10*time.Second + 2*interval); err != nil {
		t.Fatalf("statsd did not start: %v", err)
	}
	var err error
	if p.conn, err = net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.conn.Close() })
	return p
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// send sends lines in datagrams of up to 1,400 bytes.
func (p *statsdProcess) send(lines []string) error {
	var dgram []byte
	for i, l := range lines {
		if len(dgram) > 0 {
			dgram = append(dgram, '\n')
		}
		dgram = append(dgram, l...)
		if i == len(lines)-1 || len(dgram)+1+len(lines[i+1]) > 1400 {
			if _, err := p.conn.Write(dgram); err != nil {
				return err
			}
			dgram = dgram[:0]
		}
	}
	return nil
}

// parseLine turns one statsd line into the message the statsd input makes
// of it: counter and timer with name and rate fields, gauge and set with
// name, then one string field per DogStatsD tag.
func parseLine(line string) (*metlog.Message, error) {
	name, rest, ok := strings.Cut(line, ":")
	sections := strings.Split(rest, "|")
	if !ok || name == "" || len(sections) < 2 {
		return nil, fmt.Errorf("statsd line %q", line)
	}
	m := &metlog.Message{Payload: sections[0], Fields: []metlog.Field{metlog.String("name", name)}}
	rate := 1.0
	var tags []metlog.Field
	for _, s := range sections[2:] {
		switch {
		case strings.HasPrefix(s, "@"):
			r, err := strconv.ParseFloat(s[1:], 64)
			if err != nil {
				return nil, fmt.Errorf("statsd line %q: %v", line, err)
			}
			rate = r
		case strings.HasPrefix(s, "#"):
			for _, tag := range strings.Split(s[1:], ",") {
				k, v, _ := strings.Cut(tag, ":")
				tags = append(tags, metlog.String(k, v))
			}
		default:
			return nil, fmt.Errorf("statsd line %q: section %q", line, s)
		}
	}
	switch sections[1] {
	case "c":
		m.Type = "counter"
	case "ms":
		m.Type = "timer"
	case "g":
		m.Type = "gauge"
	case "s":
		m.Type = "set"
	default:
		return nil, fmt.Errorf("statsd line %q: type %q", line, sections[1])
	}
	if m.Type == "counter" || m.Type == "timer" {
		m.Fields = append(m.Fields, metlog.Float("rate", rate))
	}
	m.Fields = append(m.Fields, tags...)
	return m, nil
}

// readStream reads a stream file: statsd lines, "#" comments, and
// "--- flush" ending each interval.
func readStream(t testing.TB, path string) [][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var intervals [][]string
	var cur []string
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case l == "--- flush":
			intervals = append(intervals, cur)
			cur = nil
		case l == "" || strings.HasPrefix(l, "#"):
		default:
			cur = append(cur, l)
		}
	}
	if len(cur) > 0 {
		intervals = append(intervals, cur)
	}
	return intervals
}

// approxEqual: the same value to 1e-9, relative.
func approxEqual(a, b float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}
