//go:build !unix

package statsd

import "net"

// peerClosed cannot peek at sockets on this platform: a connection statsd
// closed is found when a write fails.
func peerClosed(net.Conn) bool { return false }
