// Package tcp is the output that forwards messages to another metlog router
// over TCP or TLS in the acknowledged mode (docs/protocol.md): Write returns
// only once the next router holds the batch durably, so router chains keep
// the at-least-once guarantee end to end.
package tcp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/heka"
	"github.com/metlog/metlog/config"
	tcpin "github.com/metlog/metlog/input/tcp"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [output.NAME] table of a tcp output.
type Config struct {
	// Address of the next router's tcp input, host:port.
	Address string `toml:"address"`
	// Timeout bounds connecting, writing a batch and waiting for its ack.
	Timeout config.Duration `toml:"timeout"`
	// TLS connects with TLS when enabled.
	TLS TLS `toml:"tls"`
	// Signer signs every record when Name is set.
	Signer Signer `toml:"signer"`
}

// TLS configures the client side of TLS.
type TLS struct {
	// Enabled turns TLS on.
	Enabled bool `toml:"enabled"`
	// CAFile is a PEM bundle of CAs to trust instead of the system's.
	CAFile string `toml:"ca_file"`
	// CertFile and KeyFile are a client certificate, for mutual TLS.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName string `toml:"server_name"`
}

// Signer configures HMAC signing of forwarded records.
type Signer struct {
	Name    string `toml:"name"`
	Version uint32 `toml:"version"`
	// Hash is "md5", "sha1" or "sha256".
	Hash string `toml:"hash"`
	// Key, or KeyFile holding it.
	Key     string `toml:"key"`
	KeyFile string `toml:"key_file"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{Timeout: config.Duration(30 * time.Second), Signer: Signer{Hash: "sha256"}}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		errs = append(errs, fmt.Errorf("address %q: %v", c.Address, err))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout must be positive"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: set both cert_file and key_file, or neither"))
	}
	if c.Signer.Name != "" {
		if _, err := heka.ParseHash(c.Signer.Hash); err != nil {
			errs = append(errs, fmt.Errorf("signer: %w", err))
		}
		if (c.Signer.Key == "") == (c.Signer.KeyFile == "") {
			errs = append(errs, errors.New("signer: set exactly one of key and key_file"))
		}
	}
	return errors.Join(errs...)
}

// Output forwards batches over one connection, reconnecting as needed.
type Output struct {
	cfg    Config
	log    *slog.Logger
	tls    *tls.Config
	signer *heka.Signer

	mu     sync.Mutex
	conn   net.Conn
	acks   *heka.Reader
	sent   int64 // records written on this connection
	acked  int64 // records the peer acknowledged on this connection
	reject int64 // of which it rejected
	buf    []byte
}

// New prepares the output; it connects on the first Write.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Output{cfg: cfg, log: log}
	if cfg.TLS.Enabled {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLS.ServerName}
		if cfg.TLS.CAFile != "" {
			pem, err := os.ReadFile(cfg.TLS.CAFile)
			if err != nil {
				return nil, err
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("tls: no PEM certificates in %s", cfg.TLS.CAFile)
			}
		}
		if cfg.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
			if err != nil {
				return nil, err
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		o.tls = tc
	}
	if cfg.Signer.Name != "" {
		key := cfg.Signer.Key
		if cfg.Signer.KeyFile != "" {
			b, err := os.ReadFile(cfg.Signer.KeyFile)
			if err != nil {
				return nil, err
			}
			key = trimNewlines(string(b))
		}
		h, _ := heka.ParseHash(cfg.Signer.Hash)
		o.signer = &heka.Signer{Name: cfg.Signer.Name, Version: cfg.Signer.Version, Hash: h, Key: key}
	}
	return o, nil
}

func trimNewlines(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// Write sends the batch and waits until the next router acknowledges all of
// it. On any error the connection is dropped; the router retries the whole
// batch, and the receiving side may see some messages twice, with the same
// UUIDs.
func (o *Output) Write(ctx context.Context, batch []*metlog.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.connect(ctx); err != nil {
		return err
	}
	buf := o.buf[:0]
	n := 0
	for _, m := range batch {
		var err error
		next, err := heka.AppendRecord(buf, m, o.signer)
		if err != nil {
			o.log.Warn("message cannot be forwarded; skipped", "uuid", m.UUID, "err", err)
			continue
		}
		buf = next
		n++
	}
	o.buf = buf
	deadline := time.Now().Add(o.cfg.Timeout.D())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	o.conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { o.conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := o.conn.Write(buf); err != nil {
		return o.fail(err)
	}
	o.sent += int64(n)
	rejectedBefore := o.reject
	for o.acked < o.sent {
		rec, err := o.acks.Next()
		if err != nil {
			return o.fail(fmt.Errorf("waiting for the ack: %w", err))
		}
		var ack metlog.Message
		if err := heka.Unmarshal(rec.Message, &ack); err != nil || ack.Type != tcpin.TypeAck {
			return o.fail(fmt.Errorf("the peer sent something other than an ack (type %q)", ack.Type))
		}
		if f := ack.Field("count"); f != nil && len(f.Integers) == 1 {
			o.acked = f.Integers[0]
		}
		if f := ack.Field("rejected"); f != nil && len(f.Integers) == 1 {
			o.reject = f.Integers[0]
		}
	}
	if r := o.reject - rejectedBefore; r > 0 {
		o.log.Warn("the next router rejected messages", "rejected", r)
	}
	return nil
}

func (o *Output) connect(ctx context.Context) error {
	if o.conn != nil {
		return nil
	}
	d := net.Dialer{Timeout: o.cfg.Timeout.D()}
	var conn net.Conn
	var err error
	if o.tls != nil {
		td := tls.Dialer{NetDialer: &d, Config: o.tls}
		conn, err = td.DialContext(ctx, "tcp", o.cfg.Address)
	} else {
		conn, err = d.DialContext(ctx, "tcp", o.cfg.Address)
	}
	if err != nil {
		return err
	}
	hello := metlog.Message{
		Timestamp: time.Now().UnixNano(), Type: tcpin.TypeHello, Logger: "metlog", Severity: metlog.Info,
		EnvVersion: metlog.EnvVersion,
		Fields:     []metlog.Field{metlog.Bool("ack", true), metlog.Int("protocol", 1)},
	}
	rec, _ := heka.AppendRecord(nil, &hello, o.signer)
	conn.SetWriteDeadline(time.Now().Add(o.cfg.Timeout.D()))
	if _, err := conn.Write(rec); err != nil {
		conn.Close()
		return err
	}
	o.conn, o.acks = conn, heka.NewReader(conn, 0)
	o.sent, o.acked, o.reject = 0, 0, 0
	return nil
}

func (o *Output) fail(err error) error {
	o.conn.Close()
	o.conn, o.acks = nil, nil
	return err
}

// Close closes the connection.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.conn == nil {
		return nil
	}
	err := o.conn.Close()
	o.conn = nil
	return err
}
