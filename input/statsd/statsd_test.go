package statsd

import (
	"context"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/metlog/metlog/input"
)

// start runs an input on free loopback ports (UDP, and TCP when tcp is
// set) until the test ends or stop is called, then checks that Run
// returned nil and left no goroutine behind.
func start(t testing.TB, cfg Config, sink input.Sink, tcp bool) (in *Input, stop func()) {
	t.Helper()
	cfg.Address = "127.0.0.1:0"
	if tcp {
		cfg.TCPAddress = "127.0.0.1:0"
	}
	in, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, sink) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			// A context.AfterFunc callback may still be finishing (it only
			// arms a timer); a real leak is still there a second later.
			g := leaked()
			for i := 0; len(g) > 0 && i < 100; i++ {
				time.Sleep(10 * time.Millisecond)
				g = leaked()
			}
			if len(g) > 0 {
				t.Errorf("goroutines left after Run returned:\n%s", strings.Join(g, "\n\n"))
			}
		})
	}
	t.Cleanup(stop)
	return in, stop
}

// leaked returns the stacks of the goroutines still running this
// package's input code. Run waits for all of them, so there must be none
// once it has returned.
func leaked() []string {
	buf := make([]byte, 1<<20)
	var out []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "input/statsd.(*Input)") || strings.Contains(g, "input/statsd.(*builder)") {
			out = append(out, g)
		}
	}
	return out
}

func waitCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestValidate(t *testing.T) {
	cfg := Config{
		Address: "nohost", TCPAddress: "alsonohost", MaxLineSize: 0, ReadBuffer: -1, ReadBatch: 0,
		Readers: 0, Batch: 0, ConnLimits: input.ConnLimits{MinRate: -1}, IdleTimeout: -1,
	}
	err := cfg.Validate()
	for _, want := range []string{"address", "tcp_address", "max_line_size", "read_buffer", "read_batch",
		"readers", "batch", "max_connections", "min_rate", "idle_timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	none := Defaults()
	none.Address = ""
	if err := none.Validate(); err == nil || !strings.Contains(err.Error(), "tcp_address or both") {
		t.Errorf("no address: %v", err)
	}
	d := Defaults()
	if err := d.Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// The sample configuration is the defaults, written out.
func TestSampleIsDefaults(t *testing.T) {
	var file struct {
		Input map[string]Config `toml:"input"`
	}
	dec := toml.NewDecoder(strings.NewReader(Sample()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		t.Fatal(err)
	}
	if got := file.Input["statsd"]; got != Defaults() {
		t.Errorf("sample %+v\ndefaults %+v", got, Defaults())
	}
}

func TestBindErrors(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := Defaults()
	cfg.Address = "127.0.0.1:0"
	cfg.TCPAddress = ln.Addr().String() // taken
	if _, err := New(cfg, log); err == nil {
		t.Fatal("bound a taken TCP port")
	}
	cfg.TCPAddress = ""
	cfg.Batch = 0
	if _, err := New(cfg, log); err == nil {
		t.Fatal("accepted a bad config")
	}
	// Only TCP: Addr is the listener's.
	cfg = Defaults()
	cfg.Address, cfg.TCPAddress = "", "127.0.0.1:0"
	in, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if in.Addr().Network() != "tcp" || in.TCPAddr() != in.Addr() {
		t.Errorf("Addr %v, TCPAddr %v", in.Addr(), in.TCPAddr())
	}
}
