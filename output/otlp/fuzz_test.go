package otlp

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/metlog/metlog"
)

// FuzzLogsRoundTrip sends one log message through the output into the
// otlp input: it must come back as it was, with invalid UTF-8 replaced.
func FuzzLogsRoundTrip(f *testing.F) {
	f.Add("oldstyle", "app", "web-1", "hello", uint8(6), int32(42), int64(1700000000e9), []byte("0123456789abcdef"), "user", "bob", "n", int64(7), "x", 0.5, "[1,2]")
	f.Add("exception", "", "", `{"a":1}`, uint8(2), int32(0), int64(1), []byte{}, "é", "\xff", "", int64(-1), "", math.Inf(1), "null")
	in, sink := startInput(f)
	o := newOutput(f, "http://"+in.HTTPAddr().String(), nil)
	f.Fuzz(func(t *testing.T, typ, logger, host, payload string, sev uint8, pid int32, ts int64, uuid []byte,
		sname, svalue, iname string, ivalue int64, dname string, dvalue float64, jsonText string) {
		valid := func(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
		m := &metlog.Message{Type: valid(typ), Logger: valid(logger), Hostname: valid(host), Payload: valid(payload),
			Severity: metlog.Severity(sev % 8), Pid: max(pid, 0), Timestamp: max(ts, 1), EnvVersion: metlog.EnvVersion}
		if m.Type == "" || isMetric(m) {
			m.Type = "t" + m.Type
		}
		copy(m.UUID[:], uuid)
		m.Fields = []metlog.Field{
			metlog.String("s."+valid(sname), valid(svalue)),
			metlog.Int("i."+valid(iname), ivalue),
			metlog.Float("d."+valid(dname), dvalue),
		}
		if v, ok := jsonValue([]byte(jsonText)); ok && v.GetArrayValue() != nil && len(v.GetArrayValue().Values) < 2 {
			m.Fields = append(m.Fields, metlog.String("j", jsonText).WithRepresentation(metlog.RepresentationJSON))
		}
		before := len(sink.Messages())
		if err := o.Write(context.Background(), []*metlog.Message{m}); err != nil {
			t.Fatal(err)
		}
		got := sink.Messages()[before:]
		if len(got) != 1 {
			t.Fatalf("got %d messages", len(got))
		}
		want := m.Clone()
		if want.UUID.IsZero() {
			want.UUID = got[0].UUID // the router would assign one
		}
		if want.Logger == "" {
			want.Logger = "otlp" // the input's default: OTLP has no service.name to say ""
		}
		if !got[0].Equal(want) {
			t.Errorf("round trip\n got %+v\nwant %+v", got[0], want)
		}
	})
}
