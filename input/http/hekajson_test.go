package http

import (
	"testing"

	"github.com/metlog/metlog/input"
)

// TestHekaJSON posts mozlog lines: detected by default, kept as metlog
// JSON with format = "metlog-json", rejected with format = "heka".
func TestHekaJSON(t *testing.T) {
	body := []byte(`{"Timestamp":1795324335811000000,"Logger":"fxa-test","Type":"routes.op","Severity":6,"Pid":17763,"EnvVersion":"2.0","Fields":{"status":200}}` + "\n" +
		`{"type":"oldstyle","payload":"hi"}` + "\n")
	for _, tc := range []struct {
		format   input.Format
		accepted int
		first    string
	}{
		{input.FormatAuto, 2, "routes.op"},
		{input.FormatMetlogJSON, 2, ""},
		{input.FormatHeka, 0, ""},
	} {
		cfg := Defaults()
		cfg.Format = tc.format
		_, sink, srv := serve(t, cfg)
		_, r := post(t, srv.URL, "application/x-ndjson", "", body)
		if r.Accepted != tc.accepted {
			t.Fatalf("%s: %+v", tc.format, r)
		}
		if msgs := sink.Messages(); tc.accepted > 0 && (msgs[0].Type != tc.first || msgs[1].Type != "oldstyle") {
			t.Errorf("%s: types %q %q", tc.format, msgs[0].Type, msgs[1].Type)
		}
		if tc.first != "" {
			m := sink.Messages()[0]
			if m.Logger != "fxa-test" || m.Pid != 17763 || m.Field("status") == nil {
				t.Errorf("lifted %+v", m)
			}
		}
	}
}
