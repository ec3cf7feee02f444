package main

// End-to-end tests: real router processes on loopback. The test binary
// doubles as the metlog binary — run with METLOG_TEST_MAIN=1 it is main() —
// so the router under test is built with the same flags (-race included).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/codec/metlogjson"
)

func TestMain(m *testing.M) {
	if os.Getenv("METLOG_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// proc is a router process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdout *bytes.Buffer
	stderr *bytes.Buffer
	done   chan error
	addrs  map[string]string // "input udp" → address, "http" → URL
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T, network string) string {
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

// startProc runs `metlog router --config` on cfg and waits until it says
// where it listens.
func startProc(t *testing.T, dir, cfg string) *proc {
	t.Helper()
	path := filepath.Join(dir, "metlog.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, done: make(chan error, 1), addrs: map[string]string{}}
	p.cmd = exec.Command(os.Args[0], "router", "--config", path)
	p.cmd.Env = append(os.Environ(), "METLOG_TEST_MAIN=1")
	p.cmd.Dir = dir
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.stdout.WriteString(line + "\n")
			// "metlog router: input udp (udp) listening on 127.0.0.1:5565"
			if f := strings.Fields(line); len(f) == 8 && f[2] == "input" {
				p.addrs["input "+f[3]] = f[7]
			}
			if strings.HasPrefix(line, "metlog router: http://") {
				p.addrs["http"] = strings.Fields(line)[2]
				close(ready)
			}
		}
		p.done <- p.cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-p.done:
		t.Fatalf("router exited: %v\n%s", err, p.stderr)
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("router did not start:\n%s", p.stderr)
	}
	t.Cleanup(func() { p.stop() })
	return p
}

// stop ends the router with SIGTERM and checks it exits cleanly.
func (p *proc) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			p.t.Errorf("router exited with %v\n%s", err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		p.t.Errorf("router did not stop on SIGTERM\n%s", p.stderr)
	}
}

// kill ends the router with SIGKILL.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) status() map[string]any {
	p.t.Helper()
	resp, err := http.Get(p.addrs["http"] + "/api/status")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		p.t.Fatal(err)
	}
	return st
}

// counter reads a number from /api/status, e.g. ("outputs", "all", "delivered").
func (p *proc) counter(path ...string) float64 {
	var v any = p.status()
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return -1
		}
		v = m[k]
	}
	f, _ := v.(float64)
	return f
}

func (p *proc) waitCounter(want float64, path ...string) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := p.counter(path...)
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s = %v, want %v\n%s", strings.Join(path, "."), got, want, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readMessages(t *testing.T, path string) []*metlog.Message {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := metlogjson.NewDecoder(f)
	var out []*metlog.Message
	for {
		m := new(metlog.Message)
		err := dec.Decode(m)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
}

func captures(t *testing.T) map[string][]byte {
	t.Helper()
	files, _ := filepath.Glob("../../../shared/interop/metlog-py/*.json")
	if len(files) == 0 {
		files, _ = filepath.Glob("../../codec/metlogjson/testdata/*.json")
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var m metlog.Message
		if metlogjson.Decode(b, &m) == nil && m.Type != "" {
			out[filepath.Base(f)] = b
		}
	}
	if len(out) < 30 {
		t.Fatalf("found %d metlog-py captures", len(out))
	}
	return out
}

// Every metlog-py capture, sent over UDP as metlog-py sent it, reaches a
// metlog-json file output with nothing lost.
func TestE2ECapturesUDPToFile(t *testing.T) {
	dir := t.TempDir()
	p := startProc(t, dir, fmt.Sprintf(`
[router]
data_dir = "data"
http = "%s"
[input.udp]
address = "%s"
[output.all]
type = "file"
format = "metlog-json"
path = "all.json"
`, freePort(t, "tcp"), freePort(t, "udp")))
	conn, err := net.Dial("udp", p.addrs["input udp"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	caps := captures(t)
	var names []string
	for name, b := range caps {
		names = append(names, name)
		conn.Write(b)
		p.waitCounter(float64(len(names)), "outputs", "all", "delivered") // one at a time: UDP may reorder nothing then
	}
	got := readMessages(t, filepath.Join(dir, "all.json"))
	if len(got) != len(names) {
		t.Fatalf("%d messages in the file, want %d", len(got), len(names))
	}
	for i, name := range names {
		var want metlog.Message
		metlogjson.Decode(caps[name], &want)
		want.UUID = got[i].UUID
		if got[i].UUID.IsZero() || !got[i].Equal(&want) {
			t.Errorf("%s: got %+v\nwant %+v", name, got[i], &want)
		}
	}
}

// Malformed, truncated, oversized and random input on every input: the
// router keeps running, counts the rejects by reason and delivers the valid
// messages around them.
func TestE2EBadInputEverywhere(t *testing.T) {
	dir := t.TempDir()
	httpAddr := freePort(t, "tcp")
	p := startProc(t, dir, fmt.Sprintf(`
[router]
data_dir = "data"
http = "%s"
[input.udp]
address = "%s"
max_message_size = 4096
[input.tcp]
address = "%s"
max_message_size = 4096
[input.http]
max_message_size = 4096
[output.all]
type = "file"
format = "metlog-json"
path = "all.json"
`, httpAddr, freePort(t, "udp"), freePort(t, "tcp")))
	good := func(i int) string { return fmt.Sprintf(`{"type": "good", "payload": "%d"}`, i) }
	bad := [][]byte{
		[]byte(`{"type": "trunc`),
		[]byte(`{"type": 5}`),
		[]byte(`{"payload": "` + strings.Repeat("x", 5000) + `"}`),
		[]byte("\x1e\x03\x08\x05\x1f\x01"),
		[]byte("random bytes \x00\xff\xfe"),
		bytes.Repeat([]byte{0x1e}, 100),
	}
	n := 0
	// UDP: one datagram each.
	udp, _ := net.Dial("udp", p.addrs["input udp"])
	for _, b := range bad {
		udp.Write([]byte(good(n)))
		n++
		udp.Write(b)
	}
	udp.Close()
	// TCP: a JSON stream with the bad ones as lines, then a Heka stream.
	tcp, _ := net.Dial("tcp", p.addrs["input tcp"])
	for _, b := range bad {
		fmt.Fprintf(tcp, "%s\n%s\n", good(n), b)
		n++
	}
	tcp.Close()
	// HTTP: bad ones rejected with 400, good ones stored.
	for _, b := range bad {
		resp, err := http.Post(p.addrs["http"]+"/v1/messages", "application/x-ndjson",
			strings.NewReader(good(n)+"\n"+string(b)+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		n++
		if resp.StatusCode != 400 && resp.StatusCode != 200 {
			t.Errorf("http status %d", resp.StatusCode)
		}
	}
	p.waitCounter(float64(n), "outputs", "all", "delivered")
	for _, in := range []string{"udp", "tcp", "http"} {
		rej := p.status()["inputs"].(map[string]any)[in].(map[string]any)["rejected"].(map[string]any)
		if rej["malformed"].(float64) == 0 || rej["too_large"].(float64) == 0 {
			t.Errorf("input %s rejected %v: want malformed and too_large counted", in, rej)
		}
	}
	seen := map[string]bool{}
	for _, m := range readMessages(t, filepath.Join(dir, "all.json")) {
		if m.Type != "good" {
			t.Errorf("delivered a bad message: %+v", m)
		}
		seen[m.Payload] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct good messages delivered, want %d", len(seen), n)
	}
}

// An output whose endpoint (another router) is down receives everything
// once it is back; the other output is not delayed meanwhile.
func TestE2EOutputDownThenBack(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	bTCP := freePort(t, "tcp")
	a := startProc(t, dirA, fmt.Sprintf(`
[router]
data_dir = "data"
http = "%s"
[input.tcp]
address = "%s"
[output.local]
type = "file"
format = "metlog-json"
path = "local.json"
[output.forward]
type = "tcp"
address = "%s"
retry_max = "200ms"
`, freePort(t, "tcp"), freePort(t, "tcp"), bTCP))
	const n = 5000
	conn, err := net.Dial("tcp", a.addrs["input tcp"])
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		fmt.Fprintf(conn, `{"type": "t", "payload": "%d"}`+"\n", i)
	}
	conn.Close()
	a.waitCounter(n, "outputs", "local", "delivered")
	if d := a.counter("outputs", "forward", "delivered"); d != 0 {
		t.Fatalf("forward delivered %v with its endpoint down", d)
	}
	a.waitCounter(1, "outputs", "forward", "retries")

	b := startProc(t, dirB, fmt.Sprintf(`
[router]
data_dir = "data"
http = "%s"
[input.tcp]
address = "%s"
[output.all]
type = "file"
format = "metlog-json"
path = "all.json"
`, freePort(t, "tcp"), bTCP))
	a.waitCounter(n, "outputs", "forward", "delivered")
	b.waitCounter(n, "outputs", "all", "delivered")
	local := readMessages(t, filepath.Join(dirA, "local.json"))
	remote := readMessages(t, filepath.Join(dirB, "all.json"))
	if len(remote) != n {
		t.Fatalf("the second router has %d messages, want %d", len(remote), n)
	}
	for i := range local {
		if !local[i].Equal(remote[i]) {
			t.Fatalf("message %d differs between the routers", i)
		}
	}
}

// SIGTERM stops the router within its shutdown timeout and a restart
// delivers nothing twice: cursors were committed.
func TestE2EGracefulRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
[router]
data_dir = "data"
http = "%s"
[input.tcp]
address = "%s"
[output.all]
type = "file"
format = "metlog-json"
path = "all.json"
`, freePort(t, "tcp"), freePort(t, "tcp"))
	p := startProc(t, dir, cfg)
	conn, _ := net.Dial("tcp", p.addrs["input tcp"])
	for i := range 1000 {
		fmt.Fprintf(conn, `{"type": "t", "payload": "%d"}`+"\n", i)
	}
	conn.Close()
	p.waitCounter(1000, "outputs", "all", "delivered")
	start := time.Now()
	p.stop()
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	p = startProc(t, dir, cfg)
	// The cursor was committed: nothing is left to read, nothing is resent.
	if lag := p.counter("outputs", "all", "lag_records"); lag != 0 {
		t.Errorf("lag after restart %v, want 0", lag)
	}
	if got := len(readMessages(t, filepath.Join(dir, "all.json"))); got != 1000 {
		t.Errorf("%d messages after a restart, want 1000 (no redelivery)", got)
	}
	// The journal is a Heka stream that `metlog cat` reads.
	code, out, errs := runCmd("cat", "-template", "{payload}", filepath.Join(dir, "data", "journal"))
	if lines := strings.Count(out, "\n"); code != 0 || lines != 1000 {
		t.Errorf("cat of the journal: exit %d, %d lines, %s", code, lines, errs)
	}
}

// A reliable sender streams messages over acknowledged TCP while the router
// is killed with SIGKILL and restarted three times: afterwards every message
// the sender had handed over is in the output; duplicates carry the same
// UUID, and their count is reported.
func TestE2EAcknowledgedSurvivesKill9(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	dir := t.TempDir()
	tcpAddr := freePort(t, "tcp")
	cfg := fmt.Sprintf(`
[router]
data_dir = "data"
http = "%s"
[input.tcp]
address = "%s"
[output.all]
type = "file"
format = "heka"
path = "all.heka"
`, freePort(t, "tcp"), tcpAddr)
	p := startProc(t, dir, cfg)
	c, err := metlog.Dial("tcp+ack://"+tcpAddr, metlog.WithQueueSize(1<<16), metlog.WithLogger("e2e"))
	if err != nil {
		t.Fatal(err)
	}
	kills := map[int]bool{n / 4: true, n / 2: true, 3 * n / 4: true}
	for i := range n {
		c.Count("n", int64(i))
		if i%10000 == 9999 {
			if err := c.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if kills[i] {
			p.kill()
			p = startProc(t, dir, cfg)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Dropped != 0 || s.Failed != 0 || s.Sent != uint64(n) {
		t.Fatalf("client stats %+v", s)
	}
	// Everything acknowledged is durable in the journal; wait until the
	// output has caught up with it.
	deadline := time.Now().Add(2 * time.Minute)
	for p.counter("outputs", "all", "lag_records") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("output never caught up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop()
	f, err := os.Open(filepath.Join(dir, "all.heka"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := heka.NewReader(bufio.NewReaderSize(f, 1<<20), 0)
	seen := make(map[metlog.UUID]bool, n)
	total := 0
	var m metlog.Message
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := heka.Unmarshal(rec.Message, &m); err != nil {
			t.Fatal(err)
		}
		total++
		seen[m.UUID] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct messages in the output, want %d", len(seen), n)
	}
	t.Logf("%d messages through 3 kill -9 restarts: %d delivered, %d duplicates (same UUID)", n, total, total-n)
}

// SIGHUP reloads the config without losing a message: a new output starts
// from the oldest record the journal holds, and a file output that
// logrotate moved away writes to a new file.
func TestE2EReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	base := fmt.Sprintf(`
[router]
data_dir = "data"
http = "%s"
[input.tcp]
address = "%s"
[output.a]
type = "file"
template = "{payload}"
path = "a.log"
`, freePort(t, "tcp"), freePort(t, "tcp"))
	p := startProc(t, dir, base)
	send := func(from, to int) {
		conn, err := net.Dial("tcp", p.addrs["input tcp"])
		if err != nil {
			t.Fatal(err)
		}
		for i := from; i < to; i++ {
			fmt.Fprintf(conn, `{"type": "t", "payload": "%d"}`+"\n", i)
		}
		conn.Close()
	}
	send(0, 100)
	p.waitCounter(100, "outputs", "a", "delivered")
	if err := os.Rename(filepath.Join(dir, "a.log"), filepath.Join(dir, "a.log.1")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "metlog.toml"), []byte(base+`
[output.b]
type = "file"
template = "{payload}"
path = "b.log"
`), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitCounter(100, "outputs", "b", "delivered")
	send(100, 200)
	p.waitCounter(200, "outputs", "b", "delivered")
	p.waitCounter(200, "outputs", "a", "delivered") // a kept running through the reload
	read := func(name string) []string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return strings.Fields(string(b))
	}
	if got := read("b.log"); len(got) != 200 || got[0] != "0" || got[199] != "199" {
		t.Errorf("b.log has %d lines", len(got))
	}
	if old, cur := read("a.log.1"), read("a.log"); len(old) != 100 || len(cur) != 100 || cur[0] != "100" {
		t.Errorf("a.log.1 has %d lines, a.log %d", len(old), len(cur))
	}
}

// One output is stuck for a minute (its endpoint accepts connections and
// never acknowledges) while another keeps delivering at full rate: the
// other's lag stays near zero throughout.
func TestE2EStuckOutputForAMinute(t *testing.T) {
	period := time.Minute
	if testing.Short() {
		period = 5 * time.Second
	}
	stuck, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := stuck.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	dir := t.TempDir()
	p := startProc(t, dir, fmt.Sprintf(`
[router]
data_dir = "data"
http = "%s"
shutdown_timeout = "1s"
[input.tcp]
address = "%s"
[output.fast]
type = "file"
template = "{payload}"
path = "fast.log"
[output.stuck]
type = "tcp"
address = "%s"
timeout = "10m"
`, freePort(t, "tcp"), freePort(t, "tcp"), stuck.Addr().String()))
	conn, err := net.Dial("tcp", p.addrs["input tcp"])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := bufio.NewWriter(conn)
	const perTick = 2000 // every 100 ms: 20,000 messages/s
	sent := 0
	worst := 0.0
	start := time.Now()
	for tick := time.NewTicker(100 * time.Millisecond); time.Since(start) < period; <-tick.C {
		for range perTick {
			fmt.Fprintf(w, `{"type": "t", "payload": "%d"}`+"\n", sent)
			sent++
		}
		w.Flush()
		worst = max(worst, float64(sent)-p.counter("outputs", "fast", "delivered"))
	}
	p.waitCounter(float64(sent), "outputs", "fast", "delivered")
	if d := p.counter("outputs", "stuck", "delivered"); d != 0 {
		t.Errorf("the stuck output delivered %v", d)
	}
	if lag := p.counter("outputs", "stuck", "lag_records"); lag != float64(sent) {
		t.Errorf("the stuck output's lag is %v, want %d", lag, sent)
	}
	// The fast output never fell more than a second of traffic behind.
	if worst > perTick*10 {
		t.Errorf("the fast output fell %v messages behind", worst)
	}
	t.Logf("%d messages in %v; the fast output was at most %v behind; the stuck one delivered none", sent, period, worst)
}
