package limiter

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/tinkex-go/tinkex/types"
)

// byteBudget is the Python SDK's BytesSemaphore: a caller takes its cost
// at once while the remaining budget is not negative, and waits only while
// it is, so a request larger than the whole budget still passes alone. It
// is the byte part of a Limiter and the whole of a Budget.
type byteBudget struct {
	remaining atomic.Int64  // may go negative
	waiters   atomic.Int64  // callers blocked on the budget
	mu        sync.Mutex    // guards wake
	wake      chan struct{} // closed to wake the waiters; nil while none waits
}

func (b *byteBudget) init(size int64) {
	b.remaining.Store(size)
}

// take takes cost, waiting while the budget is negative. blocked, when not
// nil, also counts the caller while it waits (a Limiter's waiters).
func (b *byteBudget) take(ctx context.Context, cost int64, blocked *atomic.Int64) error {
	for {
		r := b.remaining.Load()
		if r >= 0 {
			if b.remaining.CompareAndSwap(r, r-cost) {
				return nil
			}
			continue
		}
		// Register before taking the wake channel and re-checking, so a
		// release in between either is seen here or sees us and wakes us.
		b.waiters.Add(1)
		b.mu.Lock()
		if b.wake == nil { // made by the first waiter: an idle budget holds none
			b.wake = make(chan struct{})
		}
		wake := b.wake
		b.mu.Unlock()
		if b.remaining.Load() >= 0 {
			b.waiters.Add(-1)
			continue
		}
		if blocked != nil {
			blocked.Add(1)
		}
		var err error
		select {
		case <-wake:
		case <-ctx.Done():
			err = types.CanceledError("limiter acquire", ctx.Err())
		}
		if blocked != nil {
			blocked.Add(-1)
		}
		b.waiters.Add(-1)
		if err != nil {
			return err
		}
	}
}

// give returns cost and wakes the waiters.
func (b *byteBudget) give(cost int64) {
	if cost == 0 {
		return
	}
	b.remaining.Add(cost)
	if b.waiters.Load() > 0 {
		b.mu.Lock()
		if b.wake != nil { // nil: the waiter has not made it yet, and re-checks after
			close(b.wake)
			b.wake = nil
		}
		b.mu.Unlock()
	}
}

// Budget is a byte budget on its own: a Limiter's byte part without its
// dispatch slots, backoff or telemetry. Clients bound the bytes of the
// responses they hold in memory and of the forward_backward requests being
// encoded with one each. It is safe for concurrent use.
type Budget struct {
	size  atomic.Int64
	bytes byteBudget
}

// NewBudget returns a budget of size bytes. It fails with a KindValidation
// *types.Error when size is not positive.
func NewBudget(size int64) (*Budget, error) {
	if size < 1 {
		return nil, types.ValidationError("limiter", "byte budget must be at least 1, got %d", size)
	}
	b := &Budget{}
	b.size.Store(size)
	b.bytes.init(size)
	return b, nil
}

// Resize makes the budget size bytes, keeping what is held: the bytes
// remaining move by the difference, and waiters are woken if that frees
// room. A server's client config sizes a ServiceClient's budgets this way
// once the client knows it. It fails with a KindValidation *types.Error
// when size is not positive.
func (b *Budget) Resize(size int64) error {
	if size < 1 {
		return types.ValidationError("limiter", "byte budget must be at least 1, got %d", size)
	}
	old := b.size.Swap(size)
	if d := size - old; d > 0 {
		b.bytes.give(d)
	} else {
		b.bytes.remaining.Add(d)
	}
	return nil
}

// Acquire takes bytes from the budget, waiting while it is exhausted (see
// Limiter.Acquire for the rule). It fails with a KindValidation
// *types.Error for bytes outside [0, MaxBytes], and with a KindCanceled one
// when ctx ends first; it then holds nothing.
func (b *Budget) Acquire(ctx context.Context, bytes int64) (*Grant, error) {
	if bytes < 0 || bytes > MaxBytes {
		return nil, types.ValidationError("limiter acquire", "byte estimate %d is outside [0, %d]", bytes, int64(MaxBytes))
	}
	if err := ctx.Err(); err != nil {
		return nil, types.CanceledError("limiter acquire", ctx.Err())
	}
	if err := b.bytes.take(ctx, bytes, nil); err != nil {
		return nil, err
	}
	return &Grant{b: b, bytes: bytes}, nil
}

// Size returns the budget's size in bytes.
func (b *Budget) Size() int64 { return b.size.Load() }

// InUse returns the bytes currently held; it may exceed Size.
func (b *Budget) InUse() int64 { return b.size.Load() - b.bytes.remaining.Load() }

// Grant is bytes taken from a Budget. Release it when they are no longer
// held.
type Grant struct {
	b        *Budget
	bytes    int64
	released atomic.Bool
}

// Bytes returns the bytes the grant holds.
func (g *Grant) Bytes() int64 { return g.bytes }

// Release gives the bytes back and wakes waiters. It is safe to call more
// than once and on a nil *Grant; only the first call counts.
func (g *Grant) Release() {
	if g == nil || !g.released.CompareAndSwap(false, true) {
		return
	}
	g.b.bytes.give(g.bytes)
}
