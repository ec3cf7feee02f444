//go:build !unix

package carbon

import "net"

// peerClosed cannot peek at sockets on this platform: a connection carbon
// closed is found when a write fails.
func peerClosed(net.Conn) bool { return false }
