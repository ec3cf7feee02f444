package chaos

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

// full is set by METLOG_CHAOS=full: full durations and counts.
var full = os.Getenv("METLOG_CHAOS") == "full"

// scale picks the short or the full form of a figure.
func scale[T any](short, long T) T {
	if full {
		return long
	}
	return short
}

// The router binary every test runs: METLOG_CHAOS_BIN, or built on first
// use into binDir (fuzz workers, which run no router, never build it).
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func metlogBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binPath = os.Getenv("METLOG_CHAOS_BIN"); binPath != "" {
			return
		}
		if binDir, binErr = os.MkdirTemp("", "metlog-chaos-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "metlog")
		cmd := exec.Command("go", "build", "-o", binPath, "github.com/metlog/metlog/cmd/metlog")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("building metlog: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// proc is a router process.
type proc struct {
	t      testing.TB
	cmd    *exec.Cmd
	dir    string
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr lockedBuffer
	done   chan error
	addrs  map[string]string // "input tcp" → address, "http" → URL
}

// lockedBuffer is a bytes.Buffer safe for the process's writer and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// freePort returns a loopback address that was free a moment ago.
func freePort(t testing.TB, network string) string {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// writeConfig writes cfg as dir/metlog.toml.
func writeConfig(t testing.TB, dir, cfg string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "metlog.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startProc writes cfg to dir/metlog.toml, runs `metlog router` on it in
// dir and waits until the router says where it listens.
func startProc(t testing.TB, dir, cfg string) *proc {
	t.Helper()
	writeConfig(t, dir, cfg)
	p := &proc{t: t, dir: dir, done: make(chan error, 1), addrs: map[string]string{}}
	p.cmd = exec.Command(metlogBin(t), "router", "--config", "metlog.toml")
	p.cmd.Dir = dir
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stdout.WriteString(line + "\n")
			// "metlog router: input tcp (tcp) listening on 127.0.0.1:5565"
			if f := strings.Fields(line); len(f) == 8 && f[2] == "input" {
				p.addrs["input "+f[3]] = f[7]
			}
			if strings.HasPrefix(line, "metlog router: http://") {
				p.addrs["http"] = strings.Fields(line)[2]
				once.Do(func() { close(ready) })
			}
			p.mu.Unlock()
		}
		p.done <- p.cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-p.done:
		p.done <- err
		t.Fatalf("router exited: %v\n%s", err, p.stderr.String())
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("router did not start:\n%s", p.stderr.String())
	}
	t.Cleanup(p.stop)
	return p
}

// addr returns a listening address: "input tcp", "input udp" or "http".
func (p *proc) addr(name string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addrs[name]
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return true
	default:
		return false
	}
}

// stop ends the router with SIGTERM and checks that it exits cleanly.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			p.t.Errorf("router exited with %v\n%s", err, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		p.t.Errorf("router did not stop on SIGTERM\n%s", p.stderr.String())
	}
}

// kill ends the router with SIGKILL.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err
}

// status reads /api/status; nil if the router does not answer.
func (p *proc) status() map[string]any {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(p.addr("http") + "/api/status")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil
	}
	return st
}

// counter reads a number from /api/status, e.g. ("outputs", "all",
// "delivered"); -1 when it is missing.
func (p *proc) counter(path ...string) float64 {
	return lookup(p.status(), path...)
}

// lookup follows path through a decoded JSON document; -1 when it is
// missing.
func lookup(v any, path ...string) float64 {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return -1
		}
		v = m[k]
	}
	f, ok := v.(float64)
	if !ok {
		return -1
	}
	return f
}

// waitFor polls cond every 20ms until it holds or d has passed.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCounter waits until a status counter reaches want.
func (p *proc) waitCounter(d time.Duration, want float64, path ...string) {
	p.t.Helper()
	var got float64
	deadline := time.Now().Add(d)
	for {
		if got = p.counter(path...); got >= want {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s = %v after %v, want %v\n%s", strings.Join(path, "."), got, d, want, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// caughtUp waits until output has no lag.
func (p *proc) caughtUp(d time.Duration, output string) {
	p.t.Helper()
	waitFor(p.t, d, "output "+output+" to catch up", func() bool {
		return p.counter("outputs", output, "lag_records") == 0
	})
}

// rss returns the process's resident set size in bytes from
// /proc/<pid>/status (VmRSS); 0 where that is not available.
func (p *proc) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// hekaUUIDs reads a heka-format file output and counts each UUID. A
// record cut short by a SIGKILL is followed by the records written after
// the restart, so its header's length runs into them: where a record does
// not decode, the scan resumes one byte after its start, at the next
// record separator, as a careful reader must. torn counts those spans.
func hekaUUIDs(t testing.TB, path string) (count map[metlog.UUID]int, total, torn int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	count = map[metlog.UUID]int{}
	var rec heka.Record
	var m metlog.Message
	decodes := func(off int) (int, bool) {
		n, err := heka.ParseRecord(b[off:], &rec, 0)
		if err != nil || heka.Unmarshal(rec.Message, &m) != nil {
			return 0, false
		}
		return n, true
	}
	for off := 0; off < len(b); {
		if n, ok := decodes(off); ok {
			total++
			count[m.UUID]++
			off += n
			continue
		}
		torn++
		for off++; off < len(b); off++ { // to the next record that decodes
			if _, ok := decodes(off); ok && b[off] == heka.RecordSeparator {
				break
			}
		}
	}
	return count, total, torn
}

// figures logs a scenario's results in the fixed format docs/reliability.md
// quotes: "chaos: <scenario> key=value key=value …".
func figures(t testing.TB, scenario string, kv ...any) {
	t.Helper()
	var b strings.Builder
	b.WriteString("chaos: " + scenario)
	if full {
		b.WriteString(" scale=full")
	} else {
		b.WriteString(" scale=short")
	}
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	t.Log(b.String())
}

// routerConfig is the [router] table every scenario starts from.
func routerConfig(t testing.TB, extra string) string {
	return fmt.Sprintf("[router]\ndata_dir = \"data\"\nhttp = %q\nshutdown_timeout = \"5s\"\n%s\n", freePort(t, "tcp"), extra)
}

// readFile returns a file's contents; "" when it does not exist.
func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}
