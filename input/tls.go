package input

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// TLS configures TLS on a listener. With no cert_file it is off.
//
//	[input.tcp.tls]
//	cert_file = "/etc/metlog/router.crt"
//	key_file = "/etc/metlog/router.key"
//	client_ca_file = "/etc/metlog/clients-ca.crt"   # optional: mutual TLS
//
// The files are read again on every reload (SIGHUP): new connections get
// the new certificate, open ones keep theirs.
type TLS struct {
	// CertFile and KeyFile are the server's PEM certificate chain and key.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// ClientCAFile, when set, requires clients to present a certificate
	// signed by one of these PEM CAs (mutual TLS).
	ClientCAFile string `toml:"client_ca_file"`
	// MinVersion is "1.2" or "1.3"; default "1.2".
	MinVersion string `toml:"min_version"`
}

// Enabled reports whether TLS is configured.
func (t *TLS) Enabled() bool { return t.CertFile != "" || t.KeyFile != "" }

// Validate checks the settings without reading files.
func (t *TLS) Validate() error {
	var errs []error
	if t.Enabled() && (t.CertFile == "" || t.KeyFile == "") {
		errs = append(errs, errors.New("tls: set both cert_file and key_file"))
	}
	if t.ClientCAFile != "" && !t.Enabled() {
		errs = append(errs, errors.New("tls: client_ca_file needs cert_file and key_file"))
	}
	switch t.MinVersion {
	case "", "1.2", "1.3":
	default:
		errs = append(errs, fmt.Errorf("tls: min_version %q: want \"1.2\" or \"1.3\"", t.MinVersion))
	}
	return errors.Join(errs...)
}

// Config loads the certificates into a fixed tls.Config; it returns nil
// when TLS is off. Listeners that reload use Server instead.
func (t *TLS) Config() (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.MinVersion == "1.3" {
		c.MinVersion = tls.VersionTLS13
	}
	if t.ClientCAFile != "" {
		pem, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: no PEM certificates in %s", t.ClientCAFile)
		}
		c.ClientCAs = pool
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return c, nil
}

// Server loads the certificates into a ServerTLS; it returns nil when TLS
// is off.
func (t *TLS) Server() (*ServerTLS, error) {
	if !t.Enabled() {
		return nil, nil
	}
	s := &ServerTLS{cfg: *t}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// ServerTLS is a listener's TLS settings whose certificate, key and client
// CAs can be read again while it serves. It is safe for concurrent use.
type ServerTLS struct {
	cfg TLS
	cur atomic.Pointer[tls.Config]
}

// Reload reads the files again. On error the previous certificates stay
// in use; connections already open are never affected.
func (s *ServerTLS) Reload() error {
	c, err := s.cfg.Config()
	if err != nil {
		return err
	}
	s.cur.Store(c)
	return nil
}

// Config returns the tls.Config to listen with: every handshake uses the
// certificates most recently loaded.
func (s *ServerTLS) Config() *tls.Config {
	first := s.cur.Load()
	return &tls.Config{
		MinVersion: first.MinVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return s.cur.Load(), nil
		},
	}
}

// Reloader is implemented by inputs holding files they can read again
// without stopping (certificates); the router calls Reload on SIGHUP for
// every input whose configuration did not change.
type Reloader interface {
	Reload() error
}

// ClientName returns the identity of a verified client certificate: the
// subject's common name, or failing that its first DNS, e-mail or URI
// subject alternative name. It returns "" when the connection presented
// no verified certificate.
func ClientName(cs *tls.ConnectionState) string {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return ""
	}
	c := cs.VerifiedChains[0][0]
	switch {
	case c.Subject.CommonName != "":
		return c.Subject.CommonName
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	case len(c.EmailAddresses) > 0:
		return c.EmailAddresses[0]
	case len(c.URIs) > 0:
		return c.URIs[0].String()
	}
	return strings.TrimSpace(c.Subject.String())
}
