package harness

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func appendLines(t *testing.T, path string, m *lineMaker, seqs ...uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b []byte
	for _, s := range seqs {
		b = m.appendLine(b, s, time.Now().UnixNano())
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestOutputFileFollowsRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.log")
	m := newLineMaker(120)
	o := newOutputFile(path, true)
	defer o.close()

	poll := func(wantGrew bool) {
		t.Helper()
		grew, err := o.poll()
		if err != nil {
			t.Fatal(err)
		}
		if grew != wantGrew {
			t.Errorf("poll reported growth %v, want %v", grew, wantGrew)
		}
	}
	poll(false) // no file yet
	appendLines(t, path, m, 0, 1, 2)
	poll(true)
	poll(false)

	// A line written in two parts is one line.
	line := m.appendLine(nil, 3, time.Now().UnixNano())
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(line[:50])
	poll(true)
	f.Write(line[50:])
	f.Close()
	poll(true)

	// Rotation: the old file gets one more line before the rename, the
	// new one the rest; a duplicate and a line without sequence number.
	appendLines(t, path, m, 4)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendLines(t, path, m, 5, 6, 2)
	f, _ = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("no sequence number here\n")
	f.Close()
	poll(true)

	if o.lines != 9 || o.seqs != 7 || o.dups != 1 || o.bad != 1 {
		t.Errorf("lines %d, distinct %d, duplicates %d, bad %d; want 9, 7, 1, 1", o.lines, o.seqs, o.dups, o.bad)
	}
	if o.latency.n != 8 {
		t.Errorf("%d latencies, want 8", o.latency.n)
	}
}

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 15, 16, 17, 31, 32, 33, 1000, 1 << 20, 1<<20 + 1, 1 << 40, 1<<62 + 12345} {
		b := bucketOf(v)
		if b < prev {
			t.Errorf("bucketOf(%d) = %d, below the previous %d", v, b, prev)
		}
		prev = b
		top := bucketTop(b)
		if top < v {
			t.Errorf("bucketTop(bucketOf(%d)) = %d, below the value", v, top)
		}
		if b > 0 && bucketTop(b-1) >= v {
			t.Errorf("%d belongs in bucket %d, but bucket %d reaches %d", v, b, b-1, bucketTop(b-1))
		}
		if float64(top-v) > float64(v)/16+1 {
			t.Errorf("bucket of %d reaches %d: more than 1/16 off", v, top)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h histogram
	var vals []int64
	for range 100_000 {
		v := int64(r.ExpFloat64() * float64(5*time.Millisecond))
		vals = append(vals, v)
		h.add(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := h.quantile(q)
		if got < exact || float64(got) > float64(exact)*1.07 {
			t.Errorf("quantile %v: %d, exact %d", q, got, exact)
		}
	}
	if h.quantile(1) != vals[len(vals)-1] {
		t.Errorf("quantile 1 = %d, want the maximum %d", h.quantile(1), vals[len(vals)-1])
	}
	var empty histogram
	if empty.quantile(0.99) != 0 {
		t.Error("an empty histogram has quantiles")
	}
}

func TestReadUsage(t *testing.T) {
	// Spend some CPU so that the clock ticks.
	deadline := time.Now().Add(50 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = fmt.Sprint(x)
	}
	u, err := readUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.cpu <= 0 || u.rss <= 0 || u.peakRSS < u.rss {
		t.Errorf("usage %+v: want CPU time, RSS and a peak at least as large", u)
	}
	if _, err := readUsage(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}

func TestUDPSockets(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := udpSockets(port); ok {
		t.Fatalf("port %d is bound before anything bound it", port)
	}
	c, err := listenUDP(port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, ok := udpSockets(port)
	if !ok || s.rxQueue != 0 {
		t.Errorf("bound socket: %+v %v", s, ok)
	}
	send, err := dialUDP(port)
	if err != nil {
		t.Fatal(err)
	}
	defer send.Close()
	send.Write([]byte("x:1|c"))
	deadline := time.Now().Add(5 * time.Second)
	for s.rxQueue == 0 && time.Now().Before(deadline) {
		s, _ = udpSockets(port)
		time.Sleep(5 * time.Millisecond)
	}
	if s.rxQueue == 0 {
		t.Error("a datagram waits, but the receive queue is empty")
	}
}

func listenUDP(port int) (net.PacketConn, error) {
	return net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
}

func dialUDP(port int) (net.Conn, error) {
	return net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
}
