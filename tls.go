package metlog

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// WithTLS sets the TLS configuration of tls:// and tls+ack:// targets
// (Dial, NewSender): the CAs that verify the router (RootCAs; default the
// system's), the client certificate for a router that requires one
// (Certificates), and ServerName when the target's host is not the name in
// the router's certificate. Other targets ignore it.
func WithTLS(c *tls.Config) Option { return func(o *options) { o.tls = c } }

// ClientTLS returns a tls.Config for WithTLS from PEM files: caFile (empty:
// the system's roots) verifies the router; certFile and keyFile (both or
// neither) are the client certificate a router with mutual TLS requires;
// serverName (empty: the target's host) is the name the router's
// certificate must have.
func ClientTLS(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("metlog: tls: %w", err)
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("metlog: tls: no PEM certificates in %s", caFile)
		}
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("metlog: tls: set both the certificate and the key file, or neither")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("metlog: tls: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
