package supervisor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// DefaultCallTimeout bounds a handle call whose context has no deadline.
// Calls that stop children may take up to the children's shutdown timeouts.
const DefaultCallTimeout = time.Minute

// Supervisor is a handle on a running supervisor actor, usable from any
// goroutine. Start returns the root's handle; Sub returns handles on nested
// supervisors. Methods that talk to the actor take a context and return an
// *Error whose chain holds ErrStopped if the supervisor is gone, or the
// context's error if ctx ends first.
type Supervisor struct {
	system *actor.ActorSystem
	pid    *actor.PID
	id     string
	root   *rootState // nil for nested handles
}

// Start spawns a root supervisor named id on system.Root and starts children
// in order, each one after the previous has handled *actor.Started. It
// returns once they all have, or with an error (ErrStartFailed in the chain)
// after stopping those already started, in reverse order.
//
// A root never escalates to protoactor's guardian: when it gives up (see
// WithIntensity), or is stopped, it stops its children in reverse start order,
// closes Done and reports the reason from Err.
func Start(ctx context.Context, system *actor.ActorSystem, id string, strategy Strategy, children []Spec, opts ...Option) (*Supervisor, error) {
	if system == nil {
		return nil, specError("start", "actor system is nil")
	}
	cfg := newConfig(id, strategy, children, opts)
	if err := validateTree("start", cfg, children); err != nil {
		return nil, err
	}
	root := &rootState{booted: make(chan error, 1), done: make(chan struct{})}
	pid, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return newSupervisorActor(cfg, root)
	}), id)
	if err != nil {
		return nil, specError("start", "cannot spawn supervisor %q: %v", id, err)
	}
	h := &Supervisor{system: system, pid: pid, id: id, root: root}
	select {
	case err := <-root.booted:
		if err != nil {
			<-root.done
			return nil, &Error{Op: "start", Message: fmt.Sprintf("supervisor %q did not start", id), Err: err}
		}
		return h, nil
	case <-ctx.Done():
		system.Root.Send(pid, &shutdownRequest{})
		return nil, canceledError("start", ctx.Err())
	}
}

// Sub returns the spec of a child supervisor with the given strategy and
// children. Every start builds a fresh supervisor from these specs, so
// dynamic children are lost when it restarts, as in OTP. It is a Permanent
// child with Shutdown Infinity; change the returned Spec to differ. Without
// WithClock or WithTelemetry it uses its parent's.
func Sub(id string, strategy Strategy, children []Spec, opts ...Option) Spec {
	cfg := newConfig(id, strategy, children, opts)
	return Spec{
		ID:    id,
		Kind:  KindSupervisor,
		Start: func() actor.Actor { return newSupervisorActor(cfg, nil) },
	}
}

// Ref returns a handle on the supervisor at pid, e.g. one of a Sub child's
// PIDs. Done and Err are only meaningful on a root's handle.
func Ref(system *actor.ActorSystem, pid *actor.PID) *Supervisor {
	return &Supervisor{system: system, pid: pid}
}

// PID returns the supervisor actor's PID.
func (h *Supervisor) PID() *actor.PID { return h.pid }

// Done is closed when a root supervisor has stopped its children and ended,
// after Stop or after giving up. It is nil (never ready) on a nested handle.
func (h *Supervisor) Done() <-chan struct{} {
	if h.root == nil {
		return nil
	}
	return h.root.done
}

// Err returns why a root supervisor ended once Done is closed: nil after Stop,
// an *IntensityError when it gave up. It returns nil before that.
func (h *Supervisor) Err() error {
	if h.root == nil {
		return nil
	}
	select {
	case <-h.root.done:
		return h.root.err
	default:
		return nil
	}
}

// Stop shuts a root supervisor down: it stops its children in reverse start
// order (each within its shutdown timeout) and ends. It waits for Done or
// ctx. For a nested supervisor, call TerminateChild on its parent.
func (h *Supervisor) Stop(ctx context.Context) error {
	if h.root == nil {
		return specError("stop", "Stop works on a root supervisor; terminate a nested one through its parent")
	}
	h.system.Root.Send(h.pid, &shutdownRequest{})
	select {
	case <-h.root.done:
		return nil
	case <-ctx.Done():
		return canceledError("stop", ctx.Err())
	}
}

// StartChild adds spec as the last child and starts it; it returns the
// child's PID once the child has handled *actor.Started; a nil PID and no
// error if the child called Ignore (the spec is then kept, not running,
// unless it is Temporary). Errors:
// ErrAlreadyStarted, ErrAlreadyPresent, ErrStartFailed (the spec is not
// kept), a validation error for a bad spec.
func (h *Supervisor) StartChild(ctx context.Context, spec Spec) (*actor.PID, error) {
	if err := spec.validate("start_child"); err != nil {
		return nil, err
	}
	v, err := h.call(ctx, "start_child", &startChildRequest{spec: spec})
	pid, _ := v.(*actor.PID)
	return pid, err
}

// TerminateChild stops the child (reverse order does not apply: just this
// one) within its shutdown timeout and keeps its spec, unless the child is
// Temporary. Terminating a child that is not running succeeds. Errors:
// ErrNotFound.
func (h *Supervisor) TerminateChild(ctx context.Context, id string) error {
	_, err := h.call(ctx, "terminate_child", &terminateChildRequest{id: id})
	return err
}

// DeleteChild removes the spec of a terminated child. Errors: ErrNotFound,
// ErrRunning, ErrRestarting (a failed restart of it waits to be tried
// again; TerminateChild stops it).
func (h *Supervisor) DeleteChild(ctx context.Context, id string) error {
	_, err := h.call(ctx, "delete_child", &deleteChildRequest{id: id})
	return err
}

// RestartChild starts a terminated child again from its spec and returns its
// PID. Errors: ErrNotFound, ErrRunning, ErrRestarting, ErrStartFailed (the
// spec is kept).
func (h *Supervisor) RestartChild(ctx context.Context, id string) (*actor.PID, error) {
	v, err := h.call(ctx, "restart_child", &restartChildRequest{id: id})
	pid, _ := v.(*actor.PID)
	return pid, err
}

// GetChildSpec returns the spec of child id, as OTP's get_childspec. It is
// answered at once. Errors: ErrNotFound.
func (h *Supervisor) GetChildSpec(ctx context.Context, id string) (Spec, error) {
	v, err := h.call(ctx, "get_childspec", &childSpecRequest{id: id})
	spec, _ := v.(Spec)
	return spec, err
}

// WhichChildren lists the children in start order (OTP's which_children
// lists them last started first; start order is what Tree shows and what
// strategies use). It is answered at once, even in the middle of a restart.
func (h *Supervisor) WhichChildren(ctx context.Context) ([]ChildInfo, error) {
	v, err := h.call(ctx, "which_children", &whichChildrenRequest{})
	infos, _ := v.([]ChildInfo)
	return infos, err
}

// CountChildren counts the children as OTP's count_children does.
func (h *Supervisor) CountChildren(ctx context.Context) (Counts, error) {
	v, err := h.call(ctx, "count_children", &countChildrenRequest{})
	n, _ := v.(Counts)
	return n, err
}

// Sub returns a handle on the running child supervisor id. Errors:
// ErrNotFound, ErrNotSupervisor, ErrStopped if it is not running.
func (h *Supervisor) Sub(ctx context.Context, id string) (*Supervisor, error) {
	v, err := h.call(ctx, "sub", &childPIDRequest{id: id})
	if err != nil {
		return nil, err
	}
	return &Supervisor{system: h.system, pid: v.(*actor.PID), id: id}, nil
}

// Tree returns a snapshot of this supervisor and everything below it. Only
// supervisors are asked (each knows its children's state and answers at once,
// even mid-restart), never workers, so a busy worker cannot delay it. A
// sub-supervisor that ends while the snapshot is taken is shown without
// children.
func (h *Supervisor) Tree(ctx context.Context) (Node, error) {
	lv, err := h.level(ctx, h.pid)
	if err != nil {
		return Node{}, err
	}
	n := Node{ID: lv.id, Kind: KindSupervisor, PID: h.pid.Id, Status: Running, Strategy: lv.strategy}
	n.Children, err = h.nodes(ctx, lv.children)
	return n, err
}

func (h *Supervisor) nodes(ctx context.Context, infos []ChildInfo) ([]Node, error) {
	out := make([]Node, len(infos))
	for i, ci := range infos {
		n := Node{ID: ci.ID, Kind: ci.Kind, Status: ci.Status, Restarts: ci.Restarts, Restart: ci.Restart}
		if ci.PID != nil {
			n.PID = ci.PID.Id
		}
		if ci.Kind == KindSupervisor && ci.PID != nil && ci.Status == Running {
			lv, err := h.level(ctx, ci.PID)
			switch {
			case err == nil:
				n.Strategy = lv.strategy
				if n.Children, err = h.nodes(ctx, lv.children); err != nil {
					return nil, err
				}
			case errors.Is(err, ErrStopped):
			default:
				return nil, err
			}
		}
		out[i] = n
	}
	return out, nil
}

func (h *Supervisor) level(ctx context.Context, pid *actor.PID) (*level, error) {
	v, err := Ref(h.system, pid).callTimeout(ctx, "tree", &levelRequest{}, treeTimeout)
	if err != nil {
		return nil, err
	}
	return v.(*level), nil
}

// sync waits until the supervisor has finished what it was doing (tests).
func (h *Supervisor) sync(ctx context.Context) error {
	_, err := h.call(ctx, "sync", &syncRequest{})
	return err
}

func (h *Supervisor) call(ctx context.Context, op string, msg any) (any, error) {
	return h.callTimeout(ctx, op, msg, DefaultCallTimeout)
}

// callTimeout sends msg with a private reply process as sender and waits for
// the reply, ctx or the timeout. Unlike a Future, it needs no goroutine, so
// nothing outlives the call when ctx ends. Like OTP's gen:call it monitors the
// supervisor (a Watch), because protoactor drops the messages still queued
// when an actor stops: a call racing with the end of the supervisor fails at
// once with ErrStopped instead of waiting for its timeout.
func (h *Supervisor) callTimeout(ctx context.Context, op string, msg any, timeout time.Duration) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, canceledError(op, err)
	}
	rp := &replyProcess{ch: make(chan any, 1)}
	reg := h.system.ProcessRegistry
	self, ok := reg.Add(rp, "supervisor-call"+reg.NextId())
	if !ok {
		return nil, stoppedError(op, errors.New("cannot register a reply process"))
	}
	defer reg.Remove(self)
	target, _ := reg.Get(h.pid)
	target.SendSystemMessage(h.pid, &actor.Watch{Watcher: self})
	defer target.SendSystemMessage(h.pid, &actor.Unwatch{Watcher: self})
	h.system.Root.RequestWithCustomSender(h.pid, msg, self)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m := <-rp.ch:
		switch m := m.(type) {
		case *reply:
			return m.value, m.err
		case *actor.DeadLetterResponse, *actor.Terminated:
			return nil, stoppedError(op, fmt.Errorf("%w: supervisor %s is gone", ErrStopped, h.pid.Id))
		}
		return nil, stoppedError(op, fmt.Errorf("%w: unexpected reply %T", ErrStopped, m))
	case <-ctx.Done():
		return nil, canceledError(op, ctx.Err())
	case <-t.C:
		return nil, opError(op, ErrCallTimeout, "no answer from supervisor %s within %v", h.pid.Id, timeout)
	}
}

// replyProcess receives the single reply of a call, or the Terminated of the
// supervisor it watches.
type replyProcess struct{ ch chan any }

func (p *replyProcess) SendUserMessage(_ *actor.PID, m any) {
	_, msg, _ := actor.UnwrapEnvelope(m)
	select {
	case p.ch <- msg:
	default:
	}
}

func (p *replyProcess) SendSystemMessage(_ *actor.PID, m any) {
	if t, ok := m.(*actor.Terminated); ok {
		select {
		case p.ch <- t:
		default:
		}
	}
}
func (p *replyProcess) Stop(*actor.PID) {}
