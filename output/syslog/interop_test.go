package syslog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
	syslogin "github.com/metlog/metlog/input/syslog"
	"github.com/metlog/metlog/output/outputtest"
)

// startRsyslog runs rsyslogd in the foreground with conf (where WORKDIR is
// replaced by its own directory) until the test ends, waits until it
// accepts TCP connections on readyPort, and returns its directory.
func startRsyslog(t *testing.T, conf, readyPort string) string {
	t.Helper()
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		t.Skip("SKIPPED: rsyslogd is not installed (Debian package rsyslog; `make deps` installs it)")
	}
	dir := t.TempDir()
	conf = strings.ReplaceAll(conf, "WORKDIR", dir)
	confFile := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(rsyslogd, "-n", "-f", confFile, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !outputtest.Listening("127.0.0.1:" + readyPort) {
		select {
		case <-exited:
			t.Fatalf("rsyslogd exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd not listening on %s", readyPort)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return dir
}

// TestRsyslogReceives sends to rsyslog in every format and framing, over
// TCP and UDP, including the metlog-cef message, and checks what rsyslog
// made of each header.
func TestRsyslogReceives(t *testing.T) {
	tcpPort, udpPort := outputtest.FreePort(t, "tcp"), outputtest.FreePort(t, "udp")
	dir := startRsyslog(t, fmt.Sprintf(`
global(workDirectory="WORKDIR")
module(load="imtcp")
module(load="imudp")
template(name="fields" type="string" string="%%pri%%|%%syslogfacility-text%%|%%syslogseverity-text%%|%%hostname%%|%%app-name%%|%%procid%%|%%msgid%%|%%structured-data%%|%%msg%%\n")
input(type="imtcp" address="127.0.0.1" port="%s" ruleset="out")
input(type="imudp" address="127.0.0.1" port="%s" ruleset="out")
ruleset(name="out") {
  action(type="omfile" file="WORKDIR/out.log" template="fields")
}
`, tcpPort, udpPort), tcpPort)
	cef := outputtest.ReadMessages(t, "testdata/29-cef-plugin.json")[0]
	type send struct{ protocol, format, framing string }
	sends := []send{
		{"tcp", "rfc5424", "octet-counting"}, {"tcp", "rfc5424", "newline"},
		{"tcp", "rfc3164", "octet-counting"}, {"tcp", "rfc3164", "newline"},
		{"udp", "rfc5424", ""}, {"udp", "rfc3164", ""},
	}
	for _, s := range sends {
		cfg := Defaults()
		cfg.Address, cfg.Protocol, cfg.Format, cfg.Timezone = "127.0.0.1:"+tcpPort, s.protocol, s.format, "UTC"
		if s.protocol == "udp" {
			cfg.Address = "127.0.0.1:" + udpPort
		} else {
			cfg.Framing = s.framing
		}
		o := newOutput(t, cfg)
		m := testMessages()[0]
		m.Payload = fmt.Sprintf("%s %s %s", s.protocol, s.format, s.framing)
		if err := o.Write(context.Background(), []*metlog.Message{m, cef}); err != nil {
			t.Fatal(err)
		}
		o.Close()
	}
	want := 2 * len(sends)
	var lines []string
	deadline := time.Now().Add(20 * time.Second)
	for len(lines) < want {
		b, _ := os.ReadFile(filepath.Join(dir, "out.log"))
		lines = strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(b) == 0 {
			lines = nil
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslog wrote %d lines, want %d:\n%s", len(lines), want, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var cefLines int
	for _, l := range lines {
		f := strings.SplitN(l, "|", 9)
		if strings.Contains(l, "CEF:0|Mozilla|Interop|1|LoginFailed") {
			cefLines++
			if f[0] != "161" || f[1] != "local4" || f[2] != "alert" || f[3] != "vm" || f[4] != "interop" || f[5] != "18208" ||
				!strings.HasPrefix(strings.TrimSpace(f[8]), "CEF:0|") {
				t.Errorf("cef line: %q", l)
			}
			continue
		}
		if f[0] != "163" || f[1] != "local4" || f[2] != "err" || f[3] != "web01" || f[4] != "app" || f[5] != "77" {
			t.Errorf("line: %q", l)
		}
		if strings.Contains(f[8], "rfc5424") && (f[6] != "ORD" || f[7] != `[order@32473 id="9"]`) {
			t.Errorf("rfc 5424 line: %q", l)
		}
	}
	if cefLines != len(sends) {
		t.Errorf("%d CEF lines, want %d:\n%s", cefLines, len(sends), strings.Join(lines, "\n"))
	}
}

// TestThroughInput sends over TLS, octet-counted, to the syslog input, and
// checks that the messages arrive as they were.
func TestThroughInput(t *testing.T) {
	ca := inputtest.NewCA(t)
	srv := ca.Server()
	certFile, keyFile, caFile := srv.CertFile, srv.KeyFile, ca.File
	icfg := syslogin.Defaults()
	icfg.Address, icfg.TCPAddress, icfg.Timezone = "", "127.0.0.1:0", "UTC"
	icfg.TLS = input.TLS{CertFile: certFile, KeyFile: keyFile}
	in, err := syslogin.New(icfg, discard)
	if err != nil {
		t.Fatal(err)
	}
	sink := &inputtest.Sink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, sink) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for _, format := range []string{"rfc5424", "rfc3164"} {
		cfg := Defaults()
		cfg.Address, cfg.Protocol, cfg.Format, cfg.Timezone = in.TCPAddr().String(), "tls", format, "UTC"
		cfg.TLS.CAFile = caFile
		cfg.TLS.ServerName = "localhost"
		o := newOutput(t, cfg)
		if err := o.Write(context.Background(), testMessages()[:1]); err != nil {
			t.Fatal(err)
		}
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	got, err := sink.Wait(wctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	sent := testMessages()[0]
	for i, m := range got {
		if m.Logger != sent.Logger || m.Hostname != sent.Hostname || m.Pid != sent.Pid || m.Severity != sent.Severity ||
			m.Payload != sent.Payload || m.Field("facility").Strings[0] != "local4" {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	// The two outputs' connections may arrive in either order; only the
	// RFC 5424 message has a msgid.
	five, bsd := got[0], got[1]
	if five.Field("msgid") == nil {
		five, bsd = bsd, five
	}
	if five.Timestamp != sent.Timestamp || five.Field("msgid") == nil || five.Field("order@32473.id") == nil {
		t.Errorf("rfc 5424 message: %+v", five)
	}
	if !bsd.Time().Equal(testTime.Truncate(time.Second)) || bsd.Field("msgid") != nil {
		t.Errorf("rfc 3164 message: %+v", bsd)
	}
}

// needGnuTLS skips the test unless rsyslog's GnuTLS driver is installed.
func needGnuTLS(t *testing.T) {
	t.Helper()
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
		t.Skip("SKIPPED: rsyslog's TLS driver is not installed (Debian package rsyslog-gnutls; `make deps` installs it)")
	}
}

// TestRsyslogReceivesTLS sends over TLS (RFC 5425: octet counting) to
// rsyslog's imtcp with the GnuTLS driver.
func TestRsyslogReceivesTLS(t *testing.T) {
	needGnuTLS(t)
	ca := inputtest.NewCA(t)
	srv := ca.Server()
	certFile, keyFile, caFile := srv.CertFile, srv.KeyFile, ca.File
	port := outputtest.FreePort(t, "tcp")
	dir := startRsyslog(t, fmt.Sprintf(`
global(workDirectory="WORKDIR" defaultNetstreamDriver="gtls"
       defaultNetstreamDriverCAFile="%s" defaultNetstreamDriverCertFile="%s" defaultNetstreamDriverKeyFile="%s")
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
template(name="fields" type="string" string="%%pri%%|%%hostname%%|%%app-name%%|%%procid%%|%%msgid%%|%%structured-data%%|%%msg%%\n")
input(type="imtcp" address="127.0.0.1" port="%s" ruleset="out")
ruleset(name="out") {
  action(type="omfile" file="WORKDIR/out.log" template="fields")
}
`, caFile, certFile, keyFile, port), port)
	cfg := Defaults()
	cfg.Address, cfg.Protocol = "127.0.0.1:"+port, "tls"
	cfg.TLS.CAFile, cfg.TLS.ServerName = caFile, "localhost"
	o := newOutput(t, cfg)
	if err := o.Write(context.Background(), testMessages()[:1]); err != nil {
		t.Fatal(err)
	}
	o.Close()
	want := `163|web01|app|77|ORD|[order@32473 id="9"]|first#012line two`
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(dir, "out.log"))
		if got := strings.TrimSpace(string(b)); got != "" {
			if got != want {
				t.Errorf("rsyslog wrote %q, want %q", got, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("rsyslog wrote nothing")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
