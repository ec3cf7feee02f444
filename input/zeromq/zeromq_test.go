package zeromq

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input/inputtest"
)

func start(t *testing.T, cfg Config, sink *inputtest.Sink) *Input {
	t.Helper()
	in, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return in
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// withoutProbes drops the probe messages a publisher sends until its
// subscription is up.
func withoutProbes(msgs []*metlog.Message) []*metlog.Message {
	var out []*metlog.Message
	for _, m := range msgs {
		if m.Type != "probe" {
			out = append(out, m)
		}
	}
	return out
}

// TestPythonPublisher runs a publisher written with python3-zmq doing what
// metlog-py's ZmqPubSender did: socket(zmq.PUB).connect(...) and
// send_string(json).
func TestPythonPublisher(t *testing.T) {
	python := "/usr/bin/python3" // Debian's, which python3-zmq is for
	if _, err := os.Stat(python); err != nil {
		t.Skip("SKIPPED: /usr/bin/python3 is not installed (Debian package python3-zmq; `make deps` installs it)")
	}
	if err := exec.Command(python, "-c", "import zmq").Run(); err != nil {
		t.Skip("SKIPPED: python3-zmq is not installed (Debian package python3-zmq; `make deps` installs it)")
	}
	cfg := Defaults()
	cfg.Bind = "tcp://127.0.0.1:0"
	sink := &inputtest.Sink{}
	in := start(t, cfg, sink)

	const n = 200
	cmd := exec.Command(python, "testdata/zmq_pub.py", "tcp://"+in.Addr().String(), strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if _, err := sink.Wait(waitCtx(t), 1); err != nil {
		t.Fatal("no probe arrived:", err)
	}
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	// Wait for one more than the last count seen, not than the sink holds
	// now: the last message may arrive between the two.
	ctx := waitCtx(t)
	all := sink.Messages()
	msgs := withoutProbes(all)
	for len(msgs) < n {
		var err error
		if all, err = sink.Wait(ctx, len(all)+1); err != nil {
			t.Fatalf("%v: %d of %d messages", err, len(withoutProbes(all)), n)
		}
		msgs = withoutProbes(all)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal("publisher:", err)
	}
	for i, m := range msgs {
		if m.Type != "counter" || m.Payload != strconv.Itoa(i) || m.Logger != "zmq-app" || m.EnvVersion != "0.8" || m.Timestamp == 0 {
			t.Fatalf("message %d: %+v", i, m)
		}
		if f := m.Field("nested.héllo"); f == nil || len(f.Integers) != 2 {
			t.Fatalf("message %d: nested field %+v", i, f)
		}
	}
	if s := in.Counters().Snapshot(); s.Received < n {
		t.Errorf("counters %+v", s)
	}
}

// TestPullConnect connects a PULL input to a PUSH socket that binds, and
// sends metlog JSON, Heka JSON, a two-part message and garbage.
func TestPullConnect(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	push := zmq4.NewPush(ctx)
	defer push.Close()
	if err := push.Listen("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	cfg := Defaults()
	cfg.Socket, cfg.Bind, cfg.Connect, cfg.Subscribe = "pull", "", []string{"tcp://" + push.Addr().String()}, nil
	sink := &inputtest.Sink{}
	in := start(t, cfg, sink)
	for _, m := range []zmq4.Msg{
		zmq4.NewMsgString(`{"type":"a","payload":"1"}`),
		zmq4.NewMsgString(`not json`),
		zmq4.NewMsgString(`{"Type":"b","Logger":"mozlog","Timestamp":1795312169187000000,"Fields":{"x":1}}`),
		zmq4.NewMsgFromString([]string{"topic", `{"type":"c"}`}),
	} {
		var err error
		if len(m.Frames) > 1 {
			err = push.SendMulti(m)
		} else {
			err = push.Send(m)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := sink.Wait(waitCtx(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	var types string
	for _, m := range msgs {
		types += m.Type
	}
	if types != "abc" || msgs[1].Logger != "mozlog" || msgs[1].Field("x") == nil {
		t.Errorf("types %q, second %+v", types, msgs[1])
	}
	if got := in.Counters().Snapshot().Rejected["malformed"]; got != 1 {
		t.Errorf("malformed %d, want 1", got)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Socket = "req" }, "socket"},
		{func(c *Config) { c.Bind = "" }, "bind, connect"},
		{func(c *Config) { c.Bind = "127.0.0.1:1" }, "transport"},
		{func(c *Config) { c.Socket = "pull"; c.Subscribe = []string{"x"} }, "subscribe"},
		{func(c *Config) { c.Batch = 0 }, "batch"},
	} {
		cfg := Defaults()
		tc.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v, want an error about %s", err, tc.want)
		}
	}
	cfg := Defaults()
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
}
