package statsd

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/metlog/metlog/codec/statsd"
	"github.com/metlog/metlog/input"
)

// datagramBuffer holds any UDP datagram but an IPv6 jumbogram.
const datagramBuffer = 1 << 16

// readUDP reads datagrams in batches until the socket is closed, and
// delivers their lines after each batch (and whenever cfg.Batch messages
// are waiting).
func (in *Input) readUDP(ctx context.Context, sink input.Sink) error {
	pc := ipv4.NewPacketConn(in.UDP)
	dgrams := make([]ipv4.Message, in.cfg.ReadBatch)
	for i := range dgrams {
		dgrams[i].Buffers = [][]byte{make([]byte, datagramBuffer)}
		dgrams[i].OOB = make([]byte, input.UDPOOBSize)
	}
	b := in.newRecorder()
	for {
		n, err := pc.ReadBatch(dgrams, 0)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		now := time.Now().UnixNano()
		for i := range dgrams[:n] {
			d := &dgrams[i]
			if drops := input.KernelDrops(d.OOB[:d.NN]); drops >= 0 {
				in.counters.KernelDrops(drops)
			}
			if d.Flags&input.UDPTruncated != 0 {
				in.reject(nil, errTooLarge)
				continue
			}
			var src netip.Addr
			if in.limiter != nil {
				src = input.SourceOf(d.Addr)
			}
			for line := range statsd.Lines(d.Buffers[0][:d.N]) {
				if in.limiter != nil && !in.limiter.Allow(src, 1) {
					in.counters.Rejected(input.ReasonRateLimited)
					continue
				}
				b.add(line, now)
				if b.full() {
					if err := in.deliverUDP(ctx, sink, b); err != nil {
						return deliverErr(ctx, err)
					}
				}
			}
		}
		if err := in.deliverUDP(ctx, sink, b); err != nil {
			return deliverErr(ctx, err)
		}
	}
}

// deliverErr is what a reader returns when Deliver fails: nothing once ctx
// has ended, err otherwise.
func deliverErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
