package metlog

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// DefaultTarget is where Dial sends when given no target and METLOG_TARGET
// is unset: a metlog router's UDP input on this host.
const DefaultTarget = "udp://127.0.0.1:5565"

// DefaultPort is the port of a target that names none.
const DefaultPort = "5565"

// Network timeouts of the senders Dial makes. A write that takes longer
// fails the batch, which is counted in Stats.Failed.
const (
	dialTimeout  = 2 * time.Second
	writeTimeout = 2 * time.Second
)

// Wire formats a target can ask for with ?format=.
type wireFormat uint8

const (
	formatJSON wireFormat = iota + 1 // metlog JSON
	formatHeka                       // heka stream framing around the protobuf
)

// Size limits of what the senders write.
const (
	maxDatagram    = 65507 // largest UDP payload over IPv4
	maxHekaMessage = 65536 // Heka's message size limit
)

var errTooLarge = errors.New("message too large")

// Dial returns a Client that sends to target, a URL naming the transport:
//
//	udp://host:port   metlog JSON, one message per datagram (the default
//	                  transport, understood by every metlog router)
//	tcp://host:port   heka stream framing, many records per write
//	tcp+ack://host:port  reliable: the router acknowledges what is durable,
//	                  and the client resends what it has not acknowledged
//	                  after a reconnect (docs/protocol.md); a bounded resend
//	                  buffer of DefaultResendBuffer messages
//	tls://host:port   tcp:// over TLS (see WithTLS for the CAs and a client
//	                  certificate; by default the system's CAs verify the
//	                  router)
//	tls+ack://host:port  tcp+ack:// over TLS
//	unix:///path      heka stream framing over a Unix stream socket
//	stdout:           metlog JSON, one message per line, on standard output
//	file:///path      metlog JSON lines appended to a file
//
// A query of format=json or format=heka overrides the format (heka over UDP
// is one framed record per datagram; json over a stream is one message per
// line). A host without a port gets DefaultPort. An empty target is taken
// from the METLOG_TARGET environment variable, and failing that is
// DefaultTarget.
//
// Dial does not connect: stream transports connect on the first send and
// reconnect with exponential backoff, so a router that is down costs the
// application nothing but the messages (counted in Stats.Failed). Dial
// fails only for a target it does not understand or a file it cannot open.
func Dial(target string, opts ...Option) (*Client, error) {
	s, err := NewSender(target, opts...)
	if err != nil {
		return nil, err
	}
	return New(s, opts...), nil
}

// NewSender returns the Sender for target, read as Dial reads it. Of the
// options, only WithTLS concerns a sender; the others are ignored.
func NewSender(target string, opts ...Option) (Sender, error) {
	t, err := parseTarget(target)
	if err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	var tc *tls.Config
	if t.tls {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
		if o.tls != nil {
			tc = o.tls.Clone()
		}
	}
	switch t.kind {
	case "udp":
		return newUDPSender(t.network, t.addr, t.format), nil
	case "stream":
		s := newStreamSender(t.network, t.addr, t.format)
		s.tls = tc
		return s, nil
	case "ack":
		return newAckSender(t.network, t.addr, tc, DefaultResendBuffer), nil
	case "stdout":
		return newWriterSender(os.Stdout, false, t.format), nil
	}
	f, err := os.OpenFile(t.addr, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("metlog: target %q: %w", t.raw, err)
	}
	return newWriterSender(f, true, t.format), nil
}

// target is a parsed Dial target.
type target struct {
	raw     string
	kind    string // "udp", "stream", "ack", "stdout" or "file"
	network string // for net.Dial
	addr    string // host:port, socket path or file path
	format  wireFormat
	tls     bool // stream and ack over TLS
}

// parseTarget reads a Dial target without opening or resolving anything.
func parseTarget(raw string) (target, error) {
	if raw == "" {
		raw = os.Getenv("METLOG_TARGET")
	}
	if raw == "" {
		raw = DefaultTarget
	}
	t := target{raw: raw}
	fail := func(err error) (target, error) { return target{}, fmt.Errorf("metlog: target %q: %w", raw, err) }
	if _, port, err := net.SplitHostPort(raw); err == nil && port != "" && strings.Trim(port, "0123456789") == "" {
		return target{}, fmt.Errorf("metlog: target %q has no scheme (want udp://%s, or tcp://, unix://, stdout:, file://)", raw, raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fail(err)
	}
	format, err := parseFormat(u)
	if err != nil {
		return fail(err)
	}
	path := u.Path
	if path == "" {
		path = u.Opaque
	}
	switch u.Scheme {
	case "udp", "udp4", "udp6", "tcp", "tcp4", "tcp6":
		if t.addr, err = hostPort(u); err != nil {
			return fail(err)
		}
		t.network = u.Scheme
		t.kind, t.format = "udp", or(format, formatJSON)
		if strings.HasPrefix(u.Scheme, "tcp") {
			t.kind, t.format = "stream", or(format, formatHeka)
		}
	case "tls":
		if t.addr, err = hostPort(u); err != nil {
			return fail(err)
		}
		t.kind, t.network, t.format, t.tls = "stream", "tcp", or(format, formatHeka), true
	case "tcp+ack", "tls+ack":
		if t.addr, err = hostPort(u); err != nil {
			return fail(err)
		}
		if format == formatJSON {
			return fail(errors.New("the acknowledged protocol speaks heka framing only"))
		}
		t.kind, t.network, t.format, t.tls = "ack", "tcp", formatHeka, u.Scheme == "tls+ack"
	case "unix":
		if path == "" {
			return fail(errors.New("no socket path (want unix:///path)"))
		}
		t.kind, t.network, t.addr, t.format = "stream", "unix", path, or(format, formatHeka)
	case "stdout":
		t.kind, t.format = "stdout", or(format, formatJSON)
	case "file":
		if path == "" {
			return fail(errors.New("no file path (want file:///path)"))
		}
		t.kind, t.addr, t.format = "file", path, or(format, formatJSON)
	case "":
		return target{}, fmt.Errorf("metlog: target %q has no scheme (want udp://, tcp://, unix://, stdout: or file://)", raw)
	default:
		return fail(fmt.Errorf("unknown scheme %q (want udp, tcp, tcp+ack, tls, tls+ack, unix, stdout or file)", u.Scheme))
	}
	return t, nil
}

func parseFormat(u *url.URL) (wireFormat, error) {
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return 0, err
	}
	for k := range q {
		if k != "format" {
			return 0, fmt.Errorf("unknown parameter %q (only format is known)", k)
		}
	}
	switch f := strings.ToLower(q.Get("format")); f {
	case "":
		return 0, nil
	case "json", "metlog-json":
		return formatJSON, nil
	case "heka", "protobuf":
		return formatHeka, nil
	default:
		return 0, fmt.Errorf("unknown format %q (want json or heka)", f)
	}
}

func hostPort(u *url.URL) (string, error) {
	if u.Host == "" {
		return "", errors.New("no host (want scheme://host:port)")
	}
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), DefaultPort), nil
	}
	return u.Host, nil
}

func or(f, def wireFormat) wireFormat {
	if f == 0 {
		return def
	}
	return f
}

// appendEncoded appends m in format f: metlog JSON (followed by a newline
// when lines is set) or one heka-framed record.
func appendEncoded(dst []byte, m *Message, f wireFormat, lines bool) ([]byte, error) {
	if f == formatHeka {
		return appendHekaRecord(dst, m)
	}
	dst = m.AppendJSON(dst)
	if lines {
		dst = append(dst, '\n')
	}
	return dst, nil
}

// appendHekaRecord appends m as an unsigned heka stream record:
//
//	0x1E | header length | Header{message_length (1): varint} | 0x1F | Message protobuf
func appendHekaRecord(dst []byte, m *Message) ([]byte, error) {
	size := m.ProtobufSize()
	if size > maxHekaMessage {
		return dst, errTooLarge
	}
	var hdr [1 + binary.MaxVarintLen64]byte
	hdr[0] = 0x08 // tag: field 1 (message_length), wire type 0 (varint)
	n := 1 + binary.PutUvarint(hdr[1:], uint64(size))
	dst = slices.Grow(dst, 3+n+size) // the whole record
	dst = append(dst, 0x1E, byte(n))
	dst = append(dst, hdr[:n]...)
	dst = append(dst, 0x1F)
	return m.AppendProtobuf(dst), nil
}
