package tail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
)

// testConfig follows paths quickly, with its state in a temporary
// directory.
func testConfig(t *testing.T, paths ...string) Config {
	cfg := Defaults()
	cfg.Paths = paths
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.PollInterval = config.Duration(5 * time.Millisecond)
	cfg.RotateWait = config.Duration(100 * time.Millisecond)
	cfg.FlushTimeout = config.Duration(50 * time.Millisecond)
	cfg.StateInterval = 0
	cfg.OffsetField = "offset"
	return cfg
}

// run starts an input; the returned func stops it and waits for Run.
func run(t *testing.T, cfg Config, sink input.Sink) (stop func()) {
	t.Helper()
	in, err := New(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, sink) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wait(t *testing.T, sink *inputtest.Sink, n int) []*metlog.Message {
	t.Helper()
	msgs, err := sink.Wait(waitCtx(t), n)
	if err != nil {
		t.Fatalf("%v: got %d messages, want %d: %v", err, len(msgs), n, payloads(msgs))
	}
	return msgs
}

func payloads(msgs []*metlog.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Payload
	}
	return out
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func numbered(from, to int) string {
	var b strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "line %06d\n", i)
	}
	return b.String()
}

func checkNumbered(t *testing.T, msgs []*metlog.Message, from int) {
	t.Helper()
	for i, m := range msgs {
		if want := fmt.Sprintf("line %06d", from+i); m.Payload != want {
			t.Fatalf("message %d: %q, want %q (all: %v)", i, m.Payload, want, payloads(msgs))
		}
	}
}

func TestLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, "first\r\n\nsecond\nthi")
	sink := &inputtest.Sink{}
	run(t, testConfig(t, filepath.Join(dir, "*.log")), sink)
	wait(t, sink, 2)
	appendFile(t, path, "rd\n")
	msgs := wait(t, sink, 3)
	if got := strings.Join(payloads(msgs), "|"); got != "first|second|third" {
		t.Fatalf("payloads %q", got)
	}
	m := msgs[2]
	if m.Type != "logfile" || m.Logger != "app.log" || m.Severity != metlog.Info {
		t.Errorf("envelope %+v", m)
	}
	if f := m.Field("path"); f == nil || f.Strings[0] != path {
		t.Errorf("path field %+v", f)
	}
	if f := m.Field("offset"); f == nil || f.Integers[0] != 15 {
		t.Errorf("offset field %+v, want 15", f)
	}
	for _, o := range sink.Options() {
		if !o.Durable {
			t.Fatal("lines must be delivered durably before their offsets are saved")
		}
	}
}

// TestRestart stops the input and starts it again on the same state:
// nothing is delivered twice, nothing is skipped, also for lines appended
// while it was stopped.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(t, path)
	appendFile(t, path, numbered(0, 100))
	sink := &inputtest.Sink{}
	stop := run(t, cfg, sink)
	checkNumbered(t, wait(t, sink, 100), 0)
	appendFile(t, path, numbered(100, 150)+"line 0001") // a partial line too
	wait(t, sink, 150)
	stop()
	appendFile(t, path, "50\n"+numbered(151, 200))

	sink2 := &inputtest.Sink{}
	run(t, cfg, sink2)
	msgs := wait(t, sink2, 50)
	checkNumbered(t, msgs, 150)
	if all := len(sink.Messages()) + len(sink2.Messages()); all != 200 {
		t.Errorf("%d messages in all, want 200", all)
	}
}

func TestMultiline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(t, path)
	cfg.StartPattern = `^\d{4}-\d\d-\d\d `
	appendFile(t, path, "orphan continuation\n"+
		"2026-11-22 05:00:00 ERROR boom\n"+
		"java.lang.IllegalStateException: x\n"+
		"\tat a.b.C.d(C.java:1)\n"+
		"\n"+
		"2026-11-22 05:00:01 INFO ok\n"+
		"2026-11-22 05:00:02 ERROR last\n"+
		"\tat e.f.G.h(G.java:2)\n")
	sink := &inputtest.Sink{}
	run(t, cfg, sink)
	msgs := wait(t, sink, 4) // the last one by flush_timeout
	want := []string{
		"orphan continuation",
		"2026-11-22 05:00:00 ERROR boom\njava.lang.IllegalStateException: x\n\tat a.b.C.d(C.java:1)\n",
		"2026-11-22 05:00:01 INFO ok",
		"2026-11-22 05:00:02 ERROR last\n\tat e.f.G.h(G.java:2)",
	}
	for i, w := range want {
		if msgs[i].Payload != w {
			t.Errorf("record %d: %q, want %q", i, msgs[i].Payload, w)
		}
	}
	if f := msgs[3].Field("offset"); f == nil || f.Integers[0] != 137 {
		t.Errorf("offset of the last record %+v, want 137", f)
	}
}

func TestEncodings(t *testing.T) {
	utf16 := func(big bool, s string) string {
		var b []byte
		for _, r := range s {
			if r > 0xFFFF {
				r -= 0x10000
				for _, u := range []rune{0xD800 + r>>10, 0xDC00 + r&0x3FF} {
					if big {
						b = append(b, byte(u>>8), byte(u))
					} else {
						b = append(b, byte(u), byte(u>>8))
					}
				}
				continue
			}
			if big {
				b = append(b, byte(r>>8), byte(r))
			} else {
				b = append(b, byte(r), byte(r>>8))
			}
		}
		return string(b)
	}
	for _, tc := range []struct {
		encoding, data string
		want           []string
	}{
		{"utf-8", "\uFEFFcafé\nbad \xff byte\r\n", []string{"café", "bad \uFFFD byte"}},
		{"latin-1", "caf\xe9\n\xa3 5\n", []string{"café", "£ 5"}},
		{"utf-16le", utf16(false, "\uFEFFcafé\r\n😀 x\n"), []string{"café", "😀 x"}},
		{"utf-16be", utf16(true, "\uFEFF\u0a0a\n😀\n"), []string{"\u0a0a", "😀"}},
	} {
		t.Run(tc.encoding, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			appendFile(t, path, tc.data)
			cfg := testConfig(t, path)
			cfg.Encoding = tc.encoding
			sink := &inputtest.Sink{}
			run(t, cfg, sink)
			msgs := wait(t, sink, len(tc.want))
			if got := payloads(msgs); strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMaxLineSize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(t, path)
	cfg.MaxLineSize = 100
	long := strings.Repeat("é", 300) // 600 bytes
	appendFile(t, path, "short\n"+long+"\nafter\n")
	sink := &inputtest.Sink{}
	run(t, cfg, sink)
	msgs := wait(t, sink, 3)
	if msgs[0].Payload != "short" || msgs[2].Payload != "after" {
		t.Errorf("payloads %q", payloads(msgs))
	}
	if p := msgs[1].Payload; p != strings.Repeat("é", 50) {
		t.Errorf("cut line %q (%d bytes)", p, len(p))
	}
	if f := msgs[1].Field("truncated"); f == nil || !f.Bools[0] {
		t.Errorf("no truncated field: %+v", msgs[1].Fields)
	}
	if msgs[2].Field("truncated") != nil {
		t.Error("the next line is not truncated")
	}
}

// TestTruncateAndRename rotates by hand: a truncation in place
// (copytruncate without the copy), then a rename and a new file.
func TestTruncateAndRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, numbered(0, 10))
	sink := &inputtest.Sink{}
	run(t, testConfig(t, path), sink)
	wait(t, sink, 10)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, numbered(10, 12))
	wait(t, sink, 12)
	// Truncated and rewritten past the old offset between two polls: the
	// fingerprint tells.
	if err := os.WriteFile(path+".new", []byte(numbered(12, 40)), 0o644); err != nil {
		t.Fatal(err)
	}
	wait(t, sink, 12)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path+".1", numbered(12, 20)) // the writer still had it open
	appendFile(t, path, numbered(20, 30))
	msgs := wait(t, sink, 30)
	checkNumbered(t, msgs[:12], 0)
	got := map[string]int{}
	for _, m := range msgs {
		got[m.Payload]++
	}
	for i := range 30 {
		if n := got[fmt.Sprintf("line %06d", i)]; n != 1 {
			t.Errorf("line %d delivered %d times", i, n)
		}
	}
}

func TestReplacedContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, "old content line one\nold content line two\n")
	sink := &inputtest.Sink{}
	run(t, testConfig(t, path), sink)
	wait(t, sink, 2)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Same inode, same size or more, other first bytes.
	if _, err := f.WriteAt([]byte("NEW content line one\nNEW content line two\nthree\n"), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	msgs := wait(t, sink, 5)
	if got := strings.Join(payloads(msgs[2:]), "|"); got != "NEW content line one|NEW content line two|three" {
		t.Errorf("after the rewrite: %q", got)
	}
}

func TestFormats(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, `{"Timestamp":1795312169187000000,"Logger":"fxa","Type":"routes.op","Severity":3,"Fields":{"a":1}}`+"\n"+
		`{"type":"timer","logger":"py","payload":"17"}`+"\n"+
		"plain text\n")
	for _, tc := range []struct {
		format string
		want   []string // types
	}{
		{"auto", []string{"routes.op", "timer", "logfile"}},
		{"heka-json", []string{"routes.op", "timer"}}, // lowercase keys stay metlog's
		{"metlog-json", []string{"", "timer"}},
		{"text", []string{"logfile", "logfile", "logfile"}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			cfg := testConfig(t, path)
			cfg.Format = tc.format
			sink := &inputtest.Sink{}
			run(t, cfg, sink)
			msgs := wait(t, sink, len(tc.want))
			for i, w := range tc.want {
				if msgs[i].Type != w {
					t.Errorf("message %d: type %q, want %q", i, msgs[i].Type, w)
				}
			}
			if f := msgs[0].Field("path"); f == nil {
				t.Error("no path field on a JSON line")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	cfg := Defaults()
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "paths") {
		t.Errorf("no paths: %v", err)
	}
	cfg.Paths = []string{"["}
	cfg.Encoding = "ebcdic"
	cfg.StartPattern = "("
	cfg.Format = "xml"
	err := cfg.Validate()
	for _, want := range []string{"glob", "encoding", "start_pattern", "format"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

// TestCopyTruncateSmall does by hand what copytruncate does to a file
// shorter than a fingerprint, the copy appearing after the truncation: the
// copy is recognised by the original's head before it was truncated, and
// nothing is read twice.
func TestCopyTruncateSmall(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, numbered(0, 3))
	sink := &inputtest.Sink{}
	run(t, testConfig(t, filepath.Join(dir, "app.log*")), sink)
	wait(t, sink, 3)
	appendFile(t, path, numbered(3, 5)) // not read yet, maybe
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, numbered(5, 7))
	wait(t, sink, 5) // 0-2 and 5-6 at least
	if err := os.WriteFile(path+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, numbered(7, 8))
	wait(t, sink, 6)
	// Lines 3 and 4 come from the original or from the copy, once.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	msgs, _ := sink.Wait(ctx, 9)
	got := map[string]int{}
	for _, m := range msgs {
		got[m.Payload]++
	}
	for i := range 8 {
		if n := got[fmt.Sprintf("line %06d", i)]; n != 1 {
			t.Errorf("line %d delivered %d times: %v", i, n, payloads(msgs))
		}
	}
}

// failingSink fails its first deliveries, as a journal with a full disk
// might.
type failingSink struct {
	inputtest.Sink
	mu    sync.Mutex
	fails int
}

func (s *failingSink) Deliver(ctx context.Context, msgs []*metlog.Message, opts input.DeliverOptions) error {
	s.mu.Lock()
	fail := s.fails > 0
	s.fails--
	s.mu.Unlock()
	if fail {
		return errors.New("disk full")
	}
	return s.Sink.Deliver(ctx, msgs, opts)
}

func TestDeliveryRetried(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, numbered(0, 50))
	sink := &failingSink{fails: 3}
	cfg := testConfig(t, path)
	cfg.Batch = 16
	run(t, cfg, sink)
	checkNumbered(t, wait(t, &sink.Sink, 50), 0)
}

func TestCorruptState(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, filepath.Join(dir, "*.log"))
	in, err := New(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in.state.path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = in.Run(context.Background(), &inputtest.Sink{})
	if err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("Run with a corrupt state file: %v", err)
	}
}

// TestRotatedWhileStopped renames the file while the input is stopped:
// with a glob matching the rotated name, the rest of the old file is read
// from the saved offset and the new file from its start.
func TestRotatedWhileStopped(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	cfg := testConfig(t, filepath.Join(dir, "app.log*"))
	appendFile(t, path, numbered(0, 30))
	sink := &inputtest.Sink{}
	stop := run(t, cfg, sink)
	wait(t, sink, 30)
	stop()
	appendFile(t, path, numbered(30, 40))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, numbered(40, 50))
	sink2 := &inputtest.Sink{}
	run(t, cfg, sink2)
	msgs := wait(t, sink2, 20)
	got := map[string]int{}
	for _, m := range msgs {
		got[m.Payload]++
	}
	for i := 30; i < 50; i++ {
		if n := got[fmt.Sprintf("line %06d", i)]; n != 1 {
			t.Errorf("line %d delivered %d times after the restart: %v", i, n, payloads(msgs))
		}
	}
}

// poller follows files with polls made by the test, so that files can
// change between two of them as they would on a busy machine.
type poller struct {
	t    *testing.T
	tl   *tailer
	sink *inputtest.Sink
}

func newPoller(t *testing.T, paths ...string) *poller {
	t.Helper()
	cfg := testConfig(t, paths...)
	cfg.RotateWait = config.Duration(time.Hour) // partial lines wait for their copy
	in, err := New(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := in.state.load(); err != nil {
		t.Fatal(err)
	}
	p := &poller{t: t, sink: &inputtest.Sink{}}
	p.tl = newTailer(in, p.sink)
	t.Cleanup(p.tl.closeAll)
	return p
}

func (p *poller) poll() {
	for p.tl.poll(context.Background()) {
	}
}

// logFile returns the path of app.log, holding content, in a new
// directory.
func logFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.log")
	appendFile(t, path, content)
	return path
}

// copyTruncate does what logrotate's copytruncate does: app.log.N becomes
// app.log.N+1, app.log is copied to app.log.1 and truncated.
func copyTruncate(t *testing.T, path string) {
	t.Helper()
	for n := 8; n >= 1; n-- {
		if err := os.Rename(fmt.Sprintf("%s.%d", path, n), fmt.Sprintf("%s.%d", path, n+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

// checkOnce checks that lines from..to-1 were each delivered once, and
// nothing else.
func checkOnce(t *testing.T, msgs []*metlog.Message, from, to int) {
	t.Helper()
	got := map[string]int{}
	for _, m := range msgs {
		got[m.Payload]++
	}
	for i := from; i < to; i++ {
		line := fmt.Sprintf("line %06d", i)
		if got[line] != 1 {
			t.Errorf("%s delivered %d times", line, got[line])
		}
		delete(got, line)
	}
	if len(got) > 0 {
		t.Errorf("unexpected records: %v", got)
	}
}

// TestCopyTruncateLateCopy finds the copy of a file's content only after
// the file was truncated twice more (the copy was still empty at the first
// poll after its truncation; two rotations came between the next two
// polls): each copy is read from where the original was, once.
func TestCopyTruncateLateCopy(t *testing.T) {
	path := logFile(t, numbered(0, 100))
	p := newPoller(t, path+"*")
	p.poll()
	appendFile(t, path, numbered(100, 120)) // not read before the copy
	gen1, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	appendFile(t, path+".1", "") // logrotate has created the copy, not filled it
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, numbered(120, 150))
	p.poll()
	appendFile(t, path+".1", string(gen1))
	appendFile(t, path, numbered(150, 170)) // not read before the copy
	copyTruncate(t, path)
	appendFile(t, path, numbered(170, 200))
	copyTruncate(t, path)
	appendFile(t, path, numbered(200, 210))
	p.poll()
	checkOnce(t, p.sink.Messages(), 0, 210)
}

// TestCopyTruncateShortHead rotates a file shorter than a fingerprint
// twice: its copy, with more than it had when it was read, is still known
// as a copy.
func TestCopyTruncateShortHead(t *testing.T) {
	path := logFile(t, numbered(0, 100))
	p := newPoller(t, path+"*")
	p.poll()
	copyTruncate(t, path)
	appendFile(t, path, numbered(100, 110)) // 120 bytes: a short head
	p.poll()
	appendFile(t, path, numbered(110, 150)) // not read before the copy
	copyTruncate(t, path)
	p.poll()
	checkOnce(t, p.sink.Messages(), 0, 150)
}

// TestCopyTruncatePartialLine truncates a file while its last line is
// half written: the copy has the whole line, and it is delivered whole,
// once.
func TestCopyTruncatePartialLine(t *testing.T) {
	path := logFile(t, numbered(0, 30)+"line 00")
	p := newPoller(t, path+"*")
	p.poll()
	appendFile(t, path, "0030\n")
	copyTruncate(t, path)
	appendFile(t, path, numbered(31, 40))
	p.poll()
	checkOnce(t, p.sink.Messages(), 0, 40)
}

// TestTruncatedPartialLine truncates a file in the middle of its last
// line with no copy made: what was read of the line is delivered as it is,
// after rotate_wait.
func TestTruncatedPartialLine(t *testing.T) {
	path := logFile(t, numbered(0, 30)+"line 00")
	p := newPoller(t, path)
	p.poll()
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, numbered(30, 40))
	p.poll()
	msgs := p.sink.Messages()
	checkOnce(t, msgs, 0, 40)
	p.tl.in.cfg.RotateWait = 0
	p.poll()
	msgs = p.sink.Messages()
	if last := msgs[len(msgs)-1]; last.Payload != "line 00" || len(msgs) != 41 {
		t.Errorf("got %d records, the last %q; want 41, the last \"line 00\"", len(msgs), last.Payload)
	}
}
