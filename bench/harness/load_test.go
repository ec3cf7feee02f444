package harness

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog/codec/metlogjson"
)

func TestLineMaker(t *testing.T) {
	tests := []struct {
		size, want int
	}{
		{250, 250},
		{1000, 1000},
		{10, 0}, // too small: the smallest line possible
	}
	for _, tt := range tests {
		m := newLineMaker(tt.size)
		if tt.want > 0 && len(m.tmpl) != tt.want {
			t.Errorf("size %d: line of %d bytes", tt.size, len(m.tmpl))
		}
		line := m.appendLine([]byte("x"), 1234567, 1_700_000_000_123_456_789)[1:]
		if line[len(line)-1] != '\n' {
			t.Fatalf("size %d: no newline: %q", tt.size, line)
		}
		msg, err := metlogjson.Unmarshal(line[:len(line)-1])
		if err != nil {
			t.Fatalf("size %d: not metlog JSON: %v: %s", tt.size, err, line)
		}
		if !strings.HasPrefix(msg.Payload, "#s=0001234567 @t=1700000000123456789 ") {
			t.Errorf("size %d: payload %q", tt.size, msg.Payload)
		}
		if seq, ok := parseDigits(line, seqMarker, seqDigits); !ok || seq != 1234567 {
			t.Errorf("size %d: seq %d %v", tt.size, seq, ok)
		}
		if ts, ok := parseDigits(line, timeMarker, timeDigits); !ok || ts != 1_700_000_000_123_456_789 {
			t.Errorf("size %d: time %d %v", tt.size, ts, ok)
		}
	}
}

func TestParseDigits(t *testing.T) {
	tests := []struct {
		line string
		want uint64
		ok   bool
	}{
		{`"payload": "#s=0000000042 x"`, 42, true},
		{`#s=00000000`, 0, false},      // cut short
		{`#s=00000a0042`, 0, false},    // not a digit
		{`no marker at all`, 0, false}, // missing
	}
	for _, tt := range tests {
		got, ok := parseDigits([]byte(tt.line), seqMarker, seqDigits)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%q: got %d %v, want %d %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

// lineServer accepts connections and counts the lines it reads, by
// sequence number. lines waits for conns connections to be accepted and
// read to their end (a connection the load closed may still wait in the
// listen queue), then stops the server and returns the counts.
func lineServer(t *testing.T) (addr string, lines func(conns int) map[uint64]int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[uint64]int{}
	ended := make(chan struct{}, 64)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer func() { ended <- struct{}{} }()
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					seq, ok := parseDigits(sc.Bytes(), seqMarker, seqDigits)
					if !ok {
						t.Errorf("line without a sequence number: %q", sc.Text())
					}
					mu.Lock()
					seen[seq]++
					mu.Unlock()
				}
			})
		}
	})
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return l.Addr().String(), func(conns int) map[uint64]int {
		timeout := time.After(30 * time.Second)
		for range conns {
			select {
			case <-ended:
			case <-timeout:
				t.Fatalf("fewer than %d connections ended within 30 s", conns)
			}
		}
		l.Close()
		wg.Wait()
		return seen
	}
}

func TestTCPLoadTotal(t *testing.T) {
	addr, lines := lineServer(t)
	load := &tcpLoad{addr: addr, conns: 3, total: 10_000, deadline: time.Now().Add(time.Minute), maker: newLineMaker(200)}
	if err := load.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := load.sent.Load(); got != 10_000 {
		t.Errorf("sent %d, want 10000", got)
	}
	seen := lines(load.conns)
	if len(seen) != 10_000 {
		t.Errorf("%d distinct lines arrived, want 10000", len(seen))
	}
	for seq, n := range seen {
		if seq >= 10_000 || n != 1 {
			t.Errorf("sequence number %d arrived %d times", seq, n)
		}
	}
}

func TestTCPLoadRate(t *testing.T) {
	addr, lines := lineServer(t)
	load := &tcpLoad{addr: addr, conns: 2, rate: 20_000, deadline: time.Now().Add(300 * time.Millisecond),
		maker: newLineMaker(100), stamp: true}
	if err := load.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	sent := load.sent.Load()
	// 300ms at 20,000 lines/s is 6,000 lines; a busy machine sends fewer.
	if sent == 0 || sent > 6_500 {
		t.Errorf("sent %d lines, want at most about 6,000", sent)
	}
	if got := len(lines(load.conns)); uint64(got) != sent {
		t.Errorf("%d lines arrived, %d sent", got, sent)
	}
}

func TestStatsdDatagrams(t *testing.T) {
	l := &statsdLoad{perDatagram: 4, names: 6}
	d := l.datagrams()
	// 4 lines a datagram over 6 names: 3 datagrams cover the names twice.
	if len(d) != 3 {
		t.Fatalf("%d datagrams, want 3: %q", len(d), d)
	}
	names := map[string]int{}
	for _, dg := range d {
		ls := bytes.Split(dg, []byte("\n"))
		if len(ls) != 4 {
			t.Errorf("datagram of %d lines: %q", len(ls), dg)
		}
		for _, line := range ls {
			name, rest, ok := strings.Cut(string(line), ":")
			if !ok || !(strings.HasSuffix(rest, "|c") || strings.HasSuffix(rest, "|ms")) {
				t.Errorf("not a counter or timer: %q", line)
			}
			names[name]++
		}
	}
	if len(names) != 6 {
		t.Errorf("%d names, want 6: %v", len(names), names)
	}
}

func TestStatsdLoadSends(t *testing.T) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l := &statsdLoad{addr: c.LocalAddr().String(), rate: 10_000, duration: 200 * time.Millisecond, perDatagram: 10, names: 100}
	if err := l.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := l.sent.Load(); n == 0 || n > 2_200 || n%10 != 0 {
		t.Errorf("sent %d lines, want whole datagrams of 10 and about 2,000", n)
	}
}

func TestFormatCount(t *testing.T) {
	tests := map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -1500: "-1,500"}
	for in, want := range tests {
		if got := formatCount(in); got != want {
			t.Errorf("formatCount(%v) = %q, want %q", in, got, want)
		}
	}
}
