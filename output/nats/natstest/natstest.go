// Package natstest runs real nats-server processes for tests: one JetStream
// server, or a JetStream cluster of several nodes, on free loopback ports
// with their storage in the test's temporary directory.
package natstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	natsclient "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/metlog/metlog/output/outputtest"
)

// Server is one nats-server process with JetStream enabled.
type Server struct {
	// Name is the server's name in the cluster.
	Name string
	// URL is its client URL, nats://127.0.0.1:PORT.
	URL string

	t    testing.TB
	conf string
	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *outputtest.SyncBuffer
	done chan struct{}
}

// binary returns the nats-server binary, or skips the test.
func binary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("SKIPPED: nats-server is not installed (Debian package nats-server; `make deps` installs it)")
	}
	return bin
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start runs one JetStream server and waits until JetStream answers.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartCluster(t, 1)[0]
}

// StartCluster runs a JetStream cluster of n nodes (n = 1: a lone server)
// and waits until it has a JetStream meta leader.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	bin := binary(t)
	dir := t.TempDir()
	clientPorts := make([]int, n)
	routePorts := make([]int, n)
	for i := range n {
		clientPorts[i], routePorts[i] = freePort(t), freePort(t)
	}
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	servers := make([]*Server, n)
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		store := filepath.Join(dir, name)
		conf := fmt.Sprintf("server_name: %s\nlisten: 127.0.0.1:%d\njetstream {\n  store_dir: %q\n  max_memory_store: 268435456\n  max_file_store: 2147483648\n}\n",
			name, clientPorts[i], store)
		if n > 1 {
			conf += fmt.Sprintf("cluster {\n  name: metlog\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n",
				routePorts[i], strings.Join(routes, ", "))
		}
		path := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		s := &Server{Name: name, URL: fmt.Sprintf("nats://127.0.0.1:%d", clientPorts[i]), t: t, conf: path}
		s.start(bin)
		t.Cleanup(s.Kill)
		servers[i] = s
	}
	for _, s := range servers {
		s.WaitReady()
	}
	WaitJetStream(t, URLs(servers))
	return servers
}

// URLs returns the client URLs of servers.
func URLs(servers []*Server) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.URL
	}
	return out
}

func (s *Server) start(bin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command(bin, "-c", s.conf)
	out := &outputtest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.out, s.done = cmd, out, done
}

// WaitReady waits until the server accepts client connections.
func (s *Server) WaitReady() {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.Output(), "Server is ready") {
		select {
		case <-s.done:
			s.t.Fatalf("nats-server %s exited:\n%s", s.Name, s.Output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nats-server %s not ready:\n%s", s.Name, s.Output())
		}
	}
}

// Output returns what the current process logged.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// Kill ends the server with SIGKILL and waits for it; its storage stays.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// Restart starts the server again, on the same ports and storage, and
// waits until it accepts connections.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start(binary(s.t))
	s.WaitReady()
}

// WaitJetStream waits until JetStream answers through urls: on a cluster,
// until it has elected a meta leader.
func WaitJetStream(t testing.TB, urls []string) {
	t.Helper()
	nc, err := natsclient.Connect(strings.Join(urls, ","), natsclient.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("jetstream not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
