package input

import (
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
)

// ListenUDP binds a UDP socket on address with a receive buffer of
// readBuffer bytes (0: the system's default), and has the kernel report
// its drops (see TuneUDP). Problems with either are logged, not fatal.
func ListenUDP(address string, readBuffer int, log *slog.Logger) (*net.UDPConn, error) {
	addr, err := net.ResolveUDPAddr("udp", address)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, err
	}
	if readBuffer > 0 {
		if err := conn.SetReadBuffer(readBuffer); err != nil {
			log.Warn("cannot set the socket receive buffer", "bytes", readBuffer, "err", err)
		}
	}
	if err := TuneUDP(conn, readBuffer); err != nil {
		log.Warn("kernel drops will not be counted", "err", err)
	}
	return conn, nil
}

// ListenTCP binds a TCP listener on address: a TLS listener when t is
// configured, whose certificates the returned ServerTLS reloads (nil
// without TLS).
func ListenTCP(address string, t TLS) (net.Listener, *ServerTLS, error) {
	st, err := t.Server()
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, nil, err
	}
	if st != nil {
		ln = tls.NewListener(ln, st.Config())
	}
	return ln, st, nil
}

// Sockets are the UDP socket and the TCP listener of an input that takes
// both, such as statsd and syslog; the input embeds them.
type Sockets struct {
	UDP *net.UDPConn // nil without UDP
	TCP net.Listener // nil without TCP
	TLS *ServerTLS   // the TCP listener's; nil without TLS

	closeOnce sync.Once
}

// Listen binds the UDP socket (when udpAddress is set) and the TCP
// listener (when tcpAddress is set); on failure it closes what it bound.
func (s *Sockets) Listen(udpAddress string, readBuffer int, tcpAddress string, t TLS, log *slog.Logger) error {
	var err error
	if udpAddress != "" {
		if s.UDP, err = ListenUDP(udpAddress, readBuffer, log); err != nil {
			return err
		}
	}
	if tcpAddress != "" {
		if s.TCP, s.TLS, err = ListenTCP(tcpAddress, t); err != nil {
			s.Close()
			return err
		}
	}
	return nil
}

// Addr returns the address of the UDP socket, or of the TCP listener when
// there is no UDP socket.
func (s *Sockets) Addr() net.Addr {
	if s.UDP != nil {
		return s.UDP.LocalAddr()
	}
	return s.TCP.Addr()
}

// TCPAddr returns the address of the TCP listener, or nil when there is
// none.
func (s *Sockets) TCPAddr() net.Addr {
	if s.TCP == nil {
		return nil
	}
	return s.TCP.Addr()
}

// Reload reads the TLS certificates again (Reloader); connections already
// open keep theirs.
func (s *Sockets) Reload() error {
	if s.TLS == nil {
		return nil
	}
	return s.TLS.Reload()
}

// Close closes the sockets. An input's Run does it when it returns; Close
// is for an input that is never run.
func (s *Sockets) Close() error {
	s.closeOnce.Do(func() {
		if s.UDP != nil {
			s.UDP.Close()
		}
		if s.TCP != nil {
			s.TCP.Close()
		}
	})
	return nil
}
