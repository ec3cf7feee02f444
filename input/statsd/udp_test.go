package statsd

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/metlog/metlog"
)

func sendUDP(t *testing.T, addr net.Addr, datagrams ...string) {
	t.Helper()
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range datagrams {
		if _, err := c.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
	}
}

// Every line form arrives over UDP as its message, one datagram holding
// them all, bad lines among them.
func TestUDPLineForms(t *testing.T) {
	cfg := Defaults()
	cfg.Hostname = "host1"
	cfg.MaxLineSize = 64
	sink := newLineSink(false)
	in, _ := start(t, cfg, sink, false)
	var datagram strings.Builder
	var want []*metlog.Message
	for _, tt := range lineForms {
		datagram.WriteString(tt.line + "\r\n")
		if tt.want != nil {
			want = append(want, tt.want)
		}
	}
	sendUDP(t, in.Addr(), datagram.String())
	got, err := sink.Wait(waitCtx(t), len(want))
	if err != nil {
		t.Fatal(err, in.Counters().Snapshot())
	}
	for i := range want {
		m := *got[i]
		if m.Timestamp == 0 {
			t.Fatalf("message %d has no timestamp", i)
		}
		if want[i].Timestamp == now {
			m.Timestamp = now // the time it was read
		}
		if !m.Equal(want[i]) {
			t.Errorf("message %d:\ngot  %+v\nwant %+v", i, &m, want[i])
		}
	}
	s := in.Counters().Snapshot()
	if s.Received != uint64(len(want)) || s.Rejected["malformed"] != 9 || s.Rejected["too_large"] != 1 {
		t.Errorf("counters %+v", s)
	}
	if e := in.MalformedKinds(); e["unknown_type"] != 1 || e["bad_rate"] != 1 || len(e) != 9 {
		t.Errorf("line errors %v", e)
	}
	for _, o := range sink.Options() {
		if !o.NoWait {
			t.Fatal("UDP delivered waiting for room")
		}
	}
}

// Many datagrams of many lines arrive complete and in order, delivered in
// batches of at most Batch messages.
func TestUDPManyDatagrams(t *testing.T) {
	cfg := Defaults()
	cfg.Batch = 256
	sink := newLineSink(false)
	in, _ := start(t, cfg, sink, false)
	const datagrams, lines = 300, 100
	var ds []string
	for d := range datagrams {
		var b strings.Builder
		for l := range lines {
			fmt.Fprintf(&b, "app.name_%d:%d|c\n", (d*lines+l)%1000, d*lines+l)
		}
		ds = append(ds, b.String())
	}
	sendUDP(t, in.Addr(), ds...)
	got, err := sink.Wait(waitCtx(t), datagrams*lines)
	if err != nil {
		t.Fatal(err, in.Counters().Snapshot())
	}
	for i, m := range got {
		if m.Payload != fmt.Sprint(i) || m.Fields[0].Strings[0] != fmt.Sprintf("app.name_%d", i%1000) {
			t.Fatalf("message %d: %+v", i, m)
		}
	}
	if s := in.Counters().Snapshot(); s.Received != datagrams*lines || s.Dropped != 0 {
		t.Errorf("counters %+v", s)
	}
}

// A full journal drops the batch and counts every message of it.
func TestUDPJournalFull(t *testing.T) {
	sink := newLineSink(true)
	in, stop := start(t, Defaults(), sink, false)
	sendUDP(t, in.Addr(), "a:1|c\nb:2|c\nc:3|c")
	if err := sink.WaitCalls(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	// The drop is counted right after Deliver returns: stopping the input
	// orders it before the check.
	stop()
	if s := in.Counters().Snapshot(); s.Dropped != 3 || s.Received != 0 {
		t.Errorf("counters %+v", s)
	}
}
