package metlog

import (
	"context"
	"sync"
	"sync/atomic"
)

var (
	defaultClient atomic.Pointer[Client]
	defaultOnce   sync.Once
)

// Default returns the process-wide client: the one given to SetDefault,
// or else one made on first use from the METLOG_* environment variables
// (see Config.ApplyEnv), sending to DefaultTarget when METLOG_TARGET is
// unset. If the environment is invalid, the default client sends nothing
// and counts every message as failed (see Stats), rather than fail the
// program over its metrics.
//
// Libraries should take a *Client from their caller; Default is for
// programs that want one client everywhere without passing it around.
func Default() *Client {
	if c := defaultClient.Load(); c != nil {
		return c
	}
	defaultOnce.Do(func() {
		c, err := newDefaultClient()
		if err != nil {
			c = New(failSender{err: err})
		}
		if !defaultClient.CompareAndSwap(nil, c) {
			c.Close() // SetDefault came first
		}
	})
	return defaultClient.Load()
}

func newDefaultClient() (*Client, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	return DialConfig(cfg)
}

// SetDefault makes c the client Default returns. It does not close the
// previous one.
func SetDefault(c *Client) {
	if c == nil {
		panic("metlog: SetDefault(nil)")
	}
	defaultClient.Store(c)
}

// failSender fails every message with the error that kept a real Sender
// from being made.
type failSender struct{ err error }

func (s failSender) Send(context.Context, []*Message) error { return s.err }
func (s failSender) Close() error                           { return nil }
