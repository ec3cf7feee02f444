package tcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
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

func dial(t *testing.T, in *Input) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", in.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestJSONLinesAndIndented(t *testing.T) {
	sink := &inputtest.Sink{}
	in := start(t, Defaults(), sink)
	indented, err := os.ReadFile("../../codec/metlogjson/testdata/31-streamsender-default-format.txt")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, in)
	stream := `{"type": "a", "payload": "1"}` + "\n" +
		`{"type": "broken", ` + "\n" +
		`{"type": "b", "payload": "2"}` + "\n" +
		string(indented) +
		`{"type": "c", "payload": "3"}`
	if _, err := io.WriteString(c, stream); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	msgs, err := sink.Wait(waitCtx(t), 4)
	if err != nil {
		t.Fatal(err, msgs)
	}
	var types []string
	for _, m := range msgs {
		types = append(types, m.Type)
	}
	if got := strings.Join(types, ","); got != "a,b,counter,c" {
		t.Errorf("types %s", got)
	}
	// Received is counted just after the sink returns.
	for i := 0; in.Counters().Snapshot().Received != 4 && i < 1000; i++ {
		time.Sleep(time.Millisecond)
	}
	if s := in.Counters().Snapshot(); s.Rejected["malformed"] != 1 || s.Received != 4 {
		t.Errorf("counters %+v", s)
	}
}

// The stream Heka's own client wrote, with garbage between records, yields
// exactly the records it holds.
func TestHekaStreamWithGarbage(t *testing.T) {
	data, err := os.ReadFile("../../codec/heka/testdata/40-stream-with-garbage.bin")
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Expected []string `json:"expected_records_in_order"`
	}
	b, _ := os.ReadFile("../../codec/heka/testdata/40-stream-with-garbage.json")
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	var want []*metlog.Message
	for _, id := range meta.Expected {
		rec, err := os.ReadFile("../../codec/heka/testdata/" + id + ".bin")
		if err != nil {
			t.Fatal(err)
		}
		var r heka.Record
		var m metlog.Message
		if err := heka.SplitDatagram(rec, &r); err != nil {
			t.Fatal(err)
		}
		if err := heka.Unmarshal(r.Message, &m); err != nil {
			t.Fatal(err)
		}
		want = append(want, &m)
	}
	sink := &inputtest.Sink{}
	in := start(t, Defaults(), sink)
	c := dial(t, in)
	c.Write(data)
	c.(*net.TCPConn).CloseWrite()
	got, err := sink.Wait(waitCtx(t), len(want))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("record %d differs", i)
		}
	}
	if in.Counters().Snapshot().Rejected["malformed"] == 0 {
		t.Error("garbage not counted")
	}
}

func record(t *testing.T, m *metlog.Message) []byte {
	t.Helper()
	b, err := heka.AppendRecord(nil, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAck reads ack records until one covers want records.
func readAck(t *testing.T, rd *heka.Reader, want int64) (count, rejected int64) {
	t.Helper()
	for count < want {
		rec, err := rd.Next()
		if err != nil {
			t.Fatalf("reading acks (have %d of %d): %v", count, want, err)
		}
		var m metlog.Message
		if err := heka.Unmarshal(rec.Message, &m); err != nil || m.Type != TypeAck {
			t.Fatalf("not an ack: %+v %v", m, err)
		}
		count, rejected = m.Field("count").Integers[0], m.Field("rejected").Integers[0]
	}
	return count, rejected
}

func TestAcknowledged(t *testing.T) {
	sink := &inputtest.Sink{}
	cfg := Defaults()
	cfg.Batch = 7
	in := start(t, cfg, sink)
	c := dial(t, in)
	hello := &metlog.Message{Type: TypeHello, Fields: []metlog.Field{metlog.Bool("ack", true), metlog.Int("protocol", 1)}}
	c.Write(record(t, hello))
	const n = 100
	var stream []byte
	for i := range n {
		m := &metlog.Message{UUID: metlog.NewUUID(), Type: "t", Payload: strings.Repeat("p", i)}
		stream = append(stream, record(t, m)...)
		if i == 50 {
			// A record too large for the input: rejected, but settled.
			big, _ := heka.AppendRecordBytes(nil, make([]byte, heka.MaxMessageSize), nil)
			stream = append(stream, big...)
		}
	}
	c.Write(stream)
	count, rejected := readAck(t, heka.NewReader(c, 0), n+1)
	if count != n+1 || rejected != 1 {
		t.Errorf("ack count %d rejected %d, want %d and 1", count, rejected, n+1)
	}
	msgs := sink.Messages()
	if len(msgs) != n {
		t.Fatalf("%d messages, want %d (the hello is not one)", len(msgs), n)
	}
	for i, o := range sink.Options() {
		if !o.Durable {
			t.Fatalf("message %d delivered without Durable", i)
		}
	}
}

// A plain Heka client never reads its socket: without a hello, nothing is
// written back.
func TestNoAckWithoutHello(t *testing.T) {
	sink := &inputtest.Sink{}
	in := start(t, Defaults(), sink)
	c := dial(t, in)
	c.Write(record(t, &metlog.Message{Type: "t"}))
	if _, err := sink.Wait(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("read %d bytes from the router, want none", n)
	}
	if sink.Options()[0].Durable {
		t.Error("delivered Durable without a hello")
	}
}

func TestMaxConnections(t *testing.T) {
	sink := &inputtest.Sink{}
	cfg := Defaults()
	cfg.MaxConnections = 1
	in := start(t, cfg, sink)
	first := dial(t, in)
	first.Write([]byte(`{"type": "first"}` + "\n"))
	if _, err := sink.Wait(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	second := dial(t, in)
	second.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := second.Read(make([]byte, 1)); err == nil {
		t.Error("second connection not closed")
	}
}

func TestRequireSignatureRejectsJSON(t *testing.T) {
	sink := &inputtest.Sink{}
	cfg := Defaults()
	cfg.RequireSignature = true
	cfg.Signers = []input.SignerKey{{Name: "app", Version: 1, Key: "k"}}
	in := start(t, cfg, sink)
	signer := &heka.Signer{Name: "app", Version: 1, Hash: heka.SHA256, Key: "k"}
	c := dial(t, in)
	c.Write([]byte(`{"type": "json"}` + "\n"))
	c.(*net.TCPConn).CloseWrite()
	io.Copy(io.Discard, c) // the router closes its end once it has read everything
	c = dial(t, in)
	signed, err := heka.AppendRecord(nil, &metlog.Message{Type: "signed"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(record(t, &metlog.Message{Type: "unsigned"}))
	c.Write(signed)
	msgs, err := sink.Wait(waitCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Type != "signed" {
		t.Errorf("got %q", msgs[0].Type)
	}
	if r := in.Counters().Snapshot().Rejected; r["unsigned"] != 2 {
		t.Errorf("rejected %v", r)
	}
}

func TestManyConnections(t *testing.T) {
	sink := &inputtest.Sink{}
	in := start(t, Defaults(), sink)
	const conns, each = 200, 50
	var wg sync.WaitGroup
	for c := range conns {
		wg.Go(func() {
			conn, err := net.Dial("tcp", in.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			var b strings.Builder
			for i := range each {
				fmt.Fprintf(&b, `{"type": "c%d", "payload": "%d"}`+"\n", c, i)
			}
			io.WriteString(conn, b.String())
		})
	}
	wg.Wait()
	msgs, err := sink.Wait(waitCtx(t), conns*each)
	if err != nil {
		t.Fatalf("%v: got %d of %d", err, len(msgs), conns*each)
	}
	// Per connection, order is kept.
	next := map[string]int{}
	for _, m := range msgs {
		if want := strconv.Itoa(next[m.Type]); m.Payload != want {
			t.Fatalf("connection %s: payload %s, want %s", m.Type, m.Payload, want)
		}
		next[m.Type]++
	}
}

// deliverAll sends stream over one connection to an input delivering to
// sink and returns the n messages it delivers.
func deliverAll(t *testing.T, cfg Config, sink interface {
	input.Sink
	Wait(context.Context, int) ([]*metlog.Message, error)
}, stream string, n int) []*metlog.Message {
	t.Helper()
	in := start(t, cfg, sink)
	c := dial(t, in)
	if _, err := io.WriteString(c, stream); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	msgs, err := sink.Wait(waitCtx(t), n)
	if err != nil {
		t.Fatal(err, len(msgs))
	}
	return msgs
}

// To a sink that takes records, the input delivers the messages it
// delivers to any sink, completed with a UUID and the time of receipt as a
// router completes them; most as records transcoded without a Message.
func TestRecordSink(t *testing.T) {
	var stream strings.Builder
	files, err := filepath.Glob("../../codec/metlogjson/testdata/*.json")
	if err != nil || len(files) < 20 {
		t.Fatal(err, len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		stream.Write(bytes.TrimSpace(data))
		stream.WriteString("\n")
	}
	stream.WriteString(`{"type": "broken", ` + "\n")
	// metlog-py's layout with a field the input reserves (stripped).
	stream.WriteString(`{"severity": 6, "timestamp": "2026-11-22T01:49:29Z", "metlog_hostname": "h", "fields": {"tls_client": "forged", "a": 1}, "metlog_pid": 1, "logger": "l", "type": "t", "payload": "p", "env_version": "0.8"}` + "\n")
	// Heka JSON, lifted into the envelope with the format auto.
	stream.WriteString(`{"Uuid": "018f6b2e-4c3a-7d12-9abc-def012345678", "Timestamp": 1795312169187659000, "Type": "heka", "Payload": "x", "Fields": [{"name": "n", "value_type": 2, "value": [3]}]}` + "\n")
	stream.WriteString(`{"type": "last"}`)
	n := len(files) + 3

	before := time.Now().UnixNano()
	want := deliverAll(t, Defaults(), &inputtest.Sink{}, stream.String(), n)
	rs := &inputtest.RecordSink{}
	got := deliverAll(t, Defaults(), rs, stream.String(), n)
	after := time.Now().UnixNano()
	if rs.Records() != n {
		t.Errorf("%d of %d messages came as records", rs.Records(), n)
	}
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d", len(got), len(want))
	}
	for i, m := range got {
		w := want[i]
		if w.UUID.IsZero() {
			if m.UUID[6]>>4 != 7 {
				t.Errorf("message %d: UUID %s is not version 7", i, m.UUID)
			}
			m.UUID = metlog.UUID{}
		}
		if w.Timestamp == 0 {
			if m.Timestamp < before || m.Timestamp > after {
				t.Errorf("message %d: timestamp %d is not the time of receipt", i, m.Timestamp)
			}
			m.Timestamp = 0
		}
		if !m.Equal(w) {
			t.Errorf("message %d:\n got %+v\nwant %+v", i, m, w)
		}
	}
	if f := got[n-3].Field("tls_client"); f != nil || got[n-3].Field("a") == nil {
		t.Errorf("reserved field not stripped: %+v", got[n-3])
	}
	if got[n-2].Type != "heka" {
		t.Errorf("Heka JSON not lifted: %+v", got[n-2])
	}
}
