package outputtest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// TCPServer is a loopback server that keeps what each connection sent, as
// a carbon or statsd line receiver would receive it. It stops when the
// test ends.
type TCPServer struct {
	ln    net.Listener
	conns chan []byte // the bytes of each connection, once it closes
	wg    sync.WaitGroup
}

// NewTCPServer starts a TCPServer on a free loopback port.
func NewTCPServer(t testing.TB) *TCPServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveTCP(t, ln)
}

// NewTCPServerAt starts a TCPServer on addr, retrying for up to 5s while
// the port is still held by a socket that just closed.
func NewTCPServerAt(t testing.TB, addr string) *TCPServer {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return serveTCP(t, ln)
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func serveTCP(t testing.TB, ln net.Listener) *TCPServer {
	s := &TCPServer{ln: ln, conns: make(chan []byte, 100)}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() {
				b, _ := io.ReadAll(c)
				c.Close()
				s.conns <- b
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// Addr is the server's host:port.
func (s *TCPServer) Addr() string { return s.ln.Addr().String() }

// Next returns what the next connection to close sent, failing the test
// when none closes within 10s.
func (s *TCPServer) Next(t testing.TB) string {
	t.Helper()
	select {
	case b := <-s.conns:
		return string(b)
	case <-time.After(10 * time.Second):
		t.Fatal("no connection closed within 10s")
		return ""
	}
}

// FreePort returns a loopback port that nothing listens on for network
// ("tcp" or "udp"), for a server the test is about to start.
func FreePort(t testing.TB, network string) string {
	t.Helper()
	var addr net.Addr
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = pc.LocalAddr()
		pc.Close()
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr()
		ln.Close()
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}

// Listening reports whether a TCP server accepts connections at addr.
func Listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
