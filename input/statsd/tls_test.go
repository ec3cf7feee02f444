package statsd

import (
	"crypto/tls"
	"io"
	"testing"

	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
)

// TestTCPMutualTLS sends statsd lines over mutual TLS: they carry the
// client's name and a tag cannot forge it.
func TestTCPMutualTLS(t *testing.T) {
	ca := inputtest.NewCA(t)
	srv := ca.Server()
	cfg := Defaults()
	cfg.TLS = input.TLS{CertFile: srv.CertFile, KeyFile: srv.KeyFile, ClientCAFile: ca.File}
	sink := newLineSink(false)
	in, stop := start(t, cfg, sink, true)
	defer stop()

	client := ca.Client("web-1")
	c, err := tls.Dial("tcp", in.TCPAddr().String(), &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{client.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "hits:1|c|#tls_client:forged,signer:forged,env:prod\n")
	c.Close()
	msgs, err := sink.Wait(waitCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range msgs[0].Fields {
		if f.Name != "rate" {
			got[f.Name] = f.Strings[0]
		}
	}
	if len(got) != 3 || got["name"] != "hits" || got["env"] != "prod" || got["tls_client"] != "web-1" {
		t.Errorf("fields %v", got)
	}

	if err := in.Reload(); err != nil {
		t.Fatal(err)
	}
}

func TestTLSNeedsTCP(t *testing.T) {
	cfg := Defaults()
	cfg.TLS = input.TLS{CertFile: "c", KeyFile: "k"}
	if err := cfg.Validate(); err == nil {
		t.Error("tls without tcp_address accepted")
	}
}

func TestTCPRateLimit(t *testing.T) {
	cfg := Defaults()
	cfg.Rate, cfg.Burst = 0.001, 3 // three at once, then one per 1000 s
	sink := newLineSink(false)
	in, stop := start(t, cfg, sink, true)
	c := dialTCP(t, in)
	io.WriteString(c, "a:1|c\nb:1|c\nc:1|c\nd:1|c\ne:1|c\n")
	c.Close()
	if _, err := sink.Wait(waitCtx(t), 3); err != nil {
		t.Fatal(err)
	}
	stop() // every count is in once Run has returned
	if r := in.Counters().Snapshot().Rejected; r["rate_limited"] != 2 {
		t.Errorf("rejected %v", r)
	}
	if n := len(sink.Messages()); n != 3 {
		t.Errorf("%d messages through", n)
	}
}

func TestUDPRateLimit(t *testing.T) {
	cfg := Defaults()
	cfg.Rate, cfg.Burst = 0.001, 3 // three at once, then one per 1000 s
	sink := newLineSink(false)
	in, stop := start(t, cfg, sink, false)
	sendUDP(t, in.Addr(), "a:1|c\nb:1|c", "c:1|c\nd:1|c\ne:1|c")
	// Line c, the third through, is in the second datagram, whose lines
	// are all counted before any of them is delivered.
	if _, err := sink.Wait(waitCtx(t), 3); err != nil {
		t.Fatal(err)
	}
	stop()
	if r := in.Counters().Snapshot().Rejected; r["rate_limited"] != 2 {
		t.Errorf("rejected %v", r)
	}
	if n := len(sink.Messages()); n != 3 {
		t.Errorf("%d lines through", n)
	}
}
