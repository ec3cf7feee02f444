// Package input holds what every input plugin shares: the Sink they hand
// decoded messages to, the counters they keep, and the detection of the wire
// format a datagram or connection speaks. Each input lives in its own
// subpackage (input/udp, input/tcp, input/http, …).
package input

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/metlog/metlog"
)

// Sink takes the messages an input has decoded. The router implements it;
// it is safe for concurrent use by many goroutines.
type Sink interface {
	// Deliver stores msgs in the journal. It fills in a UUID and a
	// timestamp where a message has none (which is why msgs are mutable),
	// and it has finished with msgs when it returns, so the caller may
	// reuse them.
	//
	// When the journal is full, Deliver waits for room (backpressure) unless
	// opts.NoWait is set, in which case it returns ErrFull at once. With
	// opts.Durable it returns only once the messages are durable on disk
	// (acknowledged mode). It returns ctx.Err() if ctx ends first; the
	// messages may then be stored or not.
	Deliver(ctx context.Context, msgs []*metlog.Message, opts DeliverOptions) error
}

// A RecordSink is a Sink that also takes messages already encoded, as the
// router's journal holds them: an input that can make the records more
// cheaply than it can decode messages (the TCP input's metlog JSON) uses it.
type RecordSink interface {
	Sink
	// DeliverRecords stores recs, each a message's Heka protobuf encoding
	// (metlog.Message.AppendProtobuf) with its UUID and timestamp set,
	// under the rules of Deliver. The caller may reuse recs when it
	// returns.
	DeliverRecords(ctx context.Context, recs [][]byte, opts DeliverOptions) error
}

// DeliverOptions modify Sink.Deliver.
type DeliverOptions struct {
	// Durable waits until the messages are synced to disk.
	Durable bool
	// NoWait fails with ErrFull instead of waiting for room.
	NoWait bool
}

// ErrFull is returned by Sink.Deliver with NoWait when the journal has no
// room; the input drops the messages and counts them.
var ErrFull = errors.New("journal full")

// Reason says why an input rejected a message.
type Reason uint8

// The reasons an input rejects a message.
const (
	ReasonMalformed    Reason = iota // the bytes do not decode
	ReasonTooLarge                   // over the input's size limit
	ReasonUnsigned                   // require_signature and no signature
	ReasonBadSignature               // the HMAC does not verify
	ReasonUnknownKey                 // signed by an unknown signer or key version
	ReasonRateLimited                // the source sent more than it is allowed
	numReasons
)

var reasonNames = [numReasons]string{"malformed", "too_large", "unsigned", "bad_signature", "unknown_key", "rate_limited"}

// String returns the reason's metric label, such as "too_large".
func (r Reason) String() string {
	if r < numReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists every Reason, for exporting counters.
func Reasons() []Reason {
	out := make([]Reason, numReasons)
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}

// Counters are an input's running totals. The zero value is ready; all
// methods are safe for concurrent use.
type Counters struct {
	received atomic.Uint64
	bytes    atomic.Uint64
	dropped  atomic.Uint64
	rejected [numReasons]atomic.Uint64
	// kernel is the highest cumulative count of datagrams the kernel
	// reported dropping (KernelDrops).
	kernel atomic.Int64
}

// Received counts n messages of size bytes accepted into the journal.
func (c *Counters) Received(n, size int) {
	c.received.Add(uint64(n))
	c.bytes.Add(uint64(size))
}

// Dropped counts n valid messages lost because the journal was full.
func (c *Counters) Dropped(n int) { c.dropped.Add(uint64(n)) }

// KernelDrops takes a socket's cumulative count of datagrams the kernel
// dropped (see input.KernelDrops) and counts the new ones as dropped. Safe
// to call from several readers of one socket.
func (c *Counters) KernelDrops(total int64) {
	for {
		seen := c.kernel.Load()
		if total <= seen {
			return
		}
		if c.kernel.CompareAndSwap(seen, total) {
			c.dropped.Add(uint64(total - seen))
			return
		}
	}
}

// Rejected counts one message rejected for r.
func (c *Counters) Rejected(r Reason) {
	if r < numReasons {
		c.rejected[r].Add(1)
	}
}

// Snapshot is a copy of Counters at one moment.
type Snapshot struct {
	Received uint64            `json:"received"`
	Bytes    uint64            `json:"bytes"`
	Dropped  uint64            `json:"dropped"`
	Rejected map[string]uint64 `json:"rejected"`
}

// Snapshot returns the current totals.
func (c *Counters) Snapshot() Snapshot {
	s := Snapshot{
		Received: c.received.Load(),
		Bytes:    c.bytes.Load(),
		Dropped:  c.dropped.Load(),
		Rejected: make(map[string]uint64, numReasons),
	}
	for i := range c.rejected {
		s.Rejected[Reason(i).String()] = c.rejected[i].Load()
	}
	return s
}
