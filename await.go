package tinkex

import (
	"context"

	"github.com/tinkex-go/tinkex/types"
)

// Awaitable is any *Future, whatever its value type: WaitAll takes a mix,
// e.g. a ForwardBackward and an OptimStep future.
type Awaitable interface {
	// Done is closed when the future completes.
	Done() <-chan struct{}
	// Err is the future's error once it has completed.
	Err() error
}

// AwaitAll is the SDK's gather: it waits for every future and returns
// their values in argument order, or the first error to arrive (by
// completion time, not position) as soon as it arrives. When ctx ends first
// it returns a KindCanceled error for op "await_all". Either way the
// futures not yet complete go on (nothing is canceled) and can still be
// awaited. A nil future is a KindValidation error. No futures: an empty
// result at once.
func AwaitAll[T any](ctx context.Context, futures ...*Future[T]) ([]T, error) {
	ws := make([]Awaitable, len(futures))
	for i, f := range futures {
		if f == nil {
			return nil, types.ValidationError("await_all", "future %d is nil", i)
		}
		ws[i] = f
	}
	if err := WaitAll(ctx, ws...); err != nil {
		return nil, err
	}
	out := make([]T, len(futures))
	for i, f := range futures {
		out[i] = f.val // complete, and f.err is nil: WaitAll saw every one succeed
	}
	return out, nil
}

// WaitAll waits until every future has completed and returns nil, or the
// first error to arrive, with AwaitAll's rules. Read the values with each
// future's Result afterwards; they return at once.
func WaitAll(ctx context.Context, futures ...Awaitable) error {
	for i, f := range futures {
		if f == nil {
			return types.ValidationError("await_all", "future %d is nil", i)
		}
	}
	done := make(chan int, len(futures))
	stop := make(chan struct{})
	defer close(stop)
	for i, f := range futures {
		go func() {
			select {
			case <-f.Done():
				done <- i
			case <-stop:
			}
		}()
	}
	for range futures {
		select {
		case i := <-done:
			if err := futures[i].Err(); err != nil {
				return err
			}
		case <-ctx.Done():
			return types.CanceledError("await_all", context.Cause(ctx))
		}
	}
	return nil
}
