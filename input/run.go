package input

import (
	"context"
	"sync"
)

// A Reader reads one socket of an input and delivers what it reads to
// sink until the socket is closed or ctx ends.
type Reader func(ctx context.Context, sink Sink) error

// Run runs each reader in a goroutine of its own until ctx ends or one of
// them fails, then calls closeAll (which closes the sockets, so that every
// reader returns) and waits for all of them. It returns nil after ctx
// ends, or the first error that stopped a reader.
func Run(ctx context.Context, sink Sink, closeAll func(), readers ...Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, closeAll)
	defer stop()
	var wg sync.WaitGroup
	errc := make(chan error, len(readers))
	for _, read := range readers {
		wg.Go(func() {
			if err := read(ctx, sink); err != nil && ctx.Err() == nil {
				errc <- err
				cancel()
			}
		})
	}
	wg.Wait()
	closeAll()
	close(errc)
	return <-errc
}
