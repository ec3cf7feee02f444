package metlog_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
	"github.com/metlog/metlog/input/tcp"
)

// TestDialTLS sends over tls:// and tls+ack:// to a router's TCP input
// that requires client certificates, with the client configured from a
// Config, and checks that the messages arrive marked with the client's
// name; without the client certificate nothing gets through.
func TestDialTLS(t *testing.T) {
	ca := inputtest.NewCA(t)
	srv := ca.Server()
	cfg := tcp.Defaults()
	cfg.Address = "127.0.0.1:0"
	cfg.TLS = input.TLS{CertFile: srv.CertFile, KeyFile: srv.KeyFile, ClientCAFile: ca.File}
	in, err := tcp.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	sink := &inputtest.Sink{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	client := ca.Client("app-7")
	_, port, _ := net.SplitHostPort(in.Addr().String())

	for i, scheme := range []string{"tls", "tls+ack"} {
		t.Run(scheme, func(t *testing.T) {
			c, err := metlog.DialConfig(metlog.Config{
				// "localhost" is in the router's certificate; 127.0.0.1 is too.
				Target:    scheme + "://localhost:" + port,
				TLSCAFile: ca.File, TLSCertFile: client.CertFile, TLSKeyFile: client.KeyFile,
			})
			if err != nil {
				t.Fatal(err)
			}
			c.Metlog("over-" + scheme)
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer wcancel()
			msgs, err := sink.Wait(wctx, i+1)
			if err != nil {
				t.Fatal(err)
			}
			m := msgs[i]
			if m.Type != "over-"+scheme {
				t.Errorf("type %q", m.Type)
			}
			if f := m.Field(input.FieldTLSClient); f == nil || f.Strings[0] != "app-7" {
				t.Errorf("fields %+v", m.Fields)
			}
		})
	}

	// The router's CA but no client certificate: refused by the router.
	tc, err := metlog.ClientTLS(ca.File, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := metlog.NewSender("tls://127.0.0.1:"+port, metlog.WithTLS(tc))
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer wcancel()
	for range 3 { // TLS 1.3 reports the refusal on a later write
		s.Send(wctx, []*metlog.Message{{Type: "refused"}})
	}
	s.Close()
	if n := len(sink.Messages()); n != 2 {
		t.Errorf("%d messages; one without a client certificate got through", n)
	}
}

func TestClientTLSErrors(t *testing.T) {
	for name, files := range map[string][3]string{
		"missing CA":       {"/nonexistent/ca.pem", "", ""},
		"cert without key": {"", "cert.pem", ""},
	} {
		if _, err := metlog.ClientTLS(files[0], files[1], files[2], ""); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := metlog.NewSender("tls://host"); err != nil {
		t.Errorf("tls:// without options: %v", err)
	}
	if _, err := metlog.NewSender("tls+ack://host:1?format=json"); err == nil {
		t.Error("tls+ack with JSON accepted")
	}
}
