package nats

import (
	"io"
	"log/slog"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

// FuzzDecode: whatever a JetStream message holds, decode never panics, and
// what it accepts encodes to a record that decodes to the same message.
func FuzzDecode(f *testing.F) {
	m := &metlog.Message{UUID: metlog.NewUUID(), Timestamp: 1, Type: "counter", Logger: "app", Payload: "1",
		Fields: []metlog.Field{metlog.String("name", "db.query"), metlog.Float("rate", 0.5)}}
	rec, _ := heka.AppendRecord(nil, m, nil)
	f.Add(rec)
	signed, _ := heka.AppendRecord(nil, m, &heka.Signer{Name: "edge", Version: 1, Hash: heka.SHA256, Key: "k"})
	f.Add(signed)
	f.Add([]byte("\x1e\x02\x08\x05\x1fab"))
	f.Add([]byte(`{"type":"json"}`))
	f.Add(append(rec, 0))
	in, err := New(Defaults(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m metlog.Message
		if _, err := in.decode(data, &m); err != nil {
			return
		}
		again, err := heka.AppendRecord(nil, &m, nil)
		if err != nil {
			return // over the size limit once re-encoded
		}
		var m2 metlog.Message
		if _, err := in.decode(again, &m2); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if m2.UUID != m.UUID || m2.Type != m.Type || m2.Payload != m.Payload || len(m2.Fields) != len(m.Fields) {
			t.Fatalf("round trip changed the message:\n%+v\n%+v", m, m2)
		}
	})
}
