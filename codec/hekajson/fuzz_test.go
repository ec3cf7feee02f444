package hekajson

import (
	"os"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/metlogjson"
)

// FuzzDecode checks that no input panics, and that lifting is stable: a
// lifted message encoded as metlog JSON decodes to the same message.
func FuzzDecode(f *testing.F) {
	for _, file := range cases(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"Fields":{"a":{"b":null}},"Payload":true,"Uuid":"nope","Pid":-1}`))
	f.Add([]byte(`{"Payload":"x","Payload":[1],"Fields":{"payload_type":"json"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m metlog.Message
		if err := Decode(data, &m); err != nil {
			return
		}
		Detect(&m)
		enc := m.AppendJSON(nil)
		var back metlog.Message
		if err := metlogjson.Decode(enc, &back); err != nil {
			t.Fatalf("re-encoded %q does not decode: %v\n%s", data, err, enc)
		}
		if !back.Equal(&m) {
			t.Fatalf("%q: round trip differs\n got %s\nwant %s", data, dump(false, &back), dump(false, &m))
		}
	})
}
