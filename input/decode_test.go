package input

import (
	"testing"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
)

func TestDecoderFormats(t *testing.T) {
	const (
		metlogJSON = `{"type":"oldstyle","payload":"hi","fields":{"Type":"x"}}`
		hekaJSON   = `{"Timestamp":1795312169187000000,"Type":"routes.op","Logger":"app","Severity":3,"Fields":{"a":1}}`
	)
	rec, err := heka.AppendRecord(nil, &metlog.Message{Type: "heka", Severity: metlog.Info}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format Format
		in     []byte
		typ    string // "" means rejected
	}{
		{FormatAuto, []byte(metlogJSON), "oldstyle"},
		{FormatAuto, []byte(hekaJSON), "routes.op"},
		{FormatAuto, rec, "heka"},
		{FormatMetlogJSON, []byte(metlogJSON), "oldstyle"},
		{FormatMetlogJSON, []byte(hekaJSON), ""}, // decoded, but not lifted: no type
		{FormatMetlogJSON, rec, ""},
		{FormatHekaJSON, []byte(hekaJSON), "routes.op"},
		{FormatHekaJSON, []byte(`{"type":"x","Type":"y"}`), "y"},
		{FormatHekaJSON, rec, ""},
		{FormatHeka, rec, "heka"},
		{FormatHeka, []byte(hekaJSON), ""},
	} {
		d := Decoder{MaxSize: 1 << 16, Format: tc.format}
		var m metlog.Message
		_, err := d.Datagram(tc.in, &m)
		switch {
		case tc.typ == "" && err == nil && m.Type != "":
			t.Errorf("%s %q: accepted as type %q, want a rejection or no type", tc.format, tc.in, m.Type)
		case tc.typ != "" && err != nil:
			t.Errorf("%s %q: %v", tc.format, tc.in, err)
		case tc.typ != "" && m.Type != tc.typ:
			t.Errorf("%s %q: type %q, want %q", tc.format, tc.in, m.Type, tc.typ)
		}
	}
}

func TestFormatText(t *testing.T) {
	for _, name := range []string{"auto", "metlog-json", "heka-json", "heka"} {
		var f Format
		if err := f.UnmarshalText([]byte(name)); err != nil || f.String() != name {
			t.Errorf("%s: %v, %v", name, f, err)
		}
	}
	var f Format
	if err := f.UnmarshalText([]byte("xml")); err == nil {
		t.Error("xml accepted")
	}
}
