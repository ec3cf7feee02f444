package outputtest

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a server a test runs, such as carbon-cache or Prometheus. It
// is killed if the test binary dies, and stopped when the test ends.
type Process struct {
	name   string
	cmd    *exec.Cmd
	out    SyncBuffer
	exited chan struct{}
	once   sync.Once
}

// StartProcess starts cmd, keeping what it writes to stdout and stderr.
// name stands for the process in failure messages. When the test ends the
// process is stopped, and its output logged if the test failed.
func StartProcess(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	p := &Process{name: name, cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Output())
		}
	})
	return p
}

// WaitReady calls ready every 50ms until it reports true. The test fails
// when the process exits first, or when within passes.
func (p *Process) WaitReady(t testing.TB, within time.Duration, ready func() bool) {
	t.Helper()
	if err := p.Ready(within, ready); err != nil {
		t.Fatalf("%s %v: %s", p.name, err, p.Output())
	}
}

// ErrExited is what Ready returns when the process exited before it was
// ready.
var ErrExited = errors.New("exited")

// Ready is WaitReady that returns ErrExited, or an error when within
// passes, instead of failing the test.
func (p *Process) Ready(within time.Duration, ready func() bool) error {
	deadline := time.Now().Add(within)
	for !ready() {
		select {
		case <-p.exited:
			return ErrExited
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v", within)
		}
	}
	return nil
}

// Stop ends the process with SIGTERM, or kills it after 20s, and waits for
// it to exit. Later calls do nothing.
func (p *Process) Stop() {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
}

// Output returns what the process wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }
