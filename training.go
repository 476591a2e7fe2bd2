package tinkex

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/actors"
	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// TrainingClient trains one LoRA model. Every operation returns a *Future at
// once; the client's actor (training:<model_id> in the tree) submits the
// operations one at a time in call order, each with the next seq_id
// (starting at 1), and moves on as soon as the server has accepted a submit
// — it does not wait for results, so an OptimStep queued behind a
// ForwardBackward is sent before the ForwardBackward's result arrives.
//
// If the actor crashes or is restarted by its supervisor, operations not yet
// submitted fail with ErrClientRestarted (retryable: nothing was sent), as
// do operations called while it is down; submitted ones keep polling and
// complete normally; the restarted actor continues the seq_ids without a
// gap. After Close every pending operation fails with ErrClientStopped;
// after a successful Unload the client is closed the same way.
//
// Lost seq_ids: a submit that fails for good after taking its seq_id —
// every retry layer gave up on a 5xx, 429, timeout or transport failure, or
// the runtime stopped under it — leaves a seq_id the server will wait for
// forever. The operation fails with its cause; from then on every queued
// and later operation of the client fails at once with ErrSeqGap, naming
// the lost seq_id and its operation, and a tinkex.training.seq_gap event is
// emitted. Nothing waits behind the gap. To go on, create a new
// TrainingClient from the last saved state
// (ServiceClient.CreateTrainingClientFromStateWithOptimizer with the path
// of the last SaveState) and replay the work done since. A submit the
// server answered with a 4xx (a user error, such as a 409 for a checkpoint
// name taken) reached the server and loses nothing.
type TrainingClient struct {
	svc       *ServiceClient // lifetime (bind, background work), submits, stop errors
	http      *httpclient.Client
	poller    *poller
	bus       *telemetry.Bus
	root      *actor.RootContext // sends enqueues to the actor
	modelID   string
	baseModel string
	seq       *registry.Counter // next seq_id; durable across actor restarts
	// turn is held by the goroutine submitting an operation. It outlives
	// actor restarts, so a restarted actor's first submit waits for its
	// predecessor's last one and the server still sees seq_ids in order.
	turn chan struct{}

	mu      sync.Mutex
	pending map[*trainingOp]struct{} // called, not yet submitted
	// gap is the first lost seq_id's error (ErrSeqGap), nil while none is
	// lost. Set once, by the submit goroutine that lost it, before it hands
	// the turn on.
	gap      atomic.Pointer[Error]
	stopped  atomic.Bool
	unloaded atomic.Bool // set once Unload succeeded; implies stopped
	pid      atomic.Pointer[actor.PID]
}

// ModelID returns the model id ("<session>:train:<n>").
func (t *TrainingClient) ModelID() string { return t.modelID }

// BaseModel returns the base model name, when known.
func (t *TrainingClient) BaseModel() string { return t.baseModel }

// NextSeqID returns the seq_id the next submitted operation will carry.
func (t *TrainingClient) NextSeqID() int64 { return t.seq.Peek() }

// trainingOp is one queued operation.
type trainingOp struct {
	name        string // e.g. forward_backward
	requestType string // X-Tinker-Request-Type
	ctx         context.Context
	seqs        int // seq_ids it needs (chunks)
	// run submits with the given seq_ids; it returns once the server has
	// accepted every submit, with a function that polls and completes the
	// future (run in the same goroutine, after the actor was told).
	// run submits on submitCtx and returns the poll step, which waits on pollCtx.
	run        func(submitCtx, pollCtx context.Context, seqs []int64) (poll func(), err error)
	fail       func(err error) bool
	isDone     func() bool
	dispatched bool // set on the actor's goroutine
}

// enqueueOp registers op and hands it to the actor. It fails op at once if
// the client is stopped.
func (t *TrainingClient) enqueueOp(op *trainingOp) {
	t.mu.Lock()
	if t.stopped.Load() || t.svc.stopped.Load() {
		t.mu.Unlock()
		op.fail(t.unloadedError(op.name))
		return
	}
	if err := t.gapError(op.name); err != nil {
		t.mu.Unlock()
		op.fail(err)
		return
	}
	t.pending[op] = struct{}{}
	pid := t.pid.Load()
	t.mu.Unlock()
	t.root.Send(pid, &actors.Enqueue{Op: op})
}

// failPending fails every operation not yet submitted with err.
func (t *TrainingClient) failPending(err func(op string) error) {
	t.mu.Lock()
	ops := make([]*trainingOp, 0, len(t.pending))
	for op := range t.pending {
		if !op.dispatched {
			ops = append(ops, op)
			delete(t.pending, op)
		}
	}
	t.mu.Unlock()
	for _, op := range ops {
		op.fail(err(op.name))
	}
}

func (t *TrainingClient) forget(op *trainingOp) {
	t.mu.Lock()
	delete(t.pending, op)
	t.mu.Unlock()
}

func restartedError(op string) error {
	return &Error{Kind: types.KindClientRestarted, Op: op,
		Message: "the training client restarted before this operation was submitted; nothing was sent"}
}

// trainingOwner is the TrainingClient side of its Training actor
// (package actors), which keeps the operations in call order and calls
// Dispatch for one at a time.
type trainingOwner struct{ t *TrainingClient }

func (o trainingOwner) ModelID() string         { return o.t.modelID }
func (o trainingOwner) Started(self *actor.PID) { o.t.pid.Store(self) }
func (o trainingOwner) Restarting()             { o.t.failPending(restartedError) }

// Stopping: a stop is final only after Close; otherwise the supervisor is
// restarting the actor as a sibling (rest_for_one, one_for_all) or with
// its whole subtree, and the client goes on working.
func (o trainingOwner) Stopping() {
	if o.t.stopped.Load() || o.t.svc.stopped.Load() {
		o.t.failPending(o.t.svc.stoppedError)
	} else {
		o.t.failPending(restartedError)
	}
}

func (o trainingOwner) Dispatch(v any, done func()) bool { return o.t.dispatch(v.(*trainingOp), done) }

// dispatch starts op's submit on a background goroutine, unless op is
// already done, its caller gave up, or an earlier seq_id was lost. It runs
// on the actor's goroutine.
func (t *TrainingClient) dispatch(op *trainingOp, done func()) bool {
	if op.isDone() {
		t.forget(op)
		return false
	}
	if err := op.ctx.Err(); err != nil {
		t.forget(op)
		op.fail(types.CanceledError(op.name, context.Cause(op.ctx)))
		return false
	}
	if err := t.gapError(op.name); err != nil {
		t.forget(op)
		op.fail(err)
		return false
	}
	t.mu.Lock()
	op.dispatched = true
	delete(t.pending, op)
	t.mu.Unlock()
	if !t.svc.goBackground(func() { t.submit(op, done) }) {
		op.fail(t.svc.stoppedError(op.name))
		return false
	}
	return true
}

// submit runs on a background goroutine: it waits for the turn, takes the
// seq_ids, submits, tells the actor, then polls.
//
// Once seq_ids are taken they must reach the server, or every later
// operation of the model would wait behind the gap: so the submit runs on a
// context that only Close cancels, and the caller's context governs the
// wait for the turn and the polling only (an operation the caller gave up
// on while it was being submitted still runs on the server).
func (t *TrainingClient) submit(op *trainingOp, told func()) {
	ctx, stop := t.svc.bind(op.ctx)
	defer stop()
	select {
	case t.turn <- struct{}{}:
	case <-ctx.Done():
		told()
		op.fail(t.svc.translateStop(ctx, op.name, types.CanceledError(op.name, context.Cause(ctx))))
		return
	}
	if ctx.Err() != nil { // canceled while waiting: nothing taken, nothing sent
		<-t.turn
		told()
		op.fail(t.svc.translateStop(ctx, op.name, types.CanceledError(op.name, context.Cause(ctx))))
		return
	}
	if err := t.gapError(op.name); err != nil { // lost while waiting for the turn
		<-t.turn
		told()
		op.fail(err)
		return
	}
	seqs := make([]int64, op.seqs)
	for i := range seqs {
		seqs[i] = t.seq.Next()
	}
	submitCtx, stopSubmit := t.svc.bind(context.WithoutCancel(op.ctx))
	// The caller's future ends as soon as its context does, while the
	// submit goes on.
	stopWatch := context.AfterFunc(ctx, func() {
		op.fail(t.svc.translateStop(ctx, op.name, types.CanceledError(op.name, context.Cause(ctx))))
	})
	defer stopWatch()
	poll, err := op.run(submitCtx, ctx, seqs)
	stopSubmit()
	if err != nil {
		seq := seqs[0]
		var ce *chunkError
		if errors.As(err, &ce) {
			seq, err = ce.seq, ce.err
		}
		if seqLost(err) {
			t.loseSeq(op.name, seq, err)
		}
	}
	<-t.turn
	told()
	if err != nil {
		op.fail(t.svc.translateStop(submitCtx, op.name, err))
		return
	}
	poll()
}

// chunkError is the failure of one chunk's submit, with the chunk's seq_id.
type chunkError struct {
	seq int64
	err error
}

func (e *chunkError) Error() string { return e.err.Error() }
func (e *chunkError) Unwrap() error { return e.err }

// seqLost reports whether a failed submit leaves its seq_id unseen by the
// server: it never reached the server or was not taken (no status, a
// proxy's bare 400, 408, 429, 5xx). A 2xx that did not decode, and a 4xx
// refusal, reached it.
func seqLost(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return true
	}
	s := e.StatusCode
	switch {
	case s >= 200 && s < 300:
		return false
	case s == http.StatusBadRequest && e.Message == "":
		return true // bare 400: a proxy's, the request did not reach the service
	case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s == 0, s >= 500:
		return true
	}
	return false
}

// loseSeq records the first lost seq_id and emits tinkex.training.seq_gap.
func (t *TrainingClient) loseSeq(op string, seq int64, cause error) {
	e := &Error{Kind: types.KindSeqGap, Op: op,
		Message: fmt.Sprintf("seq_id %d of model %s (%s) was lost: its submit failed for good (%s), so the server will wait for it; "+
			"create a new TrainingClient from the last saved state", seq, t.modelID, op, types.KindOf(cause).String())}
	if !t.gap.CompareAndSwap(nil, e) {
		return
	}
	bus := t.bus
	if !bus.Enabled(telemetry.TrainingSeqGap) {
		return
	}
	bus.Execute(telemetry.TrainingSeqGap, nil, map[string]any{
		telemetry.KeyConfig:    t.svc.cfg.fingerprint,
		telemetry.KeyBaseURL:   t.svc.cfg.baseURL,
		telemetry.KeySessionID: t.svc.SessionID(),
		telemetry.KeyModelID:   t.modelID,
		telemetry.KeySeqID:     seq,
		telemetry.KeyOp:        op,
		telemetry.KeyKind:      types.KindOf(cause).String(),
		telemetry.KeyError:     cause.Error(),
	})
}

// gapError is the ErrSeqGap error of operation op once a seq_id is lost,
// nil before.
func (t *TrainingClient) gapError(op string) error {
	g := t.gap.Load()
	if g == nil {
		return nil
	}
	if t.stopped.Load() || t.svc.stopped.Load() {
		return t.svc.stoppedError(op) // closing wins: the client is over anyway
	}
	e := *g
	e.Op, e.Message = op, "not sent: "+g.Message
	return &e
}

// trainingSpan starts the span of one training operation (nil when nobody
// listens).
func (t *TrainingClient) trainingSpan(op string) *telemetry.Span {
	return t.bus.StartSpanLazy(telemetry.TrainingPrefix+op, func() map[string]any {
		return map[string]any{
			telemetry.KeyConfig:    t.svc.cfg.fingerprint,
			telemetry.KeyBaseURL:   t.svc.cfg.baseURL,
			telemetry.KeySessionID: t.svc.SessionID(),
			telemetry.KeyModelID:   t.modelID,
			telemetry.KeyOp:        op,
		}
	})
}

// newOp builds a queued operation whose future completes with a *T. run
// submits with the seq_ids and returns the poll step, which must end by
// calling finish.
func newOp[T any](t *TrainingClient, ctx context.Context, name, requestType string, seqs int,
	run func(submitCtx, pollCtx context.Context, seqs []int64, f *Future[*T], finish func(*T, error)) (poll func(), err error)) (*trainingOp, *Future[*T]) {
	f := newOpFuture[*T](name)
	span := t.trainingSpan(name)
	// The span ends before the future completes, so whoever sees the
	// result also sees its metrics and log line.
	var ended atomic.Bool
	finish := func(v *T, err error) {
		if !ended.CompareAndSwap(false, true) {
			return
		}
		if span != nil {
			if err != nil {
				span.Exception(err, nil, map[string]any{telemetry.KeyKind: types.KindOf(err).String()})
			} else {
				span.Stop(nil, nil)
			}
		}
		f.complete(v, err)
	}
	op := &trainingOp{
		name: name, requestType: requestType, ctx: ctx, seqs: seqs,
		isDone: ended.Load, // set before the future completes: an op being failed is never dispatched
		fail:   func(err error) bool { finish(nil, err); return true },
		run: func(submitCtx, pollCtx context.Context, seqs []int64) (func(), error) {
			return run(submitCtx, pollCtx, seqs, f, finish)
		},
	}
	return op, f
}
