package harness

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// process is a system under test, run as a child process in the
// foreground; stop ends it by its PID.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string // its standard output and error
	done chan struct{}
	err  error // how it exited, once done is closed
}

// startProcess runs argv in dir with its output in dir/NAME.log.
func startProcess(name, dir string, env []string, argv ...string) (*process, error) {
	logPath := dir + "/" + name + ".log"
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	// Its own process group: a Ctrl-C on the harness reaches the harness,
	// which stops the child in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended, with its error.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, fmt.Errorf("%s exited: %v; its log: %s", p.name, p.err, tail(p.log, 600))
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the process's PID, waits up to grace for it to
// exit, then sends SIGKILL and waits.
func (p *process) stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(p.pid(), syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		syscall.Kill(p.pid(), syscall.SIGKILL)
		<-p.done
	}
}

// usage is what /proc says about a process at one moment.
type usage struct {
	at      time.Time
	cpu     float64 // user + system seconds since it started
	rss     int64   // resident bytes now (VmRSS)
	peakRSS int64   // the most it was resident (VmHWM)
}

// readUsage reads /proc/PID/stat and /proc/PID/status.
func readUsage(pid int) (usage, error) {
	u := usage{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return u, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return u, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return u, err
	}
	u.cpu = float64(ut+st) / clockTicks
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if k == "VmRSS" {
			u.rss = kb << 10
		} else {
			u.peakRSS = kb << 10
		}
	}
	return u, sc.Err()
}

// machineCPU is the CPU time every process on the machine has used since
// boot (the cpu line of /proc/stat, idle and iowait left out), in seconds.
func machineCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks uint64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseUint(v, 10, 64)
		ticks += n
	}
	return float64(ticks) / clockTicks
}

// ioStalled is the time, in seconds since boot, during which some task on
// the machine waited for I/O (/proc/pressure/io, "some"); 0 when the
// kernel does not report pressure.
func ioStalled() float64 {
	b, err := os.ReadFile("/proc/pressure/io")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	_, total, ok := strings.Cut(line, "total=")
	if !ok {
		return 0
	}
	us, _ := strconv.ParseUint(strings.TrimSpace(total), 10, 64)
	return float64(us) / 1e6
}

// selfCPU is the harness's own CPU time so far (the load generators run
// in it), in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// tail returns about the last n bytes of a file, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return "(none)"
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "(none)"
	}
	off := max(0, st.Size()-n)
	buf := make([]byte, st.Size()-off)
	f.ReadAt(buf, off)
	return strings.TrimSpace(string(buf))
}
