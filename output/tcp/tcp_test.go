package tcp

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/config"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
	tcpin "github.com/metlog/metlog/input/tcp"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func listen(t *testing.T, cfg tcpin.Config, sink *inputtest.Sink) (*tcpin.Input, context.CancelFunc) {
	t.Helper()
	in, err := tcpin.New(cfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { in.Run(ctx, sink); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return in, stop
}

func batch(n int) []*metlog.Message {
	out := make([]*metlog.Message, n)
	for i := range out {
		out[i] = &metlog.Message{UUID: metlog.NewUUID(), Timestamp: int64(i + 1), Type: "t", Payload: strings.Repeat("x", i)}
	}
	return out
}

func TestForwardAcknowledged(t *testing.T) {
	sink := &inputtest.Sink{}
	cfg := tcpin.Defaults()
	cfg.Address = "127.0.0.1:0"
	cfg.Signers = []input.SignerKey{{Name: "edge", Version: 1, Key: "k"}}
	cfg.RequireSignature = true
	in, _ := listen(t, cfg, sink)

	oc := Defaults()
	oc.Address = in.Addr().String()
	oc.Signer = Signer{Name: "edge", Version: 1, Hash: "sha256", Key: "k"}
	out, err := New(oc, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	want := batch(500)
	for i := 0; i < len(want); i += 100 {
		if err := out.Write(context.Background(), want[i:i+100]); err != nil {
			t.Fatal(err)
		}
		// Write returned: the peer holds the batch durably already.
		if got := len(sink.Messages()); got != i+100 {
			t.Fatalf("after Write, the peer has %d messages, want %d", got, i+100)
		}
	}
	got := sink.Messages()
	for i := range want {
		// The peer verified the signature and names the signer.
		if f := got[i].Field(input.FieldSigner); f == nil || len(f.Strings) != 1 || f.Strings[0] != "edge" {
			t.Fatalf("message %d: signer field %+v", i, f)
		}
		m := got[i].Clone()
		m.Fields = slices.DeleteFunc(m.Fields, func(f metlog.Field) bool { return f.Name == input.FieldSigner })
		if !m.Equal(want[i]) {
			t.Fatalf("message %d differs:\ngot  %+v\nwant %+v", i, m, want[i])
		}
	}
	for _, o := range sink.Options() {
		if !o.Durable {
			t.Fatal("not delivered durably")
		}
	}
}

func TestPeerDownThenUp(t *testing.T) {
	sink := &inputtest.Sink{}
	cfg := tcpin.Defaults()
	cfg.Address = "127.0.0.1:0"
	in, stop := listen(t, cfg, sink)
	addr := in.Addr().String()
	stop()

	oc := Defaults()
	oc.Address = addr
	oc.Timeout = config.Duration(2 * time.Second)
	out, err := New(oc, discard)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := out.Write(context.Background(), batch(3)); err == nil {
		t.Fatal("write to a stopped peer succeeded")
	}
	cfg.Address = addr
	var in2 *tcpin.Input
	for i := 0; ; i++ { // the port may take a moment to be free again
		if in2, err = tcpin.New(cfg, discard); err == nil {
			break
		}
		if i == 100 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { in2.Run(ctx, sink); close(done) }()
	defer func() { cancel(); <-done }()
	if err := out.Write(context.Background(), batch(3)); err != nil {
		t.Fatal(err)
	}
	if len(sink.Messages()) != 3 {
		t.Errorf("got %d", len(sink.Messages()))
	}
}

func TestValidate(t *testing.T) {
	c := Config{Address: "x", Signer: Signer{Name: "a", Hash: "crc"}}
	err := c.Validate()
	for _, want := range []string{"address", "timeout", "signer"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}
