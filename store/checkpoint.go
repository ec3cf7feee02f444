package store

import "context"

// walAutoCheckpoint is the WAL size, in pages (64 MiB of them), past
// which a commit checkpoints in the writer itself: a backstop for when the
// partition's checkpointer falls behind.
const walAutoCheckpoint = 64 << 20 / pageSize

// checkpointBytes is how many bytes of messages a partition takes in
// between two checkpoints; a checkpoint after every batch would cost more
// fsyncs than it saves.
const checkpointBytes = 4 << 20

// checkpointer copies a partition's write-ahead log into its database
// file in its own goroutine, so that a batch's commit does not wait for
// the copy and its fsync. The writer kicks it every checkpointBytes; kicks
// that arrive while a checkpoint runs are merged into the next one.
type checkpointer struct {
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// startCheckpointer starts p's checkpointer; p.close stops it.
func (p *partition) startCheckpointer() {
	c := &checkpointer{kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	p.ckpt = c
	go func() {
		defer close(c.done)
		for {
			select {
			case <-c.stop:
				// A checkpoint asked for before the stop is still made.
				select {
				case <-c.kick:
					p.walCheckpoint()
				default:
				}
				return
			case <-c.kick:
				p.walCheckpoint()
			}
		}
	}()
}

// walCheckpoint copies what it can of p's log into its database file. A
// passive checkpoint neither waits for nor blocks the writer and readers;
// what it cannot copy yet, the next one will. An error leaves the log to
// the next checkpoint.
func (p *partition) walCheckpoint() {
	if !p.acquire() {
		return
	}
	defer p.release()
	p.db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
}

// committed asks for a checkpoint of p once n more bytes of messages
// were committed into it and checkpointBytes were reached. It is called
// by the writer only.
func (p *partition) committed(n int) {
	p.unckpt += n
	if p.ckpt == nil || p.unckpt < checkpointBytes {
		return
	}
	p.unckpt = 0
	select {
	case p.ckpt.kick <- struct{}{}:
	default:
	}
}

// stopCheckpointer stops p's checkpointer and waits for it to return.
func (p *partition) stopCheckpointer() {
	if c := p.ckpt; c != nil {
		p.ckptStop.Do(func() { close(c.stop) })
		<-c.done
	}
}
