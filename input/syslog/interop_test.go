package syslog

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
)

// lookPath finds prog or skips the test.
func lookPath(t *testing.T, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Skipf("SKIPPED: %s is not installed (Debian package %s; `make deps` installs it)", prog, pkg)
	}
	return p
}

// TestLogger sends with util-linux logger in both formats, over UDP and
// TCP, with and without octet counting.
func TestLogger(t *testing.T) {
	logger := lookPath(t, "logger", "bsdutils")
	cfg := testConfig()
	sink := &inputtest.Sink{}
	in, _ := start(t, cfg, sink)
	udpPort := fmt.Sprint(in.Addr().(*net.UDPAddr).Port)
	tcpPort := fmt.Sprint(in.TCPAddr().(*net.TCPAddr).Port)
	cases := []struct {
		args []string
		text string
	}{
		{[]string{"--udp", "-P", udpPort, "--rfc5424", "--msgid", "M1", "--sd-id", "test@32473", "--sd-param", `k="v w"`}, "udp 5424"},
		{[]string{"--udp", "-P", udpPort, "--rfc3164"}, "udp 3164"},
		{[]string{"--tcp", "-P", tcpPort, "--rfc5424"}, "tcp 5424"},
		{[]string{"--tcp", "-P", tcpPort, "--rfc3164"}, "tcp 3164"},
		{[]string{"--tcp", "-P", tcpPort, "--rfc5424", "--octet-count"}, "tcp 5424 octets"},
	}
	start := time.Now()
	for _, c := range cases {
		args := append([]string{"-n", "127.0.0.1", "-t", "interop", "-p", "local4.warning", "--id=4242"}, c.args...)
		args = append(args, c.text)
		if out, err := exec.Command(logger, args...).CombinedOutput(); err != nil {
			t.Fatalf("logger %v: %v\n%s", args, err, out)
		}
	}
	got, err := sink.Wait(waitCtx(t), len(cases))
	if err != nil {
		t.Fatal(err)
	}
	byText := map[string]*metlog.Message{}
	for _, m := range got {
		byText[m.Payload] = m
	}
	host, _ := os.Hostname()
	for _, c := range cases {
		m := byText[c.text]
		if m == nil {
			t.Errorf("%q not received; got %+v", c.text, got)
			continue
		}
		if m.Logger != "interop" || m.Severity != metlog.Warning || m.Pid != 4242 || m.Hostname == "" ||
			m.Field("facility").Strings[0] != "local4" || m.Field("parse_error") != nil {
			t.Errorf("%q: %+v", c.text, m)
		}
		if !strings.HasPrefix(host, m.Hostname) {
			t.Errorf("%q: hostname %q, want a prefix of %q", c.text, m.Hostname, host)
		}
		if d := m.Time().Sub(start); d < -2*time.Second || d > time.Minute {
			t.Errorf("%q: timestamp %v, sent at %v", c.text, m.Time(), start)
		}
	}
	if m := byText["udp 5424"]; m != nil {
		if f := m.Field("msgid"); f == nil || f.Strings[0] != "M1" {
			t.Errorf("msgid: %+v", m)
		}
		if f := m.Field("test@32473.k"); f == nil || f.Strings[0] != "v w" {
			t.Errorf("structured data: %+v", m.Fields)
		}
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startRsyslog runs rsyslogd in the foreground with conf (where WORKDIR is
// replaced by its own directory) until the test ends, and waits until
// it accepts TCP connections on readyPort.
func startRsyslog(t *testing.T, conf string, readyPort int) {
	t.Helper()
	rsyslogd := lookPath(t, "rsyslogd", "rsyslog")
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
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", readyPort))
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("rsyslogd exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd not listening on %d: %v", readyPort, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRsyslogForwards has rsyslog forward what it receives to the input:
// RFC 5424 octet-counted over TCP, RFC 5424 over UDP, and the traditional
// BSD format over TCP with newline framing.
func TestRsyslogForwards(t *testing.T) {
	cfg := testConfig()
	sink := &inputtest.Sink{}
	in, _ := start(t, cfg, sink)
	udpPort := in.Addr().(*net.UDPAddr).Port
	tcpPort := in.TCPAddr().(*net.TCPAddr).Port
	listen := freePort(t)
	conf := fmt.Sprintf(`
global(workDirectory="WORKDIR")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="%[1]d" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="%[2]d" protocol="tcp" tcp_framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="%[3]d" protocol="udp" template="RSYSLOG_SyslogProtocol23Format")
  action(type="omfwd" target="127.0.0.1" port="%[2]d" protocol="tcp" template="RSYSLOG_TraditionalForwardFormat")
}
`, listen, tcpPort, udpPort)
	startRsyslog(t, conf, listen)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", listen))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := `<163>1 2026-11-22T05:00:00.25Z web01 shop 77 ORD [order@32473 id="9"] order failed` + "\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got, err := sink.Wait(waitCtx(t), 3)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 22, 5, 0, 0, 25e7, time.UTC)
	for i, m := range got {
		if m.Field("parse_error") != nil || m.Logger != "shop" || m.Hostname != "web01" || m.Pid != 77 ||
			m.Severity != metlog.Error || m.Field("facility").Strings[0] != "local4" ||
			!strings.HasSuffix(m.Payload, "order failed") {
			t.Errorf("message %d: %+v", i, m)
		}
		if f := m.Field("msgid"); f != nil && !m.Time().Equal(want) {
			t.Errorf("message %d: time %v, want %v", i, m.Time(), want)
		}
	}
	var sd int
	for _, m := range got {
		if f := m.Field("order@32473.id"); f != nil && f.Strings[0] == "9" {
			sd++
		}
	}
	if sd != 2 {
		t.Errorf("structured data in %d messages, want 2 (the RFC 5424 ones): %+v", sd, got)
	}
	if s := in.Counters().Snapshot(); s.Rejected["malformed"] != 0 {
		t.Errorf("counters %+v", s)
	}
}

// TestRsyslogForwardsTLS has rsyslog forward over TLS (GnuTLS driver,
// octet counting as RFC 5425 prescribes) to the input.
func TestRsyslogForwardsTLS(t *testing.T) {
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
		t.Skip("SKIPPED: rsyslog's TLS driver is not installed (Debian package rsyslog-gnutls; `make deps` installs it)")
	}
	ca := inputtest.NewCA(t)
	srv := ca.Server()
	cfg := testConfig()
	cfg.Address = ""
	cfg.TLS = input.TLS{CertFile: srv.CertFile, KeyFile: srv.KeyFile}
	sink := &inputtest.Sink{}
	in, _ := start(t, cfg, sink)
	listen := freePort(t)
	startRsyslog(t, fmt.Sprintf(`
global(workDirectory="WORKDIR" defaultNetstreamDriverCAFile="%[1]s")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="%[2]d" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="%[3]d" protocol="tcp" tcp_framing="octet-counted"
         streamDriver="gtls" streamDriverMode="1" streamDriverAuthMode="x509/name" streamDriverPermittedPeers="localhost"
         template="RSYSLOG_SyslogProtocol23Format")
}
`, ca.File, listen, in.TCPAddr().(*net.TCPAddr).Port), listen)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", listen))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("<165>1 2026-11-22T05:00:00Z web01 shop 77 - [a@1 b=\"c\"] over tls\n")); err != nil {
		t.Fatal(err)
	}
	got, err := sink.Wait(waitCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if m := got[0]; m.Logger != "shop" || m.Payload != "over tls" || m.Field("a@1.b") == nil || m.Field("parse_error") != nil {
		t.Errorf("got %+v", m)
	}
}
