package output

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/metlog/metlog"
)

// A record encoder writes what its format writes, record after record.
func TestNewRecordEncoder(t *testing.T) {
	f, err := NewFormat("metlog-json", "")
	if err != nil {
		t.Fatal(err)
	}
	rf := f.(RecordFormat)
	enc := NewRecordEncoder(rf)
	if enc == rf {
		t.Fatal("metlog JSON has no encoder of its own")
	}
	for i := range 6 {
		m := metlog.Message{UUID: metlog.UUID{1, byte(i)}, Timestamp: int64(i) * 1e9, Type: "oldstyle",
			Logger: "app", Severity: metlog.Info, Payload: fmt.Sprint("line ", i), Hostname: "web1",
			Fields: []metlog.Field{metlog.Int("status", int64(200+i/3))}}
		rec := m.AppendProtobuf(nil)
		want, wok := rf.AppendRecord([]byte("x"), rec)
		got, gok := enc.AppendRecord([]byte("x"), rec)
		if wok != gok || !bytes.Equal(got, want) {
			t.Fatalf("record %d: encoder %v %q, format %v %q", i, gok, got, wok, want)
		}
		if line, err := f.Append(nil, &m); err != nil || !bytes.Equal(line, got[1:]) {
			t.Fatalf("record %d: %q, Append %q (%v)", i, got[1:], line, err)
		}
	}
}
