package nats_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	natsclient "github.com/nats-io/nats.go"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	natsout "github.com/metlog/metlog/output/nats"
	"github.com/metlog/metlog/output/nats/natstest"
	"github.com/metlog/metlog/output/outputtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestSample(t *testing.T) {
	outputtest.CheckSample(t, "nats", natsout.Sample(), natsout.Defaults)
}

func messages(n int) []*metlog.Message {
	out := make([]*metlog.Message, n)
	for i := range out {
		out[i] = &metlog.Message{UUID: metlog.NewUUID(), Timestamp: time.Now().UnixNano(), Type: "counter",
			Logger: "test", Severity: metlog.Info, Payload: "1", EnvVersion: metlog.EnvVersion,
			Fields: []metlog.Field{metlog.String("name", "n"+strconv.Itoa(i%10))}}
	}
	return out
}

func streamMessages(t *testing.T, url, stream string) []jetstream.RawStreamMsg {
	t.Helper()
	nc, err := natsclient.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, *m)
	}
	return out
}

// A batch reaches the stream as Heka records on the templated subjects,
// with the UUID as message ID; writing it again stores nothing twice.
func TestWritePublishesAndDeduplicates(t *testing.T) {
	srv := natstest.Start(t)
	cfg := natsout.Defaults()
	cfg.URLs = []string{srv.URL}
	cfg.Subject = "metlog.{type}.{shard}"
	cfg.Shards = 4
	o, err := natsout.New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	batch := messages(100)
	ctx := context.Background()
	for range 2 {
		if err := o.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	got := streamMessages(t, srv.URL, cfg.Stream)
	if len(got) != len(batch) {
		t.Fatalf("stream holds %d messages, want %d", len(got), len(batch))
	}
	for i, raw := range got {
		want := batch[i]
		if id := raw.Header.Get(jetstream.MsgIDHeader); id != natsout.MsgID(want.UUID) {
			t.Errorf("message %d: id %q, want %q", i, id, natsout.MsgID(want.UUID))
		}
		wantSubj := "metlog.counter." + strconv.Itoa(natsout.Shard(want.Fields[0].Strings[0], 4))
		if raw.Subject != wantSubj {
			t.Errorf("message %d: subject %q, want %q", i, raw.Subject, wantSubj)
		}
		var rec heka.Record
		if err := heka.SplitDatagram(raw.Data, &rec); err != nil {
			t.Fatal(err)
		}
		var m metlog.Message
		if err := heka.Unmarshal(rec.Message, &m); err != nil {
			t.Fatal(err)
		}
		if m.UUID != want.UUID || m.Fields[0].Strings[0] != want.Fields[0].Strings[0] {
			t.Errorf("message %d: %+v, want %+v", i, m, want)
		}
	}
}

// With the server gone Write fails, so the router keeps the batch and
// retries; once the server is back the same output delivers it, once.
func TestWriteFailsWhileServerDown(t *testing.T) {
	srv := natstest.Start(t)
	cfg := natsout.Defaults()
	cfg.URLs = []string{srv.URL}
	cfg.Timeout = 0
	cfg.Timeout.UnmarshalText([]byte("1s"))
	o, err := natsout.New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx := context.Background()
	if err := o.Write(ctx, messages(10)); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	batch := messages(10)
	if err := o.Write(ctx, batch); err == nil {
		t.Fatal("Write succeeded with the server down")
	}
	srv.Restart()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := o.Write(ctx, batch)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Write after restart: %v", err)
		}
	}
	if got := streamMessages(t, srv.URL, cfg.Stream); len(got) != 20 {
		t.Fatalf("stream holds %d messages, want 20", len(got))
	}
}

// A subject outside the stream is an error, not a silent loss.
func TestWriteOutsideStreamFails(t *testing.T) {
	srv := natstest.Start(t)
	cfg := natsout.Defaults()
	cfg.URLs = []string{srv.URL}
	cfg.Subject = "elsewhere.{type}"
	cfg.Timeout.UnmarshalText([]byte("2s"))
	o, err := natsout.New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Write(context.Background(), messages(1)); err == nil {
		t.Fatal("Write succeeded")
	}
}

func TestConfigErrors(t *testing.T) {
	tests := map[string]func(*natsout.Config){
		"no urls":       func(c *natsout.Config) { c.URLs = nil },
		"bad url":       func(c *natsout.Config) { c.URLs = []string{"::"} },
		"two auths":     func(c *natsout.Config) { c.User, c.Token = "u", "t" },
		"bad subject":   func(c *natsout.Config) { c.Subject = "metlog.{x}" },
		"no stream":     func(c *natsout.Config) { c.Stream = "" },
		"replicas":      func(c *natsout.Config) { c.Replicas = 0 },
		"storage":       func(c *natsout.Config) { c.Storage = "disk" },
		"shard subject": func(c *natsout.Config) { c.Shards = 3 },
		"half tls":      func(c *natsout.Config) { c.TLS.CertFile = "x" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := natsout.Defaults()
			mutate(&cfg)
			if _, err := natsout.New(cfg, quiet); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}

// Messages without a UUID are not taken for duplicates of one another.
func TestWriteWithoutUUIDs(t *testing.T) {
	srv := natstest.Start(t)
	cfg := natsout.Defaults()
	cfg.URLs = []string{srv.URL}
	o, err := natsout.New(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	batch := []*metlog.Message{{Type: "a"}, {Type: "b"}}
	if err := o.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if got := streamMessages(t, srv.URL, cfg.Stream); len(got) != 2 {
		t.Fatalf("stream holds %d messages, want 2", len(got))
	}
}
