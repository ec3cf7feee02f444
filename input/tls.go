package input

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLS configures TLS on a listener. With no cert_file it is off.
//
//	[input.tcp.tls]
//	cert_file = "/etc/metlog/router.crt"
//	key_file = "/etc/metlog/router.key"
//	client_ca_file = "/etc/metlog/clients-ca.crt"   # optional: mutual TLS
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

// Config loads the certificates; it returns nil when TLS is off.
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
