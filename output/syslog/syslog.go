// Package syslog is the output that sends messages to a syslog server, as
// RFC 5424 or RFC 3164 messages, over UDP (a datagram each), TCP or TLS
// (RFC 5425), with octet-counted or newline framing on streams.
//
// The header comes from the message as codec/syslog's HeaderOf takes it:
// severity, timestamp, hostname, logger as app-name, pid, and the
// "facility" and "msgid" fields that the syslog input sets, so a message
// read by the syslog input goes out as it came in. RFC 5424 structured
// data is written from fields named "SD-ID.PARAM-NAME" (the input's
// naming); other fields are not sent. The payload is the message text.
//
// # CEF
//
// Messages of type "cef", from metlog-cef, are sent as the CEF lines they
// carry: the payload is the text, and the fields metlog-cef sets in
// cef_meta choose the header, as its syslog call did — facility from
// cef_meta.syslog_facility ("LOCAL4"), severity from
// cef_meta.syslog_priority ("ALERT"), app-name from cef_meta.syslog_ident,
// and the pid only when cef_meta.syslog_options holds "PID". Missing or
// unknown values fall back to the usual mapping.
//
// # Delivery
//
// Each batch is written with one write on TCP and TLS. A network error
// drops the connection and is returned, so the router retries the batch
// with backoff; the next Write connects again. Syslog has no
// acknowledgements, so a batch written into a connection the server has
// just closed can be lost; before writing into a connection idle for a
// second or more, the output checks that the server has not closed it.
// Messages longer than max_message_size are cut to it (on a UTF-8
// boundary) and counted. With newline framing, line feeds in a message
// are sent as spaces, since they would end it.
package syslog

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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/metlog/metlog"
	"github.com/metlog/metlog/codec/syslog"
	"github.com/metlog/metlog/config"
)

//go:embed sample.toml
var sample string

// Sample returns the sample configuration, as `metlog plugins` prints it.
func Sample() string { return sample }

// Config is the [output.NAME] table of a syslog output.
type Config struct {
	// Address of the syslog server, host:port.
	Address string `toml:"address"`
	// Protocol is "udp", "tcp" or "tls".
	Protocol string `toml:"protocol"`
	// Format is "rfc5424" or "rfc3164".
	Format string `toml:"format"`
	// Framing on TCP and TLS is "octet-counting" (RFC 6587, RFC 5425) or
	// "newline".
	Framing string `toml:"framing"`
	// Facility of messages that have no "facility" field: a name such as
	// "user" or "local4", or a number 0..23.
	Facility string `toml:"facility"`
	// Hostname replaces every message's hostname when set; otherwise
	// messages without one get this machine's name.
	Hostname string `toml:"hostname"`
	// AppName is the app-name (tag) of messages without a logger.
	AppName string `toml:"app_name"`
	// Timezone of RFC 3164 timestamps: "Local", "UTC" or an IANA name.
	Timezone string `toml:"timezone"`
	// MaxMessageSize is the longest message sent, in bytes of its syslog
	// form; longer ones are cut.
	MaxMessageSize int `toml:"max_message_size"`
	// CEF sends "cef" messages as CEF lines with the header metlog-cef asks
	// for in cef_meta.
	CEF bool `toml:"cef"`
	// Timeout bounds connecting and writing one batch.
	Timeout config.Duration `toml:"timeout"`
	// TLS configures protocol "tls".
	TLS TLS `toml:"tls"`
}

// TLS configures the client side of TLS.
type TLS struct {
	// CAFile is a PEM bundle of CAs to trust instead of the system's.
	CAFile string `toml:"ca_file"`
	// CertFile and KeyFile are a client certificate, for mutual TLS.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName string `toml:"server_name"`
}

// Defaults returns a Config with every default set.
func Defaults() Config {
	return Config{
		Address:        "127.0.0.1:514",
		Protocol:       "tcp",
		Format:         "rfc5424",
		Framing:        "octet-counting",
		Facility:       "user",
		AppName:        "metlog",
		Timezone:       "Local",
		MaxMessageSize: 8192,
		CEF:            true,
		Timeout:        config.Duration(10 * time.Second),
	}
}

// Validate reports every problem with c.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Address); err != nil {
		errs = append(errs, fmt.Errorf("address %q: %v", c.Address, err))
	}
	if !slices.Contains([]string{"udp", "tcp", "tls"}, c.Protocol) {
		errs = append(errs, fmt.Errorf("protocol %q: want \"udp\", \"tcp\" or \"tls\"", c.Protocol))
	}
	if c.Format != "rfc5424" && c.Format != "rfc3164" {
		errs = append(errs, fmt.Errorf("format %q: want \"rfc5424\" or \"rfc3164\"", c.Format))
	}
	if c.Framing != "octet-counting" && c.Framing != "newline" {
		errs = append(errs, fmt.Errorf("framing %q: want \"octet-counting\" or \"newline\"", c.Framing))
	}
	if _, err := syslog.ParseFacility(c.Facility); err != nil {
		errs = append(errs, err)
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("timezone %q: %v", c.Timezone, err))
	}
	if c.MaxMessageSize < 480 || c.MaxMessageSize > 65507 {
		errs = append(errs, fmt.Errorf("max_message_size %d: want 480..65507", c.MaxMessageSize))
	}
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout must be positive"))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: set both cert_file and key_file, or neither"))
	}
	return errors.Join(errs...)
}

// Stats are an output's running totals.
type Stats struct {
	// Messages is the number of messages written.
	Messages uint64
	// Truncated counts messages cut to max_message_size.
	Truncated uint64
}

// Output sends batches to a syslog server over one connection,
// reconnecting as needed. It is safe for concurrent use, though the router
// calls Write from one goroutine.
type Output struct {
	cfg      Config
	log      *slog.Logger
	facility syslog.Facility
	loc      *time.Location
	hostname string
	tls      *tls.Config

	messages, truncated atomic.Uint64

	mu       sync.Mutex
	conn     net.Conn
	lastUsed time.Time
	buf      []byte
	ends     []int // end of each message in buf (UDP)
}

// New prepares the output; it connects on the first Write.
func New(cfg Config, log *slog.Logger) (*Output, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Output{cfg: cfg, log: log, hostname: cfg.Hostname}
	o.facility, _ = syslog.ParseFacility(cfg.Facility)
	o.loc, _ = time.LoadLocation(cfg.Timezone)
	if o.hostname == "" {
		o.hostname, _ = os.Hostname()
	}
	if cfg.Protocol == "tls" {
		host, _, _ := net.SplitHostPort(cfg.Address)
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLS.ServerName}
		if tc.ServerName == "" {
			tc.ServerName = host
		}
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
	return o, nil
}

// Stats returns the output's running totals.
func (o *Output) Stats() Stats {
	return Stats{Messages: o.messages.Load(), Truncated: o.truncated.Load()}
}

// Write sends the batch. It returns once the messages are handed to the
// socket: syslog has no acknowledgements.
func (o *Output) Write(ctx context.Context, batch []*metlog.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf, ends := o.buf[:0], o.ends[:0]
	var truncated uint64
	for _, m := range batch {
		var cut bool
		buf, cut = o.appendMessage(buf, m)
		ends = append(ends, len(buf))
		if cut {
			truncated++
		}
	}
	o.buf, o.ends = buf, ends
	if err := o.send(ctx, buf, ends); err != nil {
		return err
	}
	o.messages.Add(uint64(len(batch)))
	if truncated > 0 {
		o.truncated.Add(truncated)
		o.log.Warn("messages over max_message_size truncated", "count", truncated)
	}
	return nil
}

// TypeCEF is the type of metlog-cef's messages.
const TypeCEF = "cef"

// header is the syslog header of m.
func (o *Output) header(m *metlog.Message) syslog.Header {
	h := syslog.HeaderOf(m, o.facility)
	if o.cfg.Hostname != "" || h.Hostname == "" {
		h.Hostname = o.hostname
	}
	if h.AppName == "" {
		h.AppName = o.cfg.AppName
	}
	if !o.cfg.CEF || m.Type != TypeCEF {
		return h
	}
	if v := fieldString(m, "cef_meta.syslog_facility"); v != "" {
		if f, err := syslog.ParseFacility(v); err == nil {
			h.Facility = f
		}
	}
	if v := fieldString(m, "cef_meta.syslog_priority"); v != "" {
		if s, err := metlog.ParseSeverity(strings.TrimPrefix(strings.ToUpper(v), "LOG_")); err == nil {
			h.Severity = s
		}
	}
	if v := fieldString(m, "cef_meta.syslog_ident"); v != "" {
		h.AppName = v
	}
	h.ProcID = ""
	if m.Pid != 0 && strings.Contains(strings.ToUpper(fieldString(m, "cef_meta.syslog_options")), "PID") {
		h.ProcID = strconv.Itoa(int(m.Pid))
	}
	h.MsgID = ""
	return h
}

func fieldString(m *metlog.Message, name string) string {
	f := m.Field(name)
	if f == nil || f.Type != metlog.TypeString || len(f.Strings) == 0 {
		return ""
	}
	return f.Strings[0]
}

// appendMessage appends m, framed for the protocol, and reports whether it
// had to be cut.
func (o *Output) appendMessage(buf []byte, m *metlog.Message) ([]byte, bool) {
	h := o.header(m)
	octets := o.cfg.Protocol != "udp" && o.cfg.Framing == "octet-counting"
	// Room for the octet count, written once the length is known.
	const countRoom = 6
	frameStart := len(buf)
	if octets {
		buf = append(buf, make([]byte, countRoom)...)
	}
	start := len(buf)
	var fields []metlog.Field
	if m.Type != TypeCEF || !o.cfg.CEF {
		fields = m.Fields
	}
	if o.cfg.Format == "rfc3164" {
		buf = syslog.AppendRFC3164(buf, &h, o.loc, m.Payload)
	} else {
		buf = syslog.AppendRFC5424(buf, &h, fields, m.Payload)
	}
	cut := false
	if n := len(buf) - start; n > o.cfg.MaxMessageSize {
		end := start + o.cfg.MaxMessageSize
		for end > start && !utf8.RuneStart(buf[end]) {
			end--
		}
		buf = buf[:end]
		cut = true
	}
	switch {
	case octets:
		count := strconv.AppendInt(make([]byte, 0, countRoom), int64(len(buf)-start), 10)
		count = append(count, ' ')
		// Move the count next to the message.
		pad := countRoom - len(count)
		copy(buf[frameStart+pad:], count)
		buf = append(buf[:frameStart], buf[frameStart+pad:]...)
	case o.cfg.Protocol != "udp":
		for i := start; i < len(buf); i++ {
			if buf[i] == '\n' {
				buf[i] = ' '
			}
		}
		buf = append(buf, '\n')
	}
	return buf, cut
}

// send writes buf, the messages ending at ends, connecting first when
// needed. On error the connection is closed.
func (o *Output) send(ctx context.Context, buf []byte, ends []int) error {
	if len(buf) == 0 {
		return nil
	}
	if err := o.connect(ctx); err != nil {
		return err
	}
	deadline := time.Now().Add(o.cfg.Timeout.D())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	o.conn.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { o.conn.SetWriteDeadline(time.Now()) })
	defer stop()
	if o.cfg.Protocol == "udp" {
		start := 0
		for _, end := range ends {
			if _, err := o.conn.Write(buf[start:end]); err != nil {
				return o.fail(err)
			}
			start = end
		}
	} else if _, err := o.conn.Write(buf); err != nil {
		return o.fail(err)
	}
	o.lastUsed = time.Now()
	return nil
}

// idleCheck is how long a stream connection may idle before a write checks
// that the server still holds it open.
const idleCheck = time.Second

// connect dials when there is no connection, or when the server closed an
// idle one.
func (o *Output) connect(ctx context.Context) error {
	if o.conn != nil && o.cfg.Protocol != "udp" && time.Since(o.lastUsed) >= idleCheck && o.peerClosed() {
		o.log.Info("syslog server closed the connection; reconnecting", "address", o.cfg.Address)
		o.conn.Close()
		o.conn = nil
	}
	if o.conn != nil {
		return nil
	}
	d := net.Dialer{Timeout: o.cfg.Timeout.D()}
	var conn net.Conn
	var err error
	switch o.cfg.Protocol {
	case "tls":
		td := tls.Dialer{NetDialer: &d, Config: o.tls}
		conn, err = td.DialContext(ctx, "tcp", o.cfg.Address)
	default:
		conn, err = d.DialContext(ctx, o.cfg.Protocol, o.cfg.Address)
	}
	if err != nil {
		return err
	}
	o.conn = conn
	return nil
}

// peerClosed reads briefly from the connection: syslog servers never send
// anything, so an end of stream or an error other than the timeout means
// the connection is gone.
func (o *Output) peerClosed() bool {
	var b [1]byte
	o.conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	_, err := o.conn.Read(b[:])
	o.conn.SetReadDeadline(time.Time{})
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// fail closes the connection after err.
func (o *Output) fail(err error) error {
	o.conn.Close()
	o.conn = nil
	return fmt.Errorf("writing to syslog server %s: %w", o.cfg.Address, err)
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
