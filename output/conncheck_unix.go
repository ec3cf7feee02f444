//go:build unix

package output

import (
	"errors"
	"net"
	"syscall"
)

// peerClosed reports whether the peer of an idle TCP connection has closed
// it or reset it, by peeking at the socket without blocking. The servers
// LineConn talks to never send anything back, so an end of stream or an
// error other than "would block" means the connection is gone.
func peerClosed(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	var buf [1]byte
	closed := false
	err = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EINTR):
		case err != nil || n == 0:
			closed = true
		}
		return true // never wait for readiness
	})
	return closed || err != nil
}
