package input

import (
	"slices"
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

func TestIdentify(t *testing.T) {
	tests := []struct {
		name              string
		fields            []string
		tlsClient, signer string
		want              []string
	}{
		{"nothing", nil, "", "", nil},
		{"strips forged", []string{"a", "signer", "tls_client", "b"}, "", "", []string{"a", "b"}},
		{"sets both", []string{"a"}, "cn", "app", []string{"a", "tls_client", "signer"}},
		{"replaces", []string{"signer", "a", "signer"}, "", "app", []string{"a", "signer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &metlog.Message{}
			for _, n := range tt.fields {
				m.Fields = append(m.Fields, metlog.String(n, "forged"))
			}
			Identify(m, tt.tlsClient, tt.signer)
			var got []string
			for _, f := range m.Fields {
				got = append(got, f.Name)
				if f.Name == FieldSigner && f.Strings[0] != tt.signer || f.Name == FieldTLSClient && f.Strings[0] != tt.tlsClient {
					t.Errorf("%s = %q", f.Name, f.Strings[0])
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("fields %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecoderLimitsAndSigner(t *testing.T) {
	keys := &heka.KeySet{}
	keys.Add("app", 2, "secret")
	d := &Decoder{MaxSize: 65536, Keys: keys, MaxFields: 3}
	record := func(m *metlog.Message, s *heka.Signer) []byte {
		b, err := heka.AppendRecord(nil, m, s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	many := &metlog.Message{Type: "many"}
	for range 4 {
		many.Fields = append(many.Fields, metlog.Int("n", 1))
	}
	signer := &heka.Signer{Name: "app", Version: 2, Hash: heka.SHA256, Key: "secret"}
	tests := []struct {
		name   string
		data   []byte
		reason Reason
		signer string
	}{
		{"signed", record(&metlog.Message{Type: "t"}, signer), 0, "app"},
		{"unsigned", record(&metlog.Message{Type: "t", Fields: []metlog.Field{metlog.String("signer", "app")}}, nil), 0, ""},
		{"too many heka fields", record(many, nil), ReasonTooLarge, ""},
		{"too many json fields", []byte(`{"fields": {"a": 1, "b": 2, "c": 3, "d": 4}}`), ReasonTooLarge, ""},
		{"too deep json", []byte(`{"fields": {"a": ` + deep(100) + `}}`), ReasonTooLarge, ""},
		{"forged json signer", []byte(`{"fields": {"signer": "app"}}`), 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m metlog.Message
			reason, err := d.Datagram(tt.data, &m)
			if reason != tt.reason || (err == nil) != (tt.reason == 0) {
				t.Fatalf("reason %v, err %v; want %v", reason, err, tt.reason)
			}
			if err != nil {
				return
			}
			got := ""
			if f := m.Field(FieldSigner); f != nil {
				got = f.Strings[0]
			}
			if got != tt.signer {
				t.Errorf("signer %q, want %q", got, tt.signer)
			}
		})
	}
}

func deep(n int) string {
	s := "1"
	for range n {
		s = "[" + s + "]"
	}
	return s
}

func BenchmarkIdentify(b *testing.B) {
	m := &metlog.Message{Fields: []metlog.Field{metlog.String("name", "x"), metlog.Float("rate", 1), metlog.String("env", "prod")}}
	b.ReportAllocs()
	for b.Loop() {
		Identify(m, "", "")
	}
}
