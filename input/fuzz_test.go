package input

import (
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

// FuzzDatagram feeds any bytes to the decoders of every format, with and
// without signature keys. A rejection has a known reason; what is accepted
// survives the journal's encoding unchanged, and carries an identity
// field only when the input verified it.
func FuzzDatagram(f *testing.F) {
	signer := &heka.Signer{Name: "billing", Version: 2, Hash: heka.SHA256, Key: "secret"}
	m := metlog.Message{Type: "t", Payload: "p", Severity: metlog.Info,
		Fields: []metlog.Field{metlog.String("signer", "forged"), metlog.Int("n", 1)}}
	for _, s := range []*heka.Signer{nil, signer} {
		rec, err := heka.AppendRecord(nil, &m, s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec)
	}
	f.Add([]byte(`{"type":"x","payload":"y","fields":{"a":[1,2],"tls_client":"forged"}}`))
	f.Add([]byte(`{"Timestamp":1795312169187000000,"Type":"routes.op","Fields":{"a":1}}`))

	keys := &heka.KeySet{}
	keys.AddSigner(*signer)
	var decoders []Decoder
	for _, format := range []Format{FormatAuto, FormatMetlogJSON, FormatHekaJSON, FormatHeka} {
		decoders = append(decoders,
			Decoder{MaxSize: 4096, Format: format},
			Decoder{MaxSize: 4096, Format: format, Keys: keys, RequireSignature: true, MaxFields: 8})
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		for _, d := range decoders {
			var m metlog.Message
			reason, err := d.Datagram(p, &m)
			if err != nil {
				if reason >= numReasons {
					t.Fatalf("%s: rejected with reason %d: %v", d.Format, reason, err)
				}
				continue
			}
			if f := m.Field(FieldSigner); f != nil && (d.Keys == nil || f.Strings[0] != "billing") {
				t.Fatalf("%s: signer %v not verified", d.Format, f.Strings)
			}
			if m.Field(FieldTLSClient) != nil || m.Field(FieldSource) != nil {
				t.Fatalf("%s: an identity field a sender wrote was kept: %+v", d.Format, m.Fields)
			}
			if d.MaxFields > 0 && len(m.Fields) > d.MaxFields+1 {
				t.Fatalf("%s: %d fields over the limit of %d", d.Format, len(m.Fields), d.MaxFields)
			}
			var back metlog.Message
			if err := heka.Unmarshal(m.AppendProtobuf(nil), &back); err != nil {
				t.Fatalf("%s: the journal's encoding does not decode: %v", d.Format, err)
			}
			if !back.Equal(&m) {
				t.Fatalf("%s: changed by the journal's encoding:\n%+v\n%+v", d.Format, m, back)
			}
		}
	})
}
