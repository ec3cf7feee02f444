package syslog

import (
	"context"
	"errors"
	"net"

	"golang.org/x/net/ipv4"

	"github.com/metlog/metlog/input"
)

// readBatch is how many datagrams one system call may read.
const readBatch = 64

// readUDP reads datagrams, one message each, until the socket is closed,
// and delivers them after each read.
func (in *Input) readUDP(ctx context.Context, sink input.Sink) error {
	pc := ipv4.NewPacketConn(in.UDP)
	dgrams := make([]ipv4.Message, readBatch)
	for i := range dgrams {
		// One byte more than the limit tells an oversized datagram apart.
		dgrams[i].Buffers = [][]byte{make([]byte, in.cfg.MaxMessageSize+1)}
		dgrams[i].OOB = make([]byte, input.UDPOOBSize)
	}
	b := newBatch(readBatch)
	for {
		n, err := pc.ReadBatch(dgrams, 0)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		for i := range dgrams[:n] {
			d := &dgrams[i]
			if drops := input.KernelDrops(d.OOB[:d.NN]); drops >= 0 {
				in.counters.KernelDrops(drops)
			}
			p := d.Buffers[0][:d.N]
			truncated := d.Flags&input.UDPTruncated != 0 || len(p) > in.cfg.MaxMessageSize
			if len(p) > in.cfg.MaxMessageSize {
				p = p[:in.cfg.MaxMessageSize]
			}
			in.add(b, p, truncated, input.SourceOf(d.Addr), "")
		}
		msgs := b.msgs[:b.n]
		switch err := sink.Deliver(ctx, msgs, input.DeliverOptions{NoWait: true}); {
		case err == nil:
			in.counters.Received(len(msgs), b.size)
		case errors.Is(err, input.ErrFull):
			in.counters.Dropped(len(msgs))
		case ctx.Err() != nil:
			return nil
		default:
			return err
		}
		b.reset()
	}
}
