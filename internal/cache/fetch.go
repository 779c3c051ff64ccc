package cache

import (
	"context"
	"sync"
)

// The cache owns the goroutines that run its fills' fetches, so that
// shutting down can wait for them: a fetch detached from its viewer must
// still end before the process does, with its object stored or dropped,
// not cut off halfway through a disk file.
type fetches struct {
	wg     sync.WaitGroup
	once   sync.Once
	ctx    context.Context // ended when Close gives up waiting
	cancel context.CancelFunc
}

func (fs *fetches) init() {
	fs.once.Do(func() { fs.ctx, fs.cancel = context.WithCancel(context.Background()) })
}

// Go runs fetch for f on a goroutine of the cache's, and leaves f when it
// returns. The context fetch gets keeps base's values, is not ended by
// base, and ends when Close stops waiting.
func (c *Cache) Go(f *Fill, base context.Context, fetch func(ctx context.Context)) {
	c.fetches.init()
	c.fetches.wg.Add(1)
	go func() {
		defer c.fetches.wg.Done()
		defer c.Leave(f)
		ctx, cancel := context.WithCancel(context.WithoutCancel(base))
		defer cancel()
		stop := context.AfterFunc(c.fetches.ctx, cancel)
		defer stop()
		fetch(ctx)
	}()
}

// Close waits for the fetches in flight; when ctx ends first, it cancels
// them, waits for them to stop, and returns ctx's error.
func (c *Cache) Close(ctx context.Context) error {
	c.fetches.init()
	done := make(chan struct{})
	go func() {
		c.fetches.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		c.fetches.cancel()
		<-done
		return ctx.Err()
	}
}
