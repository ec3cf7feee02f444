package tcp

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog/input/inputtest"
)

func TestMaxConnectionsPerSource(t *testing.T) {
	sink := &inputtest.Sink{}
	cfg := Defaults()
	cfg.MaxConnectionsPerSource = 1
	in := start(t, cfg, sink)
	first := dial(t, in)
	first.Write([]byte(`{"type": "first"}` + "\n"))
	if _, err := sink.Wait(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	second := dial(t, in)
	second.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := second.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("second connection from one source not closed: %v", err)
	}
	// Another source may still connect.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	other, err := d.Dial("tcp", in.Addr().String())
	if err != nil {
		t.Skipf("SKIPPED: cannot bind 127.0.0.2 here: %v", err)
	}
	defer other.Close()
	other.Write([]byte(`{"type": "other"}` + "\n"))
	if _, err := sink.Wait(waitCtx(t), 2); err != nil {
		t.Fatal(err)
	}
}

func TestRateLimit(t *testing.T) {
	sink := &inputtest.Sink{}
	cfg := Defaults()
	cfg.Rate, cfg.Burst = 0.001, 3 // three at once, then one per 1000 s
	in := start(t, cfg, sink)
	c := dial(t, in)
	c.Write([]byte(strings.Repeat(`{"type": "x"}`+"\n", 5)))
	c.(*net.TCPConn).CloseWrite()
	// The input closes its end once it has read and counted everything.
	c.Read(make([]byte, 1))
	if r := in.Counters().Snapshot().Rejected; r["rate_limited"] != 2 {
		t.Errorf("rejected %v", r)
	}
	if msgs, err := sink.Wait(waitCtx(t), 3); err != nil || len(msgs) != 3 {
		t.Errorf("%d messages through, err %v", len(msgs), err)
	}
}
