package metlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStreamSenderBackoff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "router.sock")
	s := newStreamSender("unix", path, formatHeka)
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	msgs := []*Message{{Type: "t", Payload: "p", Fields: []Field{String("k", "v")}}}
	ctx := context.Background()
	for i := range 12 {
		err := s.Send(ctx, msgs)
		var se *SendError
		if !errors.As(err, &se) || se.Failed != 1 || errors.Is(err, errBackoff) {
			t.Fatalf("attempt %d: %v, want a failed dial", i, err)
		}
		want := min(minBackoff<<i, maxBackoff)
		if wait := s.retryAt.Sub(now); wait < want*3/4 || wait > want*5/4 {
			t.Errorf("attempt %d: waits %v, want %v±25%%", i, wait, want)
		}
		now = s.retryAt.Add(-time.Millisecond)
		if err := s.Send(ctx, msgs); !errors.Is(err, errBackoff) {
			t.Fatalf("attempt %d: before the backoff ended: %v, want no dial", i, err)
		}
		now = s.retryAt
	}

	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	received := make(chan []byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			received <- nil
			return
		}
		defer conn.Close()
		b, _ := io.ReadAll(conn)
		received <- b
	}()
	if err := s.Send(ctx, msgs); err != nil {
		t.Fatalf("after the router came back: %v", err)
	}
	if s.backoff != 0 {
		t.Errorf("backoff %v after a good write, want it reset", s.backoff)
	}
	s.Close()
	want, err := appendHekaRecord(nil, msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := <-received; !bytes.Equal(got, want) {
		t.Errorf("router got % x\nwant % x", got, want)
	}
}

func TestHekaRecordFraming(t *testing.T) {
	for _, size := range []int{0, 100, 127, 128, 60000} {
		m := &Message{UUID: NewUUID(), Type: "t", Payload: strings.Repeat("x", size)}
		rec, err := appendHekaRecord([]byte("prefix"), m)
		if err != nil {
			t.Fatal(err)
		}
		rec = rec[len("prefix"):]
		body := m.AppendProtobuf(nil)
		if rec[0] != 0x1E || rec[2] != 0x08 {
			t.Fatalf("size %d: record starts % x", size, rec[:4])
		}
		hlen := int(rec[1])
		n, k := binary.Uvarint(rec[3 : 2+hlen])
		if int(n) != len(body) || k != hlen-1 || rec[2+hlen] != 0x1F || !bytes.Equal(rec[3+hlen:], body) {
			t.Errorf("size %d: bad record % x", size, rec[:3+hlen])
		}
	}
	big := &Message{Payload: strings.Repeat("x", maxHekaMessage)}
	if _, err := appendHekaRecord(nil, big); !errors.Is(err, errTooLarge) {
		t.Errorf("oversized message: %v", err)
	}
}

func TestWriterSenderWriteError(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close() // writes now fail
	s := newWriterSender(f, true, formatJSON)
	if err := s.Send(context.Background(), []*Message{{Type: "t"}}); err == nil {
		t.Error("a failed write was not reported")
	}
}

// FuzzParseConfig checks that no config text panics the parser and that a
// config it accepts always yields options.
func FuzzParseConfig(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "config", "*.toml"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz.toml", data)
		if err != nil {
			return
		}
		if _, err := cfg.Options(); err != nil {
			t.Fatalf("accepted config has invalid options: %v", err)
		}
	})
}

// FuzzTarget checks that no target string panics NewSender's parser.
func FuzzTarget(f *testing.F) {
	for _, s := range []string{"udp://127.0.0.1:5565", "tcp://h:1?format=heka", "unix:///x", "stdout:",
		"file:///tmp/x", "127.0.0.1:5565", "udp://[::1]", "x://%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		checkTarget(target) // parses only: nothing is opened or resolved
	})
}
