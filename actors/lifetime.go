package actors

import (
	"context"
	"sync"
	"sync/atomic"
)

// calls counts the operations running on their callers' goroutines (a
// Sample, a GetInfo, an Unload, a REST read, a create_*), so Close can wait
// until every one of them has ended and no request of the client is sent
// after Close (or Runtime.Stop) returns. Entering and leaving are one atomic
// add each: the sampling hot path takes no lock.
type calls struct {
	n       atomic.Int64 // running calls, plus closing once shut
	once    sync.Once
	drained chan struct{} // closed once shut and no call runs
}

// closing is added to n by shut; calls that find it set do not enter.
const closing = 1 << 62

func newCalls() *calls { return &calls{drained: make(chan struct{})} }

// enter registers a call; false once shut (the call must not send anything).
func (c *calls) enter() bool {
	if c.n.Add(1) >= closing {
		c.leave()
		return false
	}
	return true
}

// leave ends a call registered by enter (or undoes a refused one).
func (c *calls) leave() {
	if c.n.Add(-1) == closing {
		c.once.Do(func() { close(c.drained) })
	}
}

// shut refuses new calls; drained closes once the running ones have left.
func (c *calls) shut() {
	if c.n.Add(closing) == closing {
		c.once.Do(func() { close(c.drained) })
	}
}

// call runs one operation of the client bound to its lifetime: refused with
// ErrClientStopped once the client is closed (nothing is sent), canceled
// with ErrClientStopped when Close runs meanwhile, and waited for by Close.
func (s *ServiceClient) call(ctx context.Context, op string, f func(ctx context.Context) error) error {
	if s.stopped.Load() {
		return s.stoppedError(op)
	}
	ctx, stop := s.bind(ctx)
	defer stop()
	if err := ctx.Err(); err != nil {
		return s.translateStop(ctx, op, err)
	}
	return s.translateStop(ctx, op, f(ctx))
}
