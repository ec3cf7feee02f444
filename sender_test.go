package metlog_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

func flush(t *testing.T, c *metlog.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// emitLikeMetlogPy makes the calls of the metlog-py captures in
// testdata/metlog-py, in the order of want.
func emitLikeMetlogPy(c *metlog.Client) {
	c.Incr("page_views")
	c.Count("bytes_in", 42, metlog.String("region", "us-west"))
	c.Timing("db_query", 12*time.Millisecond, metlog.String("table", "users"))
	c.Info("user bob logged in from 10.0.0.1")
	c.Critical("critical thing")
	c.Event("services").Logger("syncstorage").Severity(metlog.Error).Payload("foo").
		Send(metlog.Int("userid", 25), metlog.Int("req_time", 4))
}

var metlogPyCaptures = []string{
	"04-incr-default.json",
	"05-incr-count-fields.json",
	"07-timer-context.json",
	"10-oldstyle-info-args.json",
	"13-oldstyle-critical.json",
	"02-metlog-all-args.json",
}

// checkLikeMetlogPy compares a metlog JSON message with metlog-py's capture
// of the same call: the same keys holding the same kinds of JSON values, and
// the same values except where they must differ (time, host, pid). Our
// client also writes the message's "uuid", which metlog-py does not have.
func checkLikeMetlogPy(t *testing.T, capture string, got []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "metlog-py", capture))
	if err != nil {
		t.Fatal(err)
	}
	var want, have map[string]any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &have); err != nil {
		t.Fatalf("%s: our message is not JSON: %v\n%s", capture, err, got)
	}
	if _, ok := have["uuid"].(string); !ok {
		t.Errorf("%s: no uuid in %s", capture, got)
	}
	delete(have, "uuid")
	if k1, k2 := keys(want), keys(have); !reflect.DeepEqual(k1, k2) {
		t.Errorf("%s: keys %v, metlog-py has %v", capture, k2, k1)
	}
	for k, w := range want {
		h := have[k]
		if reflect.TypeOf(w) != reflect.TypeOf(h) {
			t.Errorf("%s: %s is %T, metlog-py has %T", capture, k, h, w)
			continue
		}
		switch k {
		case "timestamp":
			if _, err := time.Parse("2006-01-02T15:04:05.000000Z", h.(string)); err != nil {
				t.Errorf("%s: timestamp %q not in metlog-py's layout", capture, h)
			}
		case "metlog_hostname", "metlog_pid":
		case "severity":
			if capture == "05-incr-count-fields.json" {
				continue // metlog-py passed severity=7; our counters take the client's
			}
			fallthrough
		case "logger":
			if capture != "02-metlog-all-args.json" {
				continue // the captures' app was "interop-app"
			}
			fallthrough
		default:
			if !reflect.DeepEqual(w, h) {
				t.Errorf("%s: %s = %v, metlog-py has %v", capture, k, h, w)
			}
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestUDPSenderSpeaksMetlogJSON(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := metlog.Dial("udp://"+pc.LocalAddr().String(), metlog.WithLogger("interop-app"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	emitLikeMetlogPy(c)
	flush(t, c)
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for _, capture := range metlogPyCaptures {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		checkLikeMetlogPy(t, capture, buf[:n])
	}
}

func TestUDPSenderHekaFormat(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := metlog.Dial("udp://"+pc.LocalAddr().String()+"?format=heka", metlog.WithLogger("app"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Incr("page_views", metlog.String("k", "v"))
	flush(t, c)
	buf := make([]byte, 65536)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	var rec heka.Record
	if err := heka.SplitDatagram(buf[:n], &rec); err != nil {
		t.Fatal(err)
	}
	var m metlog.Message
	if err := heka.Unmarshal(rec.Message, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "counter" || m.Payload != "1" || m.Logger != "app" || m.UUID.IsZero() ||
		m.Field("name").Value(0) != "page_views" || m.Field("k").Value(0) != "v" {
		t.Errorf("decoded %+v", m)
	}
}

func TestUDPSenderCountsOversizedMessages(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := metlog.Dial("udp://" + pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Event("big").Payload(strings.Repeat("x", 70000)).Send()
	c.Incr("small")
	flush(t, c)
	if st := c.Stats(); st.Failed != 1 || st.Sent != 1 {
		t.Errorf("stats %+v, want the big one failed and the small one sent", st)
	}
}

// streamListener accepts one connection at a time and decodes the heka or
// JSON-lines stream it carries into got, from a goroutine the test owns.
type streamListener struct {
	ln   net.Listener
	got  chan metlog.Message
	done chan struct{}
}

func listenStream(t *testing.T, network, addr string, jsonLines bool) *streamListener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &streamListener{ln: ln, got: make(chan metlog.Message, 10000), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if jsonLines {
				s.readJSON(t, conn)
			} else {
				s.readHeka(t, conn)
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-s.done
	})
	return s
}

func (s *streamListener) readHeka(t *testing.T, conn net.Conn) {
	r := heka.NewReader(conn, 0)
	for {
		rec, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("stream: %v", err)
			}
			return
		}
		var m metlog.Message
		if err := heka.Unmarshal(rec.Message, &m); err != nil {
			t.Errorf("record: %v", err)
			return
		}
		s.got <- m
	}
}

func (s *streamListener) readJSON(t *testing.T, conn net.Conn) {
	sc := bufio.NewScanner(conn)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v struct {
			Type    string
			Payload string
			Logger  string
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Errorf("line %q: %v", sc.Text(), err)
			return
		}
		s.got <- metlog.Message{Type: v.Type, Payload: v.Payload, Logger: v.Logger}
	}
}

func (s *streamListener) expect(t *testing.T, n int) []metlog.Message {
	t.Helper()
	var out []metlog.Message
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case m := <-s.got:
			out = append(out, m)
		case <-timeout:
			t.Fatalf("got %d of %d messages", len(out), n)
		}
	}
	return out
}

func TestStreamSenders(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "metlog.sock")
	tests := []struct {
		name, network, addr string
		target              func(addr string) string
		jsonLines           bool
	}{
		{"tcp heka", "tcp", "127.0.0.1:0", func(a string) string { return "tcp://" + a }, false},
		{"tcp json", "tcp", "127.0.0.1:0", func(a string) string { return "tcp://" + a + "?format=json" }, true},
		{"unix heka", "unix", sock, func(a string) string { return "unix://" + a }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := listenStream(t, tt.network, tt.addr, tt.jsonLines)
			c, err := metlog.Dial(tt.target(l.ln.Addr().String()), metlog.WithLogger("stream"))
			if err != nil {
				t.Fatal(err)
			}
			const n = 1000
			for i := range n {
				c.Count("n", int64(i))
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			msgs := l.expect(t, n)
			for i, m := range msgs {
				if m.Type != "counter" || m.Payload != strconv.Itoa(i) || m.Logger != "stream" {
					t.Fatalf("message %d: %+v", i, m)
				}
			}
			if st := c.Stats(); st.Sent != n || st.Dropped != 0 || st.Failed != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestStreamSenderRouterDown(t *testing.T) {
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	c, err := metlog.Dial("tcp://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	for range 100 {
		c.Incr("lost")
	}
	flush(t, c)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("sending to a dead router took %v", took)
	}
	if st := c.Stats(); st.Failed != 100 || st.Sent != 0 {
		t.Errorf("stats %+v, want 100 failed", st)
	}

	// The router comes back: the sender reconnects once its backoff (a
	// fraction of a second) has passed.
	l := listenStream(t, "tcp", addr, false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.Incr("again")
		flush(t, c)
		select {
		case m := <-l.got:
			if m.Type != "counter" {
				t.Errorf("got %+v", m)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconnection; stats %+v", c.Stats())
		}
		time.Sleep(20 * time.Millisecond) // the backoff is time-based
	}
}

func TestFileSender(t *testing.T) {
	path := filepath.Join(t.TempDir(), "messages.json")
	for round := range 2 { // the second round appends
		c, err := metlog.Dial("file://"+path, metlog.WithLogger("interop-app"))
		if err != nil {
			t.Fatal(err)
		}
		emitLikeMetlogPy(c)
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if want := (round + 1) * len(metlogPyCaptures); len(lines) != want {
			t.Fatalf("round %d: %d lines, want %d", round, len(lines), want)
		}
		for i, capture := range metlogPyCaptures {
			checkLikeMetlogPy(t, capture, []byte(lines[round*len(metlogPyCaptures)+i]))
		}
	}
}

func TestStdoutSender(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	c, err := metlog.Dial("stdout:")
	os.Stdout = stdout
	if err != nil {
		t.Fatal(err)
	}
	c.Info("to stdout")
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil || v["payload"] != "to stdout" {
		t.Errorf("stdout got %q (%v)", data, err)
	}
}

func TestDialTargets(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		target string
		err    string // empty: valid
	}{
		{"udp://127.0.0.1:5565", ""},
		{"udp://localhost", ""},
		{"udp://[::1]:5565?format=heka", ""},
		{"tcp://127.0.0.1:5565?format=json", ""},
		{"unix:///run/metlog.sock", ""},
		{"stdout:", ""},
		{"stdout:?format=heka", ""},
		{"file://" + filepath.Join(dir, "a.log"), ""},
		{"127.0.0.1:5565", "no scheme"},
		{"localhost", "no scheme"},
		{"http://x", "unknown scheme"},
		{"udp://", "no host"},
		{"unix://", "no socket path"},
		{"file://", "no file path"},
		{"file://" + filepath.Join(dir, "missing", "a.log"), "no such file"},
		{"tcp://h:1?format=xml", "unknown format"},
		{"tcp://h:1?timeout=3", "unknown parameter"},
		{"udp://%zz", "invalid URL escape"},
	}
	for _, tt := range tests {
		s, err := metlog.NewSender(tt.target)
		if tt.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.target, err)
				continue
			}
			s.Close()
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: error %v, want %q", tt.target, err, tt.err)
		}
	}
}

func TestDialTargetFromEnvironment(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	t.Setenv("METLOG_TARGET", "udp://"+pc.LocalAddr().String())
	c, err := metlog.Dial("")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Incr("via env")
	flush(t, c)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := pc.ReadFrom(make([]byte, 65536)); err != nil {
		t.Fatal(err)
	}
}
