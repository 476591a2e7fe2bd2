package tinkex

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/tinkex-go/tinkex/types"
)

// Future is the result of an operation submitted in the background. It
// completes exactly once, with a value or a *types.Error, and can be awaited
// any number of times from any goroutine.
//
// The one rule for bad input: a call that returns a Future reports it
// through the Future, which is already complete when the call returns
// (Err() is the KindValidation error, nothing was sent); a call that
// returns an error reports it as that error. No call panics or returns a
// nil Future. Await several futures with AwaitAll or WaitAll.
type Future[T any] struct {
	done       chan struct{}
	once       sync.Once
	val        T
	err        error
	queueState atomic.Value // QueueState
	requestID  atomic.Value // string
	op         string       // the operation, named in a canceled Result; set before the future is shared
}

// newOpFuture returns a pending future of operation op.
func newOpFuture[T any](op string) *Future[T] {
	f := &Future[T]{done: make(chan struct{}), op: op}
	f.queueState.Store(QueueState(""))
	f.requestID.Store("")
	return f
}

// Resolved returns a future that has already completed.
func Resolved[T any](v T, err error) *Future[T] {
	f := newOpFuture[T]("")
	f.complete(v, err)
	return f
}

// Result waits until the future completes or ctx ends. When ctx ends first
// it returns a KindCanceled error naming the operation (e.g.
// "forward_backward"); the operation itself goes on and the future can be
// awaited again.
func (f *Future[T]) Result(ctx context.Context) (T, error) {
	select {
	case <-f.done:
		return f.val, f.err
	default:
	}
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero T
		op := f.op
		if op == "" {
			op = "future"
		}
		return zero, types.CanceledError(op, context.Cause(ctx))
	}
}

// Done is closed when the future completes.
func (f *Future[T]) Done() <-chan struct{} { return f.done }

// Err returns the future's error once it has completed, and nil before.
func (f *Future[T]) Err() error {
	select {
	case <-f.done:
		return f.err
	default:
		return nil
	}
}

// QueueState is the last queue state the server reported while the future
// was polled ("" before any report).
func (f *Future[T]) QueueState() QueueState { return f.queueState.Load().(QueueState) }

// RequestID is the server's future id, once the submit has returned it.
func (f *Future[T]) RequestID() string { return f.requestID.Load().(string) }

func (f *Future[T]) complete(v T, err error) bool {
	first := false
	f.once.Do(func() {
		f.val, f.err = v, err
		close(f.done)
		first = true
	})
	return first
}

func (f *Future[T]) fail(err error) bool {
	var zero T
	return f.complete(zero, err)
}

func (f *Future[T]) setQueueState(q QueueState, _ string) { f.queueState.Store(q) }
