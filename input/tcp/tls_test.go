package tcp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"maps"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/input"
	"github.com/metlog/metlog/input/inputtest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "metlog test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := Defaults()
	cfg.TLS.CertFile, cfg.TLS.KeyFile = certFile, keyFile
	sink := &inputtest.Sink{}
	in := start(t, cfg, sink)

	c, err := tls.Dial("tcp", in.Addr().String(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte(`{"type": "over tls"}` + "\n"))
	c.Close()
	msgs, err := sink.Wait(waitCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Type != "over tls" {
		t.Errorf("got %+v", msgs[0])
	}
	// A plain TCP client gets nothing through.
	plain := dial(t, in)
	plain.Write([]byte(`{"type": "plain"}` + "\n"))
	plain.SetReadDeadline(time.Now().Add(5 * time.Second))
	plain.Read(make([]byte, 1))
	if n := len(sink.Messages()); n != 1 {
		t.Errorf("%d messages; plain text was accepted on a TLS listener", n)
	}
}

func TestTLSValidate(t *testing.T) {
	cfg := Defaults()
	cfg.TLS.CertFile = "x.pem"
	if err := cfg.Validate(); err == nil {
		t.Error("cert_file without key_file accepted")
	}
	cfg.TLS.KeyFile = "missing.pem"
	if _, err := New(cfg, nil); err == nil {
		t.Error("missing certificate files accepted")
	}
}

// TestMutualTLSIdentity checks that a client certificate's name becomes
// field tls_client, a verified signer field signer, and that neither can
// be forged by the sender.
func TestMutualTLSIdentity(t *testing.T) {
	ca := inputtest.NewCA(t)
	srv := ca.Server()
	cfg := Defaults()
	cfg.TLS = input.TLS{CertFile: srv.CertFile, KeyFile: srv.KeyFile, ClientCAFile: ca.File}
	cfg.Signers = []input.SignerKey{{Name: "billing", Version: 1, Key: "k"}}
	sink := &inputtest.Sink{}
	in := start(t, cfg, sink)

	client := ca.Client("billing-worker")
	c, err := tls.Dial("tcp", in.Addr().String(), &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{client.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	forged := &metlog.Message{Type: "forged", Fields: []metlog.Field{metlog.String("tls_client", "admin"), metlog.String("signer", "root")}}
	signed, err := heka.AppendRecord(nil, &metlog.Message{Type: "signed"}, &heka.Signer{Name: "billing", Version: 1, Hash: heka.SHA256, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	c.Write(append(record(t, forged), signed...))
	msgs, err := sink.Wait(waitCtx(t), 2)
	c.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"forged": {"tls_client": "billing-worker"},
		"signed": {"tls_client": "billing-worker", "signer": "billing"},
	}
	for _, m := range msgs {
		got := map[string]string{}
		for _, f := range m.Fields {
			if len(f.Strings) != 1 {
				t.Fatalf("%s: field %s is %+v", m.Type, f.Name, f)
			}
			if _, dup := got[f.Name]; dup {
				t.Errorf("%s: field %s twice", m.Type, f.Name)
			}
			got[f.Name] = f.Strings[0]
		}
		if !maps.Equal(got, want[m.Type]) {
			t.Errorf("%s: fields %v, want %v", m.Type, got, want[m.Type])
		}
	}

	// Without a client certificate the handshake fails.
	c, err = tls.Dial("tcp", in.Addr().String(), &tls.Config{RootCAs: ca.Pool})
	if err == nil {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("a client without a certificate was served (err %v)", err)
	}
}

// TestTLSReload checks that Reload serves a renewed certificate to new
// connections while an open connection keeps working.
func TestTLSReload(t *testing.T) {
	ca := inputtest.NewCA(t)
	first, second := ca.Server(), ca.Server()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "router.crt"), filepath.Join(dir, "router.key")
	first.CopyTo(t, certFile, keyFile)
	cfg := Defaults()
	cfg.TLS = input.TLS{CertFile: certFile, KeyFile: keyFile}
	sink := &inputtest.Sink{}
	in := start(t, cfg, sink)

	served := func() (*tls.Conn, *big.Int) {
		t.Helper()
		c, err := tls.Dial("tcp", in.Addr().String(), &tls.Config{RootCAs: ca.Pool})
		if err != nil {
			t.Fatal(err)
		}
		return c, c.ConnectionState().PeerCertificates[0].SerialNumber
	}
	open, serial := served()
	defer open.Close()
	if serial.Cmp(first.Serial) != 0 {
		t.Fatalf("serial %v, want %v", serial, first.Serial)
	}
	second.CopyTo(t, certFile, keyFile)
	if err := in.Reload(); err != nil {
		t.Fatal(err)
	}
	c, serial := served()
	c.Close()
	if serial.Cmp(second.Serial) != 0 {
		t.Errorf("after reload: serial %v, want %v", serial, second.Serial)
	}
	// A broken file keeps the certificate in use.
	os.WriteFile(keyFile, []byte("not a key"), 0o600)
	if err := in.Reload(); err == nil {
		t.Error("reloading a broken key succeeded")
	}
	c, serial = served()
	c.Close()
	if serial.Cmp(second.Serial) != 0 {
		t.Errorf("after a failed reload: serial %v, want %v", serial, second.Serial)
	}
	// The connection opened before the reloads still delivers.
	open.Write([]byte(`{"type": "still open"}` + "\n"))
	msgs, err := sink.Wait(waitCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Type != "still open" {
		t.Errorf("got %q", msgs[0].Type)
	}
}
