package router

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
	"github.com/metlog/metlog/config"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// startRouter runs a router on cfgText until the test ends.
func startRouter(t *testing.T, cfgText string) *Router {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte(cfgText), Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, Options{Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// waitFor polls cond until it holds; the router offers no signal for "the
// output has written n messages", so tests poll its status.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readJSONLines(t *testing.T, path string) []*metlog.Message {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*metlog.Message
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m metlog.Message
		if err := metlogjson.Decode(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, &m)
	}
	return out
}

// Every metlog-py capture sent over UDP reaches a metlog-json file output
// with nothing lost.
func TestCapturesOverUDPToFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "all.json")
	r := startRouter(t, `
[router]
data_dir = "`+dir+`"
http = ""
[input.udp]
address = "127.0.0.1:0"
[output.all]
type = "file"
format = "metlog-json"
path = "`+out+`"
`)
	files, _ := filepath.Glob("../../shared/interop/metlog-py/*.json")
	if len(files) == 0 {
		files, _ = filepath.Glob("../codec/metlogjson/testdata/*.json")
	}
	var want []*metlog.Message
	conn, err := net.Dial("udp", r.InputAddr("udp").String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var m metlog.Message
		if metlogjson.Decode(b, &m) != nil || m.Type == "" {
			continue // not a capture
		}
		want = append(want, &m)
		conn.Write(b)
		n := len(want)
		waitFor(t, "delivery", func() bool { return r.Status().Outputs["all"].Delivered >= uint64(n) })
	}
	if len(want) < 30 {
		t.Fatalf("%d captures", len(want))
	}
	got := readJSONLines(t, out)
	if len(got) != len(want) {
		t.Fatalf("file has %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].UUID.IsZero() {
			t.Errorf("message %d has no UUID", i)
		}
		want[i].UUID = got[i].UUID // assigned by the router
		if !got[i].Equal(want[i]) {
			t.Errorf("message %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// An output whose endpoint accepts connections but never acknowledges is
// stuck; another output keeps delivering at full rate meanwhile, and the
// stuck one catches up once its endpoint works.
func TestStuckOutputDoesNotDelayOthers(t *testing.T) {
	dir := t.TempDir()
	stuck, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	go func() {
		for {
			c, err := stuck.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // never read, never ack
		}
	}()
	defer stuck.Close()

	r := startRouter(t, `
[router]
data_dir = "`+dir+`"
http = ""
shutdown_timeout = "200ms"
[input.tcp]
address = "127.0.0.1:0"
[output.fast]
type = "file"
format = "text"
template = "{payload}"
path = "`+filepath.Join(dir, "fast.log")+`"
[output.forward]
type = "tcp"
address = "`+stuck.Addr().String()+`"
timeout = "60s"
`)
	conn, err := net.Dial("tcp", r.InputAddr("tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const n = 20000
	var buf bytes.Buffer
	for i := range n {
		buf.WriteString(`{"type": "t", "payload": "` + strings.Repeat("x", i%50) + `"}` + "\n")
	}
	start := time.Now()
	conn.Write(buf.Bytes())
	waitFor(t, "the fast output", func() bool { return r.Status().Outputs["fast"].Delivered == n })
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("fast output took %v with the other stuck", d)
	}
	st := r.Status().Outputs["forward"]
	if st.Delivered != 0 {
		t.Errorf("stuck output delivered %d", st.Delivered)
	}
	if st.LagRecords != n {
		t.Errorf("stuck output lag %d, want %d", st.LagRecords, n)
	}
}

func TestStatusAndMetrics(t *testing.T) {
	dir := t.TempDir()
	r := startRouter(t, `
[router]
data_dir = "`+dir+`"
http = "127.0.0.1:0"
[input.udp]
address = "127.0.0.1:0"
[output.null]
type = "file"
path = "`+filepath.Join(dir, "x.log")+`"
`)
	c, _ := net.Dial("udp", r.InputAddr("udp").String())
	c.Write([]byte(`{"type": "x"}`))
	c.Write([]byte(`not json`))
	c.Close()
	waitFor(t, "delivery", func() bool { return r.Status().Outputs["null"].Delivered == 1 })
	waitFor(t, "the reject", func() bool { return r.Status().Inputs["udp"].Rejected["malformed"] == 1 })

	base := "http://" + r.HTTPAddr().String()
	resp, err := http.Get(base + "/api/status")
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Inputs["udp"].Received != 1 || st.Outputs["null"].Delivered != 1 || st.Journal.Appended != 1 {
		t.Errorf("status %+v", st)
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`metlog_input_received_total{input="udp",type="udp"} 1`,
		`metlog_input_rejected_total{input="udp",reason="malformed",type="udp"} 1`,
		`metlog_output_delivered_total{output="null",type="file"} 1`,
		`metlog_output_lag_records{output="null",type="file"} 0`,
		`metlog_journal_appended_total 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// A reload adds an output, which starts from the oldest record the journal
// holds; an unchanged input keeps its socket.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	base := `
[router]
data_dir = "` + dir + `"
http = ""
[input.udp]
address = "127.0.0.1:0"
[output.a]
type = "file"
template = "{payload}"
path = "` + filepath.Join(dir, "a.log") + `"
`
	r := startRouter(t, base)
	addr := r.InputAddr("udp")
	c, _ := net.Dial("udp", addr.String())
	defer c.Close()
	c.Write([]byte(`{"payload": "one"}`))
	waitFor(t, "a", func() bool { return r.Status().Outputs["a"].Delivered == 1 })

	cfg, err := config.Parse("test.toml", []byte(base+`
[output.b]
type = "file"
template = "{payload}"
path = "`+filepath.Join(dir, "b.log")+`"
`), Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	if r.InputAddr("udp").String() != addr.String() {
		t.Error("unchanged input was restarted")
	}
	c.Write([]byte(`{"payload": "two"}`))
	waitFor(t, "b", func() bool { return r.Status().Outputs["b"].Delivered == 2 })
	waitFor(t, "a", func() bool { return r.Status().Outputs["a"].Delivered == 2 })
	b, _ := os.ReadFile(filepath.Join(dir, "b.log"))
	if string(b) != "one\ntwo\n" {
		t.Errorf("b.log = %q", b)
	}
}

func TestLiveTail(t *testing.T) {
	dir := t.TempDir()
	r := startRouter(t, `
[router]
data_dir = "`+dir+`"
http = "127.0.0.1:0"
[input.http]
`)
	base := "http://" + r.HTTPAddr().String()
	resp, err := http.Get(base + "/api/stream?match=" + "Type%20%3D%3D%20'wanted'")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Scan() // the comment line: subscribed
	post, err := http.Post(base+"/v1/messages", "application/x-ndjson",
		strings.NewReader(`{"type": "other"}`+"\n"+`{"type": "wanted", "payload": "yes"}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var m metlog.Message
			if err := metlogjson.Decode([]byte(data), &m); err != nil {
				t.Fatal(err)
			}
			if m.Type != "wanted" || m.Payload != "yes" {
				t.Errorf("got %+v", m)
			}
			return
		}
	}
	t.Fatal("stream ended", sc.Err())
}

func TestLiveTailBadMatcher(t *testing.T) {
	r := startRouter(t, "[router]\ndata_dir = \""+t.TempDir()+"\"\nhttp = \"127.0.0.1:0\"\n")
	resp, err := http.Get("http://" + r.HTTPAddr().String() + "/api/stream?match=Type%20%3D%3D")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "column") {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
}

func TestHTTPPathConflict(t *testing.T) {
	cfg, err := config.Parse("t.toml", []byte(`
[router]
data_dir = "`+t.TempDir()+`"
http = "127.0.0.1:0"
[input.a]
type = "http"
[input.b]
type = "http"
`), Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(cfg, Options{Logger: discard})
	if err == nil || !strings.Contains(err.Error(), "router http") {
		t.Errorf("err = %v, want a conflict", err)
	}
}

// When the slowest output lags by journal_max_bytes, TCP stops reading (the
// sender blocks), UDP drops and counts, and HTTP answers 503.
func TestBackpressure(t *testing.T) {
	dir := t.TempDir()
	stuck, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	go func() {
		var held []net.Conn
		for {
			c, err := stuck.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c) // never acknowledges
		}
	}()
	r := startRouter(t, `
[router]
data_dir = "`+dir+`"
http = "127.0.0.1:0"
journal_max_bytes = 1048576
shutdown_timeout = "200ms"
[input.udp]
address = "127.0.0.1:0"
[input.tcp]
address = "127.0.0.1:0"
batch = 1
[input.http]
full_timeout = "200ms"
[output.slow]
type = "tcp"
address = "`+stuck.Addr().String()+`"
timeout = "1h"
batch_size = 1
`)
	// A TCP sender writes 32 MiB; the router stops reading after about 1
	// (socket buffers hold a few more). One message per append, so the
	// journal fills to within a message of its limit.
	conn, err := net.Dial("tcp", r.InputAddr("tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	line := `{"type": "t", "payload": "` + strings.Repeat("x", 1000) + `"}` + "\n"
	sent := make(chan int, 1)
	go func() {
		n := 0
		for range 32768 {
			if _, err := io.WriteString(conn, line); err != nil {
				break
			}
			n++
		}
		sent <- n
	}()
	waitFor(t, "the journal to fill", func() bool {
		st := r.Status()
		return st.Outputs["slow"].LagBytes >= 1<<20-4096
	})
	select {
	case n := <-sent:
		t.Fatalf("the TCP sender wrote all %d lines: no backpressure", n)
	default: // blocked, as it should be
	}
	udp, _ := net.Dial("udp", r.InputAddr("udp").String())
	defer udp.Close()
	// Larger than the room left: what is left is less than one of the TCP
	// sender's batches.
	big := strings.Repeat("y", 60000)
	udp.Write([]byte(`{"type": "u", "payload": "` + big + `"}`))
	waitFor(t, "the UDP drop", func() bool { return r.Status().Inputs["udp"].Dropped == 1 })
	resp, err := http.Post("http://"+r.HTTPAddr().String()+"/v1/messages", "application/x-ndjson",
		strings.NewReader(`{"type": "h", "payload": "`+big+`"}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("HTTP with a full journal: %d, want 503 with Retry-After", resp.StatusCode)
	}
	if st := r.Status(); st.Journal.Bytes > 3<<20 {
		t.Errorf("journal holds %d bytes, limit 1 MiB plus a segment", st.Journal.Bytes)
	}
	conn.Close()
	<-sent
}

func TestMemoryJournal(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse("t.toml", []byte(`
[router]
data_dir = "`+filepath.Join(dir, "never-created")+`"
http = ""
[input.udp]
address = "127.0.0.1:0"
[output.f]
type = "file"
template = "{payload}"
path = "`+filepath.Join(dir, "f.log")+`"
`), Catalog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(cfg, Options{Logger: discard, Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	c, _ := net.Dial("udp", r.InputAddr("udp").String())
	c.Write([]byte(`{"payload": "in memory"}`))
	c.Close()
	waitFor(t, "delivery", func() bool { return r.Status().Outputs["f"].Delivered == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "never-created")); !os.IsNotExist(err) {
		t.Errorf("the memory journal touched data_dir: %v", err)
	}
}
