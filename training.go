package tinkex

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// TrainingClient trains one LoRA model. Every operation returns a *Future at
// once; the client submits the operations one at a time in call order, each
// with the next seq_id (starting at 1), and moves on as soon as the server
// has accepted a submit — it does not wait for results, so an OptimStep
// queued behind a ForwardBackward is sent before the ForwardBackward's
// result arrives.
//
// If its actor (training:<model_id> in the tree) crashes or is restarted by
// its supervisor, operations not yet submitted fail with ErrClientRestarted
// (retryable: nothing was sent), as do operations called while it is down;
// submitted ones keep polling and complete normally, and a submit in flight
// keeps its place ahead of later calls; the seq_ids continue without a gap.
// An operation whose context ends while it waits in the queue fails at once
// with ErrCanceled and takes no seq_id. After Close every pending operation
// fails with ErrClientStopped; after a successful Unload the client is
// closed the same way.
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
	fwdbwd    *limiter.Budget // the ServiceClient's forward_backward byte budget
	config    string          // the config's fingerprint, for events
	baseURL   string          // the config's base URL, for events
	modelID   string
	baseModel string
	seq       *registry.Counter // next seq_id; durable across actor restarts

	// mu guards the submit queue, the one mechanism that orders the
	// client's operations: they are appended in call order, and one submit
	// runs at a time; the goroutine that ends a submit starts the next.
	mu      sync.Mutex
	queue   []*trainingOp // called, not yet submitted, in call order
	sending bool          // a submit is running (its goroutine hands this on)
	down    bool          // the actor is between a stop and its restart
	// gap is the first lost seq_id's error (ErrSeqGap), nil while none is
	// lost. Set once, by the submit that lost it, before it hands on.
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
	// run submits on submitCtx with the given seq_ids; it returns once the
	// server has accepted every submit, with the poll step, which waits on
	// pollCtx and completes the future.
	run    func(submitCtx, pollCtx context.Context, seqs []int64) (poll func(), err error)
	fail   func(err error) bool
	isDone func() bool
	// unwatch stops the watch on ctx set while the operation waits in the
	// queue (so its future ends when its caller gives up, not at its turn);
	// written before it is queued, read by the submit that pops it.
	unwatch func() bool
}

// dequeued stops the queue's watch on op's context: op left the queue (its
// turn came, or the queue was failed), and nothing must stay registered
// with a caller's context that may live long.
func (op *trainingOp) dequeued() {
	if op.unwatch != nil {
		op.unwatch()
	}
}

// enqueueOp queues op behind the operations called before it, or starts
// its submit at once when none is running. It fails op at once if the
// client is stopped, its actor is down, or a seq_id was lost.
func (t *TrainingClient) enqueueOp(op *trainingOp) {
	t.mu.Lock()
	var err error
	switch {
	case t.stopped.Load() || t.svc.stopped.Load():
		err = t.unloadedError(op.name)
	case t.down:
		err = restartedError(op.name)
	default:
		err = t.gapError(op.name)
	}
	if err != nil {
		t.mu.Unlock()
		op.fail(err)
		return
	}
	if t.sending {
		if op.ctx.Done() != nil {
			op.unwatch = context.AfterFunc(op.ctx, func() {
				op.fail(types.CanceledError(op.name, context.Cause(op.ctx)))
			})
		}
		t.queue = append(t.queue, op)
		t.mu.Unlock()
		return
	}
	t.sending = true
	t.mu.Unlock()
	t.start(op)
}

// start runs op's submit, and after it the queue's, on a background
// goroutine. The caller holds the turn (sending).
func (t *TrainingClient) start(op *trainingOp) {
	if t.svc.goBackground(func() { t.run(op) }) {
		return
	}
	// Close has begun: nothing more is submitted. A call from now on fails
	// at once (the service is stopped), so giving the turn back before the
	// queue is failed lets nothing through.
	op.fail(t.svc.stoppedError(op.name))
	t.mu.Lock()
	t.sending = false
	t.mu.Unlock()
	t.failQueued(t.svc.stoppedError)
}

// run submits op, then hands the turn on: to the next queued operation,
// started on its own goroutine while this one polls op, or, when op ended
// without a submit, submitted here.
func (t *TrainingClient) run(op *trainingOp) {
	for op != nil {
		poll := t.submit(op)
		op = t.handOn()
		if poll != nil {
			if op != nil {
				t.start(op)
			}
			poll()
			return
		}
	}
}

// handOn ends the running submit's turn: it returns the next queued
// operation, which now holds the turn, or nil when the queue is empty.
func (t *TrainingClient) handOn() *trainingOp {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.queue) == 0 {
		t.sending = false
		return nil
	}
	op := t.queue[0]
	t.queue[0] = nil
	t.queue = t.queue[1:]
	return op
}

// failQueued fails every operation not yet submitted with err. The
// running submit, if any, keeps its turn and goes on.
func (t *TrainingClient) failQueued(err func(op string) error) {
	t.mu.Lock()
	ops := t.queue
	t.queue = nil
	t.mu.Unlock()
	for _, op := range ops {
		op.dequeued()
		op.fail(err(op.name))
	}
}

func restartedError(op string) error {
	return &Error{Kind: types.KindClientRestarted, Op: op,
		Message: "the training client restarted before this operation was submitted; nothing was sent"}
}

// trainingOwner is the TrainingClient side of its Training actor (package
// actors). The actor's life bounds the queue: a crash or a stop of an
// instance fails the operations it had not submitted, as a process's state
// dies with it; operations called while it is down fail with
// ErrClientRestarted.
type trainingOwner struct{ t *TrainingClient }

func (o trainingOwner) ModelID() string { return o.t.modelID }

func (o trainingOwner) Started(self *actor.PID) {
	o.t.mu.Lock()
	o.t.down = false
	o.t.mu.Unlock()
	o.t.pid.Store(self)
}

func (o trainingOwner) Restarting() { o.t.failQueued(restartedError) }

// Stopping: a stop is final only after Close; otherwise the supervisor is
// restarting the actor as a sibling (rest_for_one, one_for_all) or with
// its whole subtree, and the client goes on working once it is back.
func (o trainingOwner) Stopping() {
	t := o.t
	if t.stopped.Load() || t.svc.stopped.Load() {
		t.failQueued(t.svc.stoppedError)
		return
	}
	t.mu.Lock()
	t.down = true
	t.mu.Unlock()
	t.failQueued(restartedError)
}

// submit takes op's seq_ids and sends it, holding the turn. It returns
// op's poll step, or nil when op ended here: it was done, its caller gave
// up, an earlier seq_id was lost, or the submit failed.
//
// Once seq_ids are taken they must reach the server, or every later
// operation of the model would wait behind the gap: so the submit runs on a
// context that only Close cancels, and the caller's context governs the
// polling only (an operation the caller gave up on while it was being
// submitted still runs on the server).
func (t *TrainingClient) submit(op *trainingOp) (poll func()) {
	op.dequeued()
	if op.isDone() {
		return nil
	}
	ctx, stop := t.svc.bind(op.ctx)
	if ctx.Err() != nil { // canceled before its turn: nothing taken, nothing sent
		stop()
		op.fail(t.svc.translateStop(ctx, op.name, types.CanceledError(op.name, context.Cause(ctx))))
		return nil
	}
	if err := t.gapError(op.name); err != nil {
		stop()
		op.fail(err)
		return nil
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
	p, err := op.run(submitCtx, ctx, seqs)
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
		stopWatch()
		stop()
		op.fail(t.svc.translateStop(submitCtx, op.name, err))
		return nil
	}
	return func() {
		defer stop()
		defer stopWatch()
		p()
	}
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
// proxy's bare 400 — a connection error while the pool's budget lasts, an
// ordinary 400 after —, 408, 429, 5xx). A 2xx that did not decode, and a
// 4xx refusal, reached it.
func seqLost(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return true
	}
	s := e.StatusCode
	switch {
	case s >= 200 && s < 300:
		return false
	case e.Kind == types.KindConnection:
		return true
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
		telemetry.KeyConfig:    t.config,
		telemetry.KeyBaseURL:   t.baseURL,
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
			telemetry.KeyConfig:    t.config,
			telemetry.KeyBaseURL:   t.baseURL,
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
	// result also sees its metrics and log line. Its end event carries the
	// op's seq_id (the first, when chunked), known once it was dispatched.
	var ended atomic.Bool
	var firstSeq atomic.Int64 // 0: no seq_id taken (training seq_ids start at 1)
	finish := func(v *T, err error) {
		if !ended.CompareAndSwap(false, true) {
			return
		}
		var md map[string]any // built only for an end someone listens to
		if span.Emits(err != nil) {
			md = map[string]any{}
			if seq := firstSeq.Load(); seq > 0 {
				md[telemetry.KeySeqID] = seq
			}
		}
		if err != nil {
			if md != nil {
				md = errorKindMeta(md, err)
			}
			span.Exception(err, nil, md)
		} else {
			span.Stop(nil, md)
		}
		f.complete(v, err)
	}
	op := &trainingOp{
		name: name, requestType: requestType, ctx: ctx, seqs: seqs,
		isDone: ended.Load, // set before the future completes: an op being failed is never dispatched
		fail:   func(err error) bool { finish(nil, err); return true },
		run: func(submitCtx, pollCtx context.Context, seqs []int64) (func(), error) {
			if len(seqs) > 0 {
				firstSeq.Store(seqs[0])
			}
			return run(submitCtx, pollCtx, seqs, f, finish)
		},
	}
	return op, f
}
