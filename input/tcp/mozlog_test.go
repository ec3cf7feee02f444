package tcp

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/metlog/metlog/input/inputtest"
	"github.com/metlog/metlog/internal/testenv"
)

// TestMozlog pipes what the real mozlog (npm) writes to stdout into the
// input, which detects Heka JSON and lifts its envelope.
func TestMozlog(t *testing.T) {
	node := testenv.Node(t)
	modules := filepath.Dir(testenv.NodeModule(t, "mozlog"))
	sink := &inputtest.Sink{}
	in := start(t, Defaults(), sink)
	c := dial(t, in)
	cmd := exec.Command(node, filepath.Join("testdata", "mozlog.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.Stdout = c
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	msgs, err := sink.Wait(waitCtx(t), 3)
	if err != nil {
		t.Fatal(err, msgs)
	}
	want := []struct {
		typ   string
		sev   int32
		field string
	}{
		{"routes.request.summary", 6, "path"},
		{"routes.oops", 2, "error"},
		{"routes.plain", 6, "msg"},
	}
	for i, w := range want {
		m := msgs[i]
		if m.Type != w.typ || int32(m.Severity) != w.sev || m.Logger != "fxa-test" || m.EnvVersion != "2.0" ||
			m.Pid == 0 || m.Timestamp == 0 || m.Field(w.field) == nil {
			t.Errorf("message %d: %+v, want type %s, severity %d, a field %s", i, m, w.typ, w.sev, w.field)
		}
	}
	if f := msgs[0].Field("status"); f == nil || len(f.Integers) != 1 || f.Integers[0] != 200 {
		t.Errorf("status field: %+v", f)
	}
}
