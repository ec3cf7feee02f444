package tcp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

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
