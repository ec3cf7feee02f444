package chaos

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/metlog/metlog"
)

// Scenario 7: the config is reloaded with SIGHUP every second while an
// acknowledged TCP sender and an HTTP sender stream. Every reload changes
// something — the TCP input's batch (the input restarts and drops its
// connections), the delivering output's batch size (it restarts from its
// cursor), an output that comes and goes. Nothing acknowledged is lost.
func TestReloadUnderLoad(t *testing.T) {
	period := scale(10*time.Second, time.Minute)
	dir := t.TempDir()
	base := routerConfig(t, "")
	tcpAddr := freePort(t, "tcp")
	variant := func(k int) string {
		cfg := base + fmt.Sprintf(`
[input.tcp]
address = %q
batch = %d
[input.http]
[output.all]
type = "file"
template = "{payload}"
path = "all.log"
batch_size = %d
`, tcpAddr, 512+k%2*512, 1024-k%2*512)
		if k%2 == 0 {
			cfg += `
[output.extra]
type = "file"
template = "{payload}"
path = "extra.log"
`
		}
		return cfg
	}
	p := startProc(t, dir, variant(0))

	c, err := metlog.Dial("tcp+ack://"+tcpAddr, metlog.WithQueueSize(1<<16), metlog.WithLogger("chaos"))
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ackSent, httpOK, httpRefused int
	wg.Go(func() { // the acknowledged TCP sender: paced by Flush, never dropping
		for i := 0; ; i++ {
			select {
			case <-stop:
				ackSent = i
				return
			default:
			}
			c.Event("chaos").Payload(fmt.Sprintf("ack-%d", i)).Send()
			if i%1000 == 999 {
				c.Flush(context.Background())
			}
		}
	})
	wg.Go(func() { // the HTTP sender: what was answered 200 must arrive
		for r := 0; ; r++ {
			select {
			case <-stop:
				return
			default:
			}
			if code, _, _ := tryPost(p.addr("http"), jsonLines(fmt.Sprintf("http%d", r), 100)...); code == 200 {
				httpOK++
			} else {
				httpRefused++
			}
		}
	})

	reloads := 0
	tk := time.NewTicker(time.Second)
	for start := time.Now(); time.Since(start) < period; <-tk.C {
		reloads++
		writeConfig(t, dir, variant(reloads))
		p.cmd.Process.Signal(syscall.SIGHUP)
	}
	tk.Stop()
	close(stop)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.CloseContext(ctx); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Dropped != 0 || s.Failed != 0 || s.Sent != uint64(ackSent) {
		t.Fatalf("tcp+ack client stats %+v, sent %d", s, ackSent)
	}
	waitFor(t, time.Minute, "every reload to be applied", func() bool {
		return strings.Count(p.stderr.String(), "config reloaded") >= reloads
	})
	p.caughtUp(2*time.Minute, "all")
	p.stop()
	if n := strings.Count(p.stderr.String(), "level=ERROR"); n > 0 {
		t.Errorf("%d errors logged:\n%s", n, p.stderr.String())
	}

	lines := strings.Fields(readFile(t, filepath.Join(dir, "all.log")))
	got := make(map[string]bool, len(lines))
	for _, l := range lines {
		got[l] = true
	}
	missing := 0
	for i := range ackSent {
		if !got[fmt.Sprintf("ack-%d", i)] {
			missing++
		}
	}
	httpGot := 0
	for l := range got {
		if strings.HasPrefix(l, "http") {
			httpGot++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged TCP messages missing", missing, ackSent)
	}
	if httpGot < httpOK*100 {
		t.Errorf("%d HTTP messages delivered, %d were answered 200", httpGot, httpOK*100)
	}
	figures(t, "reload", "period", period, "reloads", reloads, "ack_messages", ackSent, "ack_missing", missing,
		"http_messages_ok", httpOK*100, "http_requests_refused", httpRefused, "http_delivered", httpGot,
		"delivered_lines", len(lines), "duplicates", len(lines)-len(got),
		"rate_per_s", fmt.Sprintf("%.0f", float64(ackSent+httpOK*100)/period.Seconds()))
}
