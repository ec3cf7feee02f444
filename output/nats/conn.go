package nats

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	natsclient "github.com/nats-io/nats.go"
)

// Connection is how a NATS input or output reaches the cluster. Its keys
// sit at the top of the plugin's table (urls, user, …, [tls]).
type Connection struct {
	// URLs are the servers to try, nats://host:port (tls:// for TLS). List
	// several nodes of a cluster: the client fails over between them, and
	// learns the others from the cluster itself.
	URLs []string `toml:"urls"`
	// User and Password authenticate with a username and password.
	User     string `toml:"user"`
	Password string `toml:"password"`
	// Token authenticates with a token.
	Token string `toml:"token"`
	// CredsFile is a decentralised-auth credentials file (JWT and seed).
	CredsFile string `toml:"creds_file"`
	// TLS configures the client side of TLS.
	TLS TLS `toml:"tls"`
}

// TLS configures the client side of TLS to NATS.
type TLS struct {
	// CAFile is a PEM bundle of CAs to trust instead of the system's.
	CAFile string `toml:"ca_file"`
	// CertFile and KeyFile are a client certificate, for mutual TLS.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
}

// DefaultURL is the NATS server a Connection uses unless told otherwise.
const DefaultURL = "nats://127.0.0.1:4222"

// Validate reports every problem with c.
func (c *Connection) Validate() error {
	var errs []error
	if len(c.URLs) == 0 {
		errs = append(errs, errors.New("urls: list at least one server"))
	}
	for _, u := range c.URLs {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" {
			errs = append(errs, fmt.Errorf("urls: %q is not a nats://host:port URL", u))
		}
	}
	auth := 0
	for _, set := range []bool{c.User != "", c.Token != "", c.CredsFile != ""} {
		if set {
			auth++
		}
	}
	if auth > 1 {
		errs = append(errs, errors.New("set at most one of user, token and creds_file"))
	}
	if c.Password != "" && c.User == "" {
		errs = append(errs, errors.New("password needs user"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: set both cert_file and key_file, or neither"))
	}
	return errors.Join(errs...)
}

// Dial connects to the first server that answers. The connection then
// reconnects by itself, forever, whenever it loses its server; name
// identifies the client in the servers' monitoring.
func (c *Connection) Dial(name string, timeout time.Duration, log *slog.Logger) (*natsclient.Conn, error) {
	opts := []natsclient.Option{
		natsclient.Name(name),
		natsclient.Timeout(timeout),
		natsclient.MaxReconnects(-1),
		natsclient.ReconnectWait(250 * time.Millisecond),
		natsclient.DisconnectErrHandler(func(_ *natsclient.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		natsclient.ReconnectHandler(func(nc *natsclient.Conn) {
			log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		natsclient.ErrorHandler(func(_ *natsclient.Conn, _ *natsclient.Subscription, err error) {
			log.Warn("nats error", "err", err)
		}),
	}
	switch {
	case c.User != "":
		opts = append(opts, natsclient.UserInfo(c.User, c.Password))
	case c.Token != "":
		opts = append(opts, natsclient.Token(c.Token))
	case c.CredsFile != "":
		opts = append(opts, natsclient.UserCredentials(c.CredsFile))
	}
	if c.TLS.CAFile != "" {
		opts = append(opts, natsclient.RootCAs(c.TLS.CAFile))
	}
	if c.TLS.CertFile != "" {
		opts = append(opts, natsclient.ClientCert(c.TLS.CertFile, c.TLS.KeyFile))
	}
	servers := strings.Join(c.URLs, ",")
	nc, err := natsclient.Connect(servers, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", servers, err)
	}
	return nc, nil
}
