package cluster

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/metlog/metlog/output/outputtest"
)

// metlogBin is the metlog binary TestMain built, or empty.
var metlogBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "metlog-cluster")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "metlog")
	build := exec.Command("go", "build", "-o", bin, "github.com/metlog/metlog/cmd/metlog")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building metlog:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	metlogBin = bin
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freeAddr returns a loopback TCP address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// router is a `metlog router` process with its own directory.
type router struct {
	t      *testing.T
	name   string
	dir    string
	http   string // http://127.0.0.1:PORT
	cmd    *exec.Cmd
	stderr *outputtest.SyncBuffer
	done   chan error
	mu     sync.Mutex
}

// startRouter writes cfg to dir/metlog.toml and runs a router on it until
// it says it serves HTTP. It is stopped when the test ends.
func startRouter(t *testing.T, name, dir, cfg string) *router {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "metlog.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &router{t: t, name: name, dir: dir}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *router) start() {
	r.t.Helper()
	cmd := exec.Command(metlogBin, "router", "--config", filepath.Join(r.dir, "metlog.toml"))
	cmd.Dir = r.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr := &outputtest.SyncBuffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line := sc.Text(); strings.HasPrefix(line, "metlog router: http://") {
				ready <- strings.Fields(line)[2]
			}
		}
		done <- cmd.Wait()
	}()
	select {
	case url := <-ready:
		r.mu.Lock()
		r.cmd, r.stderr, r.done, r.http = cmd, stderr, done, url
		r.mu.Unlock()
	case err := <-done:
		r.t.Fatalf("router %s exited: %v\n%s", r.name, err, stderr)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		r.t.Fatalf("router %s did not start:\n%s", r.name, stderr)
	}
}

// stop ends the router with SIGTERM; it must exit cleanly.
func (r *router) stop() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			r.t.Errorf("router %s exited with %v\n%s", r.name, err, r.stderr)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		r.t.Errorf("router %s did not stop on SIGTERM\n%s", r.name, r.stderr)
	}
}

// kill ends the router with SIGKILL.
func (r *router) kill() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	cmd.Process.Kill()
	<-done
}

// status reads one number from /api/status, e.g. ("outputs", "all",
// "lag_records"); -1 when it is missing or the router does not answer.
func (r *router) status(path ...string) float64 {
	resp, err := http.Get(r.http + "/api/status")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var v any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return -1
	}
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

// logs returns what the router logged so far.
func (r *router) logs() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stderr == nil {
		return ""
	}
	return r.stderr.String()
}

// waitFor polls cond every 20ms until it holds; the test fails after
// within, showing what describe says.
func waitFor(t *testing.T, within time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", describe())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
