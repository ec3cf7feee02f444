package input

import (
	"encoding/binary"
	"net"
	"syscall"
)

// UDPOOBSize is room for the SO_RXQ_OVFL control message of one datagram.
const UDPOOBSize = 32

// UDPTruncated is the recvmsg flag of a datagram longer than its buffer.
const UDPTruncated = syscall.MSG_TRUNC

// TuneUDP asks for a receive buffer of size bytes even beyond
// net.core.rmem_max when the process may (SO_RCVBUFFORCE, CAP_NET_ADMIN),
// and turns on SO_RXQ_OVFL, with which the kernel reports on each datagram
// how many it dropped for want of buffer space, so drops are counted.
func TuneUDP(conn *net.UDPConn, size int) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if size > 0 {
			// Without the capability this fails; SetReadBuffer has set
			// what the limit allows.
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size)
		}
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// KernelDrops returns the socket's cumulative drop count from the control
// messages of one datagram, or -1 when they carry none.
func KernelDrops(oob []byte) int64 {
	const hdr = 16 // cmsghdr: len uint64, level int32, type int32
	for len(oob) >= hdr {
		l := int(binary.NativeEndian.Uint64(oob))
		if l < hdr || l > len(oob) {
			return -1
		}
		level := int32(binary.NativeEndian.Uint32(oob[8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[12:]))
		if level == syscall.SOL_SOCKET && typ == syscall.SO_RXQ_OVFL && l >= hdr+4 {
			return int64(binary.NativeEndian.Uint32(oob[hdr:]))
		}
		oob = oob[(l+7)&^7:]
	}
	return -1
}
