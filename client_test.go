package metlog

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// newTestClient returns a client on a memory sender, closed when the test
// ends.
func newTestClient(t testing.TB, opts ...Option) (*Client, *MemorySender) {
	t.Helper()
	mem := NewMemorySender()
	c := New(mem, append([]Option{WithLogger("test"), WithHostname("host")}, opts...)...)
	t.Cleanup(func() { c.Close() })
	return c, mem
}

// flushed waits for everything queued and returns what the sender got.
func flushed(t testing.TB, c *Client, mem *MemorySender) []*Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	return mem.Messages()
}

// fieldValue returns the first value of the field called name, or nil.
func fieldValue(m *Message, name string) any {
	f := m.Field(name)
	if f == nil {
		return nil
	}
	return f.Value(0)
}

func TestMessageShapes(t *testing.T) {
	type want struct {
		typ, payload, logger string
		sev                  Severity
		fields               map[string]any // first value of each field, all fields listed
	}
	tests := []struct {
		name string
		call func(c *Client)
		want want
	}{
		{"incr", func(c *Client) { c.Incr("page_views") },
			want{TypeCounter, "1", "test", Info, map[string]any{"name": "page_views", "rate": 1.0}}},
		{"count with fields", func(c *Client) { c.Count("bytes_in", 42, String("region", "us-west")) },
			want{TypeCounter, "42", "test", Info, map[string]any{"name": "bytes_in", "rate": 1.0, "region": "us-west"}}},
		{"counter keeps its own name and rate", func(c *Client) { c.Incr("x", String("name", "y"), Float("rate", 9)) },
			want{TypeCounter, "1", "test", Info, map[string]any{"name": "x", "rate": 1.0}}},
		{"sampled count at rate 1", func(c *Client) { c.SampledCount("n", 3, 1) },
			want{TypeCounter, "3", "test", Info, map[string]any{"name": "n", "rate": 1.0}}},
		{"gauge", func(c *Client) { c.Gauge("temperature", 21.5) },
			want{TypeGauge, "21.5", "test", Info, map[string]any{"name": "temperature"}}},
		{"gauge integer", func(c *Client) { c.Gauge("conns", 1e6) },
			want{TypeGauge, "1000000", "test", Info, map[string]any{"name": "conns"}}},
		{"timing", func(c *Client) { c.Timing("explicit_timer", 250*time.Millisecond, String("x", "y")) },
			want{TypeTimer, "250", "test", Info, map[string]any{"name": "explicit_timer", "rate": 1.0, "x": "y"}}},
		{"timing truncates to ms", func(c *Client) { c.Timing("t", 1999*time.Microsecond) },
			want{TypeTimer, "1", "test", Info, map[string]any{"name": "t", "rate": 1.0}}},
		{"metlog defaults", func(c *Client) { c.Metlog("custom") },
			want{"custom", "", "test", Info, map[string]any{}}},
		{"metlog fields", func(c *Client) { c.Metlog("custom", String("a", "b"), Int("n", 1)) },
			want{"custom", "", "test", Info, map[string]any{"a": "b", "n": int64(1)}}},
		{"event overrides", func(c *Client) {
			c.Event("services").Logger("syncstorage").Severity(Error).Payload("foo").Send(Int("userid", 25))
		}, want{"services", "foo", "syncstorage", Error, map[string]any{"userid": int64(25)}}},
		{"log", func(c *Client) { c.Info("user logged in", String("user", "bob")) },
			want{TypeOldstyle, "user logged in", "test", Info, map[string]any{"user": "bob"}}},
		{"log at severity", func(c *Client) { c.Log(Notice, "n") },
			want{TypeOldstyle, "n", "test", Notice, map[string]any{}}},
		{"emergency", func(c *Client) { c.Emergency("e") }, want{TypeOldstyle, "e", "test", Emergency, map[string]any{}}},
		{"alert", func(c *Client) { c.Alert("a") }, want{TypeOldstyle, "a", "test", Alert, map[string]any{}}},
		{"critical", func(c *Client) { c.Critical("c") }, want{TypeOldstyle, "c", "test", Critical, map[string]any{}}},
		{"error", func(c *Client) { c.Error("e") }, want{TypeOldstyle, "e", "test", Error, map[string]any{}}},
		{"warning", func(c *Client) { c.Warning("w") }, want{TypeOldstyle, "w", "test", Warning, map[string]any{}}},
		{"notice", func(c *Client) { c.Notice("n") }, want{TypeOldstyle, "n", "test", Notice, map[string]any{}}},
		{"info", func(c *Client) { c.Info("i") }, want{TypeOldstyle, "i", "test", Info, map[string]any{}}},
		{"debug", func(c *Client) { c.Debug("d") }, want{TypeOldstyle, "d", "test", Debug, map[string]any{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mem := newTestClient(t)
			before := time.Now()
			tt.call(c)
			msgs := flushed(t, c, mem)
			after := time.Now()
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			w := tt.want
			if m.Type != w.typ || m.Payload != w.payload || m.Logger != w.logger || m.Severity != w.sev {
				t.Errorf("got type %q payload %q logger %q severity %v, want %q %q %q %v",
					m.Type, m.Payload, m.Logger, m.Severity, w.typ, w.payload, w.logger, w.sev)
			}
			if len(m.Fields) != len(w.fields) {
				t.Errorf("got %d fields %+v, want %d", len(m.Fields), m.Fields, len(w.fields))
			}
			for name, v := range w.fields {
				if got := fieldValue(m, name); got != v {
					t.Errorf("field %s = %#v, want %#v", name, got, v)
				}
			}
			if m.EnvVersion != "0.8" || m.Pid != int32(os.Getpid()) || m.Hostname != "host" {
				t.Errorf("envelope: env_version %q pid %d hostname %q", m.EnvVersion, m.Pid, m.Hostname)
			}
			ts := m.Time()
			if ts.Before(before.Truncate(time.Microsecond).Add(-time.Millisecond)) || ts.After(after.Add(time.Millisecond)) {
				t.Errorf("timestamp %v not within [%v, %v]", ts, before, after)
			}
			if m.Timestamp%1000 != 0 {
				t.Errorf("timestamp %d not truncated to microseconds", m.Timestamp)
			}
			if m.UUID[6]>>4 != 7 || m.UUID[8]>>6 != 2 {
				t.Errorf("UUID %v is not version 7", m.UUID)
			}
		})
	}
}

func TestEventTimestamp(t *testing.T) {
	c, mem := newTestClient(t)
	at := time.Date(2026, 11, 22, 1, 49, 29, 187659000, time.UTC)
	c.Event("custom").Timestamp(at).Send()
	var zero Event
	zero.Send() // sends nothing, does not panic
	msgs := flushed(t, c, mem)
	if len(msgs) != 1 || !msgs[0].Time().Equal(at) {
		t.Fatalf("got %v, want one message at %v", msgs, at)
	}
}

func TestTimer(t *testing.T) {
	c, mem := newTestClient(t)
	tm := c.Timer("db_query", String("table", "users"))
	if d := tm.Stop(String("rows", "3")); d <= 0 {
		t.Errorf("Stop returned %v", d)
	}
	d := c.Time("render", func() {})
	func() {
		defer func() { recover() }()
		c.Time("panics", func() { panic("x") })
	}()
	func() { defer c.Timer("deferred").Stop() }()
	c.Timer("sampled out").Rate(0).Stop()
	msgs := flushed(t, c, mem)
	var names []string
	for _, m := range msgs {
		if m.Type != TypeTimer {
			t.Errorf("type %q", m.Type)
		}
		names = append(names, fieldValue(m, "name").(string))
	}
	if got, want := strings.Join(names, ","), "db_query,render,panics,deferred"; got != want {
		t.Fatalf("timers sent %s, want %s", got, want)
	}
	if d <= 0 {
		t.Errorf("Time returned %v", d)
	}
	m := msgs[0]
	if fieldValue(m, "table") != "users" || fieldValue(m, "rows") != "3" {
		t.Errorf("fields %+v", m.Fields)
	}
}

func TestTimerPayloadIsMilliseconds(t *testing.T) {
	c, mem := newTestClient(t)
	tm := c.Timer("sleep")
	start := time.Now()
	<-time.After(15 * time.Millisecond) // the duration is what is measured
	d := tm.Stop()
	elapsed := time.Since(start)
	msgs := flushed(t, c, mem)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	if want := d.Milliseconds(); msgs[0].Payload != strconv.FormatInt(want, 10) {
		t.Errorf("payload %q, want %d (Stop returned %v)", msgs[0].Payload, want, d)
	}
	if d < 15*time.Millisecond || d > elapsed+time.Millisecond {
		t.Errorf("Stop returned %v, want between 15ms and %v", d, elapsed)
	}
}

func TestDisabledTimers(t *testing.T) {
	tests := []struct {
		name     string
		disabled []string
		want     string // names sent by Timer("a"), Timer("b"), Timing("a")
	}{
		{"none", nil, "a,b,a"},
		{"by name", []string{"a"}, "b"},
		{"star", []string{"*"}, ""},
		{"star among names", []string{"x", "*"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mem := newTestClient(t, WithDisabledTimers(tt.disabled...))
			for _, name := range []string{"a", "b"} {
				d := c.Timer(name).Stop()
				if sent := strings.Contains(tt.want, name); sent != (d > 0) {
					t.Errorf("Stop of %s returned %v", name, d)
				}
			}
			c.Timing("a", time.Millisecond)
			var got []string
			for _, m := range flushed(t, c, mem) {
				got = append(got, fieldValue(m, "name").(string))
			}
			if strings.Join(got, ",") != tt.want {
				t.Errorf("sent %v, want %s", got, tt.want)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	emit := func(c *Client) {
		c.Incr("c")               // counter, Info
		c.Timing("t", 1)          // timer, Info
		c.Gauge("g", 1)           // gauge, Info
		c.Debug("debug line")     // oldstyle, Debug
		c.Warning("warning line") // oldstyle, Warning
		c.Metlog("spam")          // spam, Info
		c.Event("eggs").Severity(Error).Send()
		c.Exception(errors.New("boom")) // exception, Error
	}
	tests := []struct {
		name string
		opts []Option
		want string // types (oldstyle with severity) sent, in order
	}{
		{"no filter", nil, "counter timer gauge oldstyle/7 oldstyle/4 spam eggs exception"},
		{"severity max info", []Option{WithSeverityMax(Info)}, "counter timer gauge oldstyle/4 spam eggs exception"},
		{"severity max error", []Option{WithSeverityMax(Error)}, "eggs exception"},
		{"deny", []Option{WithTypeDenylist("spam", "eggs")}, "counter timer gauge oldstyle/7 oldstyle/4 exception"},
		{"allow", []Option{WithTypeAllowlist("counter"), WithTypeAllowlist("oldstyle")}, "counter oldstyle/7 oldstyle/4"},
		{"deny wins over allow", []Option{WithTypeAllowlist("counter", "spam"), WithTypeDenylist("spam")}, "counter"},
		{"type severity max", []Option{WithTypeSeverityMax("oldstyle", Warning), WithTypeSeverityMax("eggs", Critical)},
			"counter timer gauge oldstyle/4 spam exception"},
		{"client severity below max", []Option{WithSeverity(Debug), WithSeverityMax(Info)}, "oldstyle/4 eggs exception"},
		{"message filter", []Option{WithFilter(func(m *Message) bool { return m.Type != "gauge" })},
			"counter timer oldstyle/7 oldstyle/4 spam eggs exception"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mem := newTestClient(t, tt.opts...)
			emit(c)
			var got []string
			for _, m := range flushed(t, c, mem) {
				s := m.Type
				if s == TypeOldstyle {
					s += "/" + strconv.Itoa(int(m.Severity))
				}
				got = append(got, s)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("sent %q\nwant %q", strings.Join(got, " "), tt.want)
			}
		})
	}
}

// withRand makes sampling decisions from r (a test seam).
func withRand(r *rand.Rand) Option { return func(o *options) { o.rand = r.Float64 } }

func TestSampleRates(t *testing.T) {
	const calls = 20000
	tests := []struct {
		rate float64
		send func(c *Client, rate float64)
	}{
		{0.25, func(c *Client, r float64) { c.SampledCount("n", 1, r) }},
		{0.1, func(c *Client, r float64) { c.Timer("t").Rate(r).Stop() }},
		{0.5, func(c *Client, r float64) { c.SampledTiming("t", time.Millisecond, r) }},
		{0, func(c *Client, r float64) { c.SampledCount("n", 1, r) }},
		{-1, func(c *Client, r float64) { c.SampledCount("n", 1, r) }},
		{1, func(c *Client, r float64) { c.SampledCount("n", 1, r) }},
	}
	for _, tt := range tests {
		c, mem := newTestClient(t, withRand(rand.New(rand.NewPCG(1, 2))), WithQueueSize(calls))
		for range calls {
			tt.send(c, tt.rate)
		}
		msgs := flushed(t, c, mem)
		want := max(tt.rate, 0) * calls
		// Binomial: 4 standard deviations, with a fixed seed.
		sd := 4 * math.Sqrt(calls*max(tt.rate, 0)*(1-min(max(tt.rate, 0), 1)))
		if got := float64(len(msgs)); got < want-sd || got > want+sd {
			t.Errorf("rate %v: sent %v of %d, want %v±%v", tt.rate, got, calls, want, sd)
		}
		for _, m := range msgs {
			if fieldValue(m, "rate") != tt.rate {
				t.Fatalf("rate %v: message rate field %v", tt.rate, fieldValue(m, "rate"))
			}
		}
	}
}

// stuckSender blocks in Send until released or until the client gives up.
type stuckSender struct {
	MemorySender
	entered chan struct{} // receives once per Send call (if there is room)
	release chan struct{}
	got     chan *Message // each message sent after the release
}

func newStuckSender() *stuckSender {
	return &stuckSender{
		entered: make(chan struct{}, 100),
		release: make(chan struct{}),
		got:     make(chan *Message, 1000),
	}
}

func (s *stuckSender) Send(ctx context.Context, msgs []*Message) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.MemorySender.Send(ctx, msgs)
	for _, m := range msgs {
		select {
		case s.got <- m.Clone():
		default:
		}
	}
	return nil
}

func TestQueueFullDropsWithoutBlocking(t *testing.T) {
	s := newStuckSender()
	c := New(s, WithQueueSize(4), WithBatchSize(1), WithStatsInterval(0))
	c.Incr("first")
	<-s.entered // the sender goroutine holds "first" and is stuck
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 4 + 10 {
			c.Incr("more")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Incr blocked on a full queue")
	}
	if st := c.Stats(); st.Dropped != 10 || st.Queued != 4 {
		t.Errorf("stats %+v, want 10 dropped and 4 queued", st)
	}
	close(s.release)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.Sent != 6 || st.Dropped != 10 { // 5 counters and the final report
		t.Errorf("after close: %+v, want 6 sent and 10 dropped", st)
	}
	msgs := s.Messages()
	last := msgs[len(msgs)-1]
	if last.Type != TypeClientStats || fieldValue(last, "dropped") != int64(10) || last.Severity != Warning {
		t.Errorf("last message %+v, want a client_stats report of 10 drops", last)
	}
}

func TestCloseDeadline(t *testing.T) {
	s := newStuckSender()
	c := New(s, WithBatchSize(1))
	for range 5 {
		c.Incr("x")
	}
	<-s.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.CloseContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "4 queued messages not sent") {
		t.Errorf("CloseContext = %v, want 4 messages not sent, deadline exceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("CloseContext took %v", took)
	}
	if st := c.Stats(); st.Failed != 1 || st.Dropped != 4 || st.Sent != 0 {
		t.Errorf("stats %+v, want 1 failed (the stuck batch), 4 dropped", st)
	}
	if err2 := c.Close(); err2 != err {
		t.Errorf("second Close = %v, want the first result", err2)
	}
	c.Incr("after close")
	if st := c.Stats(); st.Dropped != 5 {
		t.Errorf("Incr after Close: dropped %d, want 5", st.Dropped)
	}
	if err := c.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close = %v", err)
	}
}

func TestFlushContext(t *testing.T) {
	s := newStuckSender()
	c := New(s, WithBatchSize(1))
	defer func() {
		close(s.release)
		c.Close()
	}()
	c.Incr("x")
	<-s.entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush = %v, want deadline exceeded", err)
	}
}

// failingSender fails every other message.
type failingSender struct{ MemorySender }

func (s *failingSender) Send(ctx context.Context, msgs []*Message) error {
	s.MemorySender.Send(ctx, msgs[:len(msgs)/2])
	if n := len(msgs) - len(msgs)/2; n > 0 {
		return &SendError{Failed: n, Err: errors.New("down")}
	}
	return nil
}

func TestSendFailuresCounted(t *testing.T) {
	s := &failingSender{}
	c := New(s, WithBatchSize(4), WithStatsInterval(0))
	for range 4 {
		c.Incr("x")
	}
	ctx := context.Background()
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.Sent+st.Failed != 4 || st.Failed < 2 {
		t.Errorf("stats %+v, want 4 sent or failed, at least 2 failed", st)
	}
}

func TestConcurrentCallers(t *testing.T) {
	c, mem := newTestClient(t, WithQueueSize(64), WithStatsInterval(0))
	const goroutines, calls = 8, 2000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				switch (g + i) % 4 {
				case 0:
					c.Incr("n")
				case 1:
					c.Timer("t").Stop()
				case 2:
					c.Info("line", Int("i", int64(i)))
				case 3:
					c.Metlog("custom")
				}
			}
		})
	}
	wg.Wait()
	msgs := flushed(t, c, mem)
	st := c.Stats()
	if int(st.Sent) != len(msgs) || st.Sent+st.Dropped != goroutines*calls {
		t.Errorf("stats %+v with %d messages, want sent+dropped = %d", st, len(msgs), goroutines*calls)
	}
}

func TestQueue(t *testing.T) {
	if q := newQueue(1); len(q.cells) != 2 {
		t.Fatalf("newQueue(1) has %d cells, want the minimum of 2", len(q.cells))
	}
	q := newQueue(3) // rounds up to 4
	for lap := range 3 {
		for i := range 4 {
			// The fields are copied: the caller's may change at once.
			fields := []Field{String("s", "a"), Int("n", int64(i))}
			if !q.push(&record{n: int64(lap*10 + i)}, fields) {
				t.Fatalf("lap %d: push %d failed", lap, i)
			}
			fields[0].Strings[0], fields[1].Integers[0] = "changed", -1
		}
		if q.push(&record{}, nil) {
			t.Fatalf("lap %d: push to a full queue succeeded", lap)
		}
		if q.len() != 4 {
			t.Fatalf("len %d", q.len())
		}
		for i := range 4 {
			r := q.peek()
			if r == nil || r.n != int64(lap*10+i) {
				t.Fatalf("lap %d: peek %d = %v", lap, i, r)
			}
			if len(r.fields) != 2 || r.fields[0].Strings[0] != "a" || r.fields[1].Integers[0] != int64(i) {
				t.Fatalf("lap %d: record %d has fields %+v", lap, i, r.fields)
			}
			q.release()
		}
		if q.peek() != nil {
			t.Fatalf("peek at an empty queue found a record")
		}
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 10 {
		c := New(NewMemorySender(), WithStatsInterval(time.Millisecond))
		c.Incr("x")
		c.Flush(context.Background())
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	waitGoroutines(t, before)
}

// waitGoroutines waits for the goroutine count to come back to want: a
// goroutine that closed its done channel still has to return.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

func TestStatsReportEveryInterval(t *testing.T) {
	s := newStuckSender()
	c := New(s, WithQueueSize(2), WithBatchSize(1), WithStatsInterval(time.Millisecond))
	defer c.Close()
	c.Incr("held")
	<-s.entered
	c.Incr("queued")
	c.Incr("queued")
	c.Incr("dropped")
	close(s.release)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-s.got:
			if m.Type != TypeClientStats {
				continue
			}
			if fieldValue(m, "dropped") != int64(1) || fieldValue(m, "dropped_total") != int64(1) {
				t.Errorf("report %+v", m.Fields)
			}
			return
		case <-timeout:
			t.Fatal("no client_stats report")
		}
	}
}

// Field names and representations reach the Sender intact and stay so:
// the queue keeps its own copies of them, which its cells reuse, and the
// messages get copies of their own.
func TestFieldNamesOutliveQueueCells(t *testing.T) {
	c, mem := newTestClient(t, WithQueueSize(4))
	buf := []byte("name-00")
	const n = 200
	for i := range n {
		buf[5], buf[6] = byte('0'+i/10%10), byte('0'+i%10)
		name := unsafe.String(&buf[0], len(buf)) // changes with buf, as a caller's reused buffer would
		f := Int(name, int64(i))
		f.Representation = name
		c.Info("m", f)
		if i%3 == 0 {
			flushed(t, c, mem)
		}
	}
	msgs := flushed(t, c, mem)
	seen := 0
	for _, m := range msgs {
		if m.Type != TypeOldstyle {
			continue
		}
		f := m.Fields[0]
		want := fmt.Sprintf("name-%02d", f.Integers[0]%100)
		if f.Name != want || f.Representation != want {
			t.Fatalf("field %d named %q, representation %q; want %q", f.Integers[0], f.Name, f.Representation, want)
		}
		seen++
	}
	if seen == 0 {
		t.Fatal("no message delivered")
	}
	buf[0] = 'X' // the delivered messages do not see it
	for _, m := range msgs {
		if m.Type == TypeOldstyle && m.Fields[0].Name[0] != 'n' {
			t.Fatalf("a delivered field name changed with the caller's buffer: %q", m.Fields[0].Name)
		}
	}
}

// A metric's fields named like its own name and rate fields are left out,
// and the others keep their names.
func TestMetricFieldsNamedNameAndRate(t *testing.T) {
	c, mem := newTestClient(t)
	c.Incr("hits", String("name", "x"), String("name", "y"), Float("rate", 2), String("route", "/"))
	msgs := flushed(t, c, mem)
	var m *Message
	for _, x := range msgs {
		if x.Type == TypeCounter {
			m = x
		}
	}
	if m == nil {
		t.Fatal("no counter delivered")
	}
	var names []string
	for _, f := range m.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "name,rate,route" || m.Fields[0].Strings[0] != "hits" {
		t.Errorf("fields %s (name %q)", got, m.Fields[0].Strings[0])
	}
}
