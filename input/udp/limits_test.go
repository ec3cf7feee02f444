package udp

import (
	"net"
	"testing"

	"github.com/metlog/metlog/input/inputtest"
)

func TestRateLimit(t *testing.T) {
	cfg := Defaults()
	cfg.Readers = 1                // datagrams handled in the order sent
	cfg.Rate, cfg.Burst = 0.001, 3 // three at once, then one per 1000 s
	sink := &inputtest.Sink{}
	in := start(t, cfg, sink)
	d := []byte(`{"type": "x"}`)
	send(t, in.Addr(), d, d, d, d, d)
	// A datagram from another source, read after the others, marks when
	// they have all been counted.
	c, err := (&net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}}).Dial("udp", in.Addr().String())
	if err != nil {
		t.Skipf("SKIPPED: cannot bind 127.0.0.2 here: %v", err)
	}
	c.Write([]byte(`{"type": "other source"}`))
	c.Close()
	msgs, err := sink.Wait(waitCtx(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 || msgs[3].Type != "other source" {
		t.Errorf("%d messages", len(msgs))
	}
	if r := in.Counters().Snapshot().Rejected; r["rate_limited"] != 2 {
		t.Errorf("rejected %v", r)
	}
}
