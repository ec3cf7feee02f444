package udp

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/codec/metlogjson"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
)

func start(t *testing.T, cfg Config, sink input.Sink) *Input {
	t.Helper()
	cfg.Address = "127.0.0.1:0"
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

func send(t *testing.T, addr net.Addr, datagrams ...[]byte) {
	t.Helper()
	c, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range datagrams {
		if _, err := c.Write(d); err != nil {
			t.Fatal(err)
		}
	}
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The metlog-py captures, each sent as the datagram metlog-py sent, arrive
// as the messages they decode to.
func TestMetlogPyCaptures(t *testing.T) {
	files, _ := filepath.Glob("../../codec/metlogjson/testdata/*.json")
	var datagrams [][]byte
	var want []*metlog.Message
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var m metlog.Message
		if metlogjson.Decode(b, &m) != nil {
			continue // not a capture (a golden or config file)
		}
		datagrams = append(datagrams, b)
		want = append(want, &m)
	}
	if len(datagrams) < 30 {
		t.Fatalf("found %d captures, want the metlog-py set", len(datagrams))
	}
	sink := &inputtest.Sink{}
	in := start(t, Defaults(), sink)
	for i, d := range datagrams {
		send(t, in.Addr(), d) // one at a time, so a small socket buffer cannot drop
		if _, err := sink.Wait(waitCtx(t), i+1); err != nil {
			t.Fatal(err, in.Counters().Snapshot())
		}
	}
	got := sink.Messages()
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("capture %d: got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	// Received is counted just after the sink returns.
	for i := 0; in.Counters().Snapshot().Received != uint64(len(want)) && i < 1000; i++ {
		time.Sleep(time.Millisecond)
	}
	if s := in.Counters().Snapshot(); s.Received != uint64(len(want)) {
		t.Errorf("received %d, want %d", s.Received, len(want))
	}
}

func TestHekaRecordsAndSignatures(t *testing.T) {
	cfg := Defaults()
	cfg.RequireSignature = true
	cfg.Signers = []input.SignerKey{{Name: "router", Version: 1, Key: "s3cr3t-md5-key"}}
	sink := &inputtest.Sink{}
	in := start(t, cfg, sink)

	signed, err := os.ReadFile("../../codec/heka/testdata/30-signed-md5.bin")
	if err != nil {
		t.Fatal(err)
	}
	unsigned, _ := os.ReadFile("../../codec/heka/testdata/02-all-scalars.bin")
	sha1, _ := os.ReadFile("../../codec/heka/testdata/31-signed-sha1.bin") // key version 2: unknown here
	tampered := append([]byte(nil), signed...)
	tampered[len(tampered)-1] ^= 0xff
	send(t, in.Addr(), unsigned, sha1, tampered, []byte(`{"type": "json is unsigned"}`), signed)
	msgs, err := sink.Wait(waitCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	var want metlog.Message
	var rec heka.Record
	if err := heka.SplitDatagram(signed, &rec); err != nil {
		t.Fatal(err)
	}
	heka.Unmarshal(rec.Message, &want)
	want.Fields = append(want.Fields, metlog.String(input.FieldSigner, "router")) // verified
	if len(msgs) != 1 || !msgs[0].Equal(&want) {
		t.Fatalf("got %d messages %+v, want only the signed one", len(msgs), msgs)
	}
	s := in.Counters().Snapshot()
	if s.Rejected["unsigned"] != 2 || s.Rejected["unknown_key"] != 1 || s.Rejected["bad_signature"] != 1 {
		t.Errorf("rejected %v", s.Rejected)
	}
}

// Bad datagrams are counted by reason and never stop the ones around them.
func TestBadInputKeepsGoing(t *testing.T) {
	cfg := Defaults()
	cfg.MaxMessageSize = 1000
	sink := &inputtest.Sink{}
	in := start(t, cfg, sink)
	good := []byte(`{"type": "ok", "payload": "x"}`)
	send(t, in.Addr(),
		good,
		[]byte(`{"type": `),
		[]byte("\x1e\x05garbage"),
		[]byte(`{"payload": "`+strings.Repeat("y", 2000)+`"}`),
		[]byte{},
		[]byte("random words"),
		good,
	)
	msgs, err := sink.Wait(waitCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].Type != "ok" {
		t.Fatalf("got %+v", msgs)
	}
	// The rejected ones were read before the last good one.
	s := in.Counters().Snapshot()
	if s.Rejected["malformed"] != 4 || s.Rejected["too_large"] != 1 {
		t.Errorf("rejected %v", s.Rejected)
	}
}

func TestJournalFullDropsAndCounts(t *testing.T) {
	sink := &inputtest.Sink{Full: true}
	in := start(t, Defaults(), sink)
	send(t, in.Addr(), []byte(`{"type": "a"}`))
	if err := sink.WaitCalls(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	// The drop is counted right after Deliver returns.
	for i := 0; in.Counters().Snapshot().Dropped != 1; i++ {
		if i == 1000 {
			t.Fatalf("dropped %d, want 1", in.Counters().Snapshot().Dropped)
		}
		time.Sleep(time.Millisecond)
	}
	if got := sink.Messages(); len(got) != 0 {
		t.Errorf("delivered %d", len(got))
	}
}

func TestValidate(t *testing.T) {
	cfg := Config{Address: "nohost", Batch: 0, Readers: 0, MaxMessageSize: 1 << 20}
	cfg.RequireSignature = true
	err := cfg.Validate()
	for _, want := range []string{"address", "max_message_size", "batch", "readers", "require_signature"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}
