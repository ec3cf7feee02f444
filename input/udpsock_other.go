//go:build !linux

package input

import "net"

// UDPOOBSize is room for the control messages of one datagram: none here.
const UDPOOBSize = 0

// UDPTruncated is the flag of a truncated datagram: unknown here.
const UDPTruncated = 0

// TuneUDP does nothing where the Linux socket options are missing.
func TuneUDP(*net.UDPConn, int) error { return nil }

// KernelDrops reports that the kernel's drop count is unknown.
func KernelDrops([]byte) int64 { return -1 }
