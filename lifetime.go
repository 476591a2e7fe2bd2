package tinkex

import (
	"context"
	"sync"
	"sync/atomic"
)

// lifetime binds the calls of one ServiceClient to the client's life:
// every bound call is counted (calls), so stop can wait for it, and its
// context is canceled with errClientStopped by stop. It is owned by the
// ServiceClient; bind is safe for concurrent use, stop is called once.
//
// A bound call costs one atomic add to enter and leave, and
//   - nothing more when the caller's context can never be canceled (its
//     Done is nil): the call runs under a stopCtx, which has the caller's
//     values and one shard's Done;
//   - otherwise one context.WithCancelCause of the caller's context, whose
//     cancel function is kept in one shard's set until the call ends.
//
// Calls spread over bindShards shards round-robin, so concurrent calls do
// not contend on one mutex.
type lifetime struct {
	calls  calls
	next   atomic.Uint32
	shards atomic.Pointer[lifeShards] // made with the first shard

	mu      sync.Mutex // guards stopped and the making of shards
	stopped bool
}

// lifeShards are a lifetime's shards, each made on first use.
type lifeShards [bindShards]atomic.Pointer[lifeShard]

// bindShards is how many shards calls spread over.
const bindShards = 16

// lifeShard is one shard of a lifetime.
type lifeShard struct {
	ctx    context.Context // canceled with errClientStopped by stop
	cancel context.CancelCauseFunc

	mu      sync.Mutex // guards stopped and bound
	stopped bool
	bound   map[context.Context]context.CancelCauseFunc // calls whose ctx can be canceled; nil until the first
}

func newLifetime() *lifetime {
	l := &lifetime{}
	l.calls.leaveFunc = l.calls.leave
	return l
}

// shard returns the next shard, round-robin, making it on first use (an
// idle client holds none, nor the array of them).
func (l *lifetime) shard() *lifeShard {
	i := l.next.Add(1) % bindShards
	if all := l.shards.Load(); all != nil {
		if sh := all[i].Load(); sh != nil {
			return sh
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	all := l.shards.Load()
	if all == nil {
		all = new(lifeShards)
		l.shards.Store(all)
	}
	if sh := all[i].Load(); sh != nil {
		return sh
	}
	sh := &lifeShard{}
	sh.ctx, sh.cancel = context.WithCancelCause(context.Background())
	if l.stopped {
		sh.stopped = true
		sh.cancel(errClientStopped)
	}
	all[i].Store(sh)
	return sh
}

// bind returns a context that ends when ctx ends or the client stops (its
// cause then errClientStopped), and registers the call so stop waits for
// it. The returned function must be called when the call is over. Once
// the client is stopping, the context is already canceled.
func (l *lifetime) bind(ctx context.Context) (context.Context, func()) {
	if !l.calls.enter() {
		c, cancel := context.WithCancelCause(ctx)
		cancel(errClientStopped)
		return c, func() {}
	}
	sh := l.shard()
	if ctx.Done() == nil {
		return stopCtx{Context: ctx, life: sh.ctx}, l.calls.leaveFunc
	}
	c, cancel := context.WithCancelCause(ctx)
	sh.mu.Lock()
	if sh.stopped {
		sh.mu.Unlock()
		cancel(errClientStopped)
	} else {
		if sh.bound == nil {
			sh.bound = map[context.Context]context.CancelCauseFunc{}
		}
		sh.bound[c] = cancel
		sh.mu.Unlock()
	}
	return c, func() {
		sh.mu.Lock()
		delete(sh.bound, c)
		sh.mu.Unlock()
		cancel(nil)
		l.calls.leave()
	}
}

// stop refuses new calls and cancels every bound one with
// errClientStopped; l.calls.drained closes once they have all left.
func (l *lifetime) stop() {
	l.calls.shut()
	l.mu.Lock()
	l.stopped = true
	all := l.shards.Load() // no shard is made after this without seeing stopped
	l.mu.Unlock()
	if all == nil {
		return
	}
	for i := range all {
		sh := all[i].Load()
		if sh == nil {
			continue
		}
		sh.mu.Lock()
		sh.stopped = true
		bound := sh.bound
		sh.bound = nil
		sh.mu.Unlock()
		for _, cancel := range bound {
			cancel(errClientStopped)
		}
		sh.cancel(errClientStopped)
	}
}

// stopCtx is the context of a call whose caller's context is never
// canceled: the caller's values and deadline, the lifetime shard's Done
// and Err. Cause finds the shard's cause (errClientStopped), because
// Value falls back to the shard for keys the caller's context lacks.
type stopCtx struct {
	context.Context // the caller's
	life            context.Context
}

func (c stopCtx) Done() <-chan struct{} { return c.life.Done() }
func (c stopCtx) Err() error            { return c.life.Err() }
func (c stopCtx) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.life.Value(key)
}

// calls counts the operations running on their callers' goroutines (a
// Sample, a GetInfo, an Unload, a REST read, a create_*), so Close can wait
// until every one of them has ended and no request of the client is sent
// after Close (or Runtime.Stop) returns. Entering and leaving are one atomic
// add each: the sampling hot path takes no lock.
type calls struct {
	n       atomic.Int64 // running calls, plus closing once shut
	once    sync.Once
	drained chan struct{} // made by shut; closed once shut and no call runs
	// leaveFunc is leave as a func value, made once.
	leaveFunc func()
}

// closing is added to n by shut; calls that find it set do not enter.
const closing = 1 << 62

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
// It is called once. drained is made here: only the closer waits for it,
// and a leave that finds n at closing has seen this write (through n).
func (c *calls) shut() {
	c.drained = make(chan struct{})
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
