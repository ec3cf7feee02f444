package router

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// Inputs that tell what was wrong with malformed messages have it in
// /api/status and /metrics.
func TestMalformedKinds(t *testing.T) {
	dir := t.TempDir()
	r := startRouter(t, `
[router]
data_dir = "`+dir+`"
http = "127.0.0.1:0"
[input.statsd]
address = "127.0.0.1:0"
`)
	c, err := net.Dial("udp", r.InputAddr("statsd").String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("good:1|c\nbad:x|c\nworse:1|zz\nbad2:y|ms"))
	c.Close()
	waitFor(t, "the rejects", func() bool { return r.Status().Inputs["statsd"].Rejected["malformed"] == 3 })
	if k := r.Status().Inputs["statsd"].MalformedKinds; k["bad_value"] != 2 || k["unknown_type"] != 1 {
		t.Errorf("malformed kinds %v", k)
	}
	resp, err := http.Get("http://" + r.HTTPAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `metlog_input_malformed_total{input="statsd",kind="bad_value",type="statsd"} 2`; !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s", want)
	}
}
