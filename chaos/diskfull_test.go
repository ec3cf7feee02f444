package chaos

import (
	"context"
	"errors"
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
)

// mountTmpfs mounts a tmpfs of size bytes on dir, unmounted in t.Cleanup.
// It skips the test where mounting is not allowed (not root, no
// CAP_SYS_ADMIN).
func mountTmpfs(t *testing.T, dir string, size int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("SKIPPED: cannot mount a %d-byte tmpfs for the journal (%v); the disk-full scenario runs as root", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
}

// fill writes a ballast file until the filesystem has no space left.
func fill(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	var n int64
	for {
		w, err := f.Write(buf)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// post sends NDJSON lines to the HTTP input and returns the status code and
// the response body.
func post(t *testing.T, url string, msgs ...string) (int, string) {
	t.Helper()
	code, body, err := tryPost(url, msgs...)
	if err != nil {
		t.Fatal(err)
	}
	return code, body
}

// tryPost is post for goroutines other than the test's.
func tryPost(url string, msgs ...string) (int, string, error) {
	c := http.Client{Timeout: time.Minute}
	resp, err := c.Post(url+"/v1/messages", "application/x-ndjson", strings.NewReader(strings.Join(msgs, "\n")+"\n"))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

func jsonLines(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"type": "chaos", "payload": "%s-%d"}`, prefix, i)
	}
	return out
}

// Scenario 3: the filesystem under the journal fills up. Acknowledged
// senders are refused with a clear error (HTTP: 503 and the reason; the
// tcp+ack sender is not acknowledged and keeps its messages), UDP drops
// are counted, nothing already journaled is corrupted, and once space
// returns delivery resumes by itself: every acknowledged and every
// resent message arrives.
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	mountTmpfs(t, data, 16<<20)
	tcpAddr := freePort(t, "tcp")
	p := startProc(t, dir, routerConfig(t, `journal_max_bytes = 4194304`)+fmt.Sprintf(`
[input.tcp]
address = %q
[input.udp]
address = %q
[input.http]
full_timeout = "2s"
[output.all]
type = "file"
template = "{payload}"
path = "all.log"
`, tcpAddr, freePort(t, "udp")))
	url := p.addr("http")

	// Before: journaled and delivered.
	if code, body := post(t, url, jsonLines("before", 1000)...); code != 200 {
		t.Fatalf("before the disk filled: %d %s", code, body)
	}
	p.waitCounter(time.Minute, 1000, "outputs", "all", "delivered")

	ballast := fill(t, filepath.Join(data, "ballast"))

	// HTTP: refused, with the reason.
	code, httpErr := post(t, url, jsonLines("http", 100)...)
	if code != http.StatusServiceUnavailable || !strings.Contains(httpErr, "no space left on device") {
		t.Errorf("HTTP while the disk is full: %d %s; want 503 saying no space left on device", code, httpErr)
	}

	// UDP: dropped and counted, every datagram.
	const udpN = 500
	udp, err := net.Dial("udp", p.addr("input udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	for _, l := range jsonLines("udp", udpN) {
		udp.Write([]byte(l))
	}
	waitFor(t, time.Minute, "UDP datagrams to be counted", func() bool {
		return p.counter("inputs", "udp", "received")+p.counter("inputs", "udp", "dropped") >= udpN
	})
	udpDropped := p.counter("inputs", "udp", "dropped")
	udpReceived := p.counter("inputs", "udp", "received")
	if udpDropped == 0 {
		t.Errorf("no UDP drops counted while the disk was full")
	}

	// tcp+ack: not acknowledged; the sender keeps the messages.
	const ackN = 2000
	c, err := metlog.Dial("tcp+ack://"+tcpAddr, metlog.WithLogger("chaos"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ackN {
		c.Event("chaos").Payload(fmt.Sprintf("ack-%d", i)).Send()
	}
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The sender reconnects with backoff and is refused each time; the
	// full form waits for several refusals.
	waitFor(t, 2*time.Minute, "the router to refuse the tcp+ack stream", func() bool {
		return strings.Count(p.stderr.String(), "closing connection: cannot deliver") >= scale(1, 5)
	})
	refusedWhileFull := strings.Count(p.stderr.String(), "closing connection: cannot deliver")
	deliveredFull := p.counter("outputs", "all", "delivered")

	// Space returns: delivery resumes without a restart.
	if err := os.Remove(filepath.Join(data, "ballast")); err != nil {
		t.Fatal(err)
	}
	returned := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.CloseContext(ctx); err != nil {
		t.Fatalf("the tcp+ack sender could not deliver after space returned: %v", err)
	}
	resumed := time.Since(returned)
	if s := c.Stats(); s.Dropped != 0 || s.Failed != 0 {
		t.Errorf("tcp+ack client stats %+v", s)
	}
	if code, body := post(t, url, jsonLines("after", 1000)...); code != 200 {
		t.Fatalf("HTTP after space returned: %d %s", code, body)
	}
	want := 1000 + int(udpReceived) + ackN + 1000
	p.caughtUp(time.Minute, "all")
	st := p.status()
	p.stop()

	got := map[string]bool{}
	for _, l := range strings.Fields(readFile(t, filepath.Join(dir, "all.log"))) {
		got[l] = true
	}
	for _, prefix := range []string{"before", "ack", "after"} {
		n := map[string]int{"before": 1000, "ack": ackN, "after": 1000}[prefix]
		for i := range n {
			if !got[fmt.Sprintf("%s-%d", prefix, i)] {
				t.Fatalf("%s-%d was not delivered", prefix, i)
			}
		}
	}
	// The refused HTTP batch was taken into the journal's pending buffer
	// before the write failed: it is written once space returns, so a
	// client that retries it sends it twice (at least once).
	httpLater := 0
	for i := range 100 {
		if got[fmt.Sprintf("http-%d", i)] {
			httpLater++
		}
	}
	if len(got) < want {
		t.Errorf("%d distinct messages delivered, want %d", len(got), want)
	}
	for _, k := range []string{"corrupt", "torn"} {
		if v := lookup(st, "journal", k); v != 0 {
			t.Errorf("journal %s = %v", k, v)
		}
	}
	if v := lookup(st, "outputs", "all", "corrupt"); v != 0 {
		t.Errorf("output corrupt = %v", v)
	}
	// The journal on the filled filesystem reads back cleanly from end to end.
	out, err := exec.Command(metlogBin(t), "cat", "-template", "{payload}", filepath.Join(data, "journal")).CombinedOutput()
	if err != nil {
		t.Errorf("metlog cat of the journal: %v\n%s", err, out)
	}
	figures(t, "disk_full", "fs", "tmpfs-16MiB", "ballast_bytes", ballast,
		"http_status", code, "http_error", fmt.Sprintf("%q", httpErr), "http_refused_stored_later", httpLater,
		"udp_sent", udpN, "udp_received", udpReceived, "udp_dropped", udpDropped,
		"ack_sent", ackN, "ack_connections_refused", refusedWhileFull, "delivered_while_full", deliveredFull-1000, "resumed_after", resumed.Round(time.Millisecond),
		"delivered_distinct", len(got), "journal_corrupt", lookup(st, "journal", "corrupt"))
}
