package supervisor

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Context returns the context.Context of the calling child actor. It is
// cancelled, with cause ExitKilled, the moment the child's supervisor kills
// it (Shutdown BrutalKill, or a graceful stop that outlived its timeout), so
// cleanup that honours it stops there; otherwise it ends with the actor
// process, after *actor.Stopped (a restart in place keeps it), or with the
// panic of a child that panics while stopping. Pass ctx as
// the actor's Receive got it. For an actor no supervisor started it returns
// context.Background().
func Context(ctx actor.Context) context.Context {
	if cc, ok := ctx.(*childContext); ok {
		return cc.inst.context()
	}
	return context.Background()
}

// instance is what a supervisor keeps of one child actor process beyond its
// PID: the context handed to the child (made when the child first asks for
// it), and the fence that drops everything the process sends once it has
// been killed. Go cannot stop a goroutine, so a killed actor may still be
// running a handler; fenced, nothing it sends through its actor.Context
// reaches anyone.
type instance struct {
	fenced atomic.Bool
	owner  *instances
	pid    *actor.PID

	// Guarded by owner.mu: the context (nil until Context asks) and the
	// cause it ends with, kept so that a context made later starts with it.
	ctx    context.Context
	cancel context.CancelCauseFunc
	cause  error
}

// context returns the process's context, making it on first use.
func (i *instance) context() context.Context {
	i.owner.mu.Lock()
	defer i.owner.mu.Unlock()
	if i.ctx == nil {
		i.ctx, i.cancel = context.WithCancelCause(context.Background())
		if i.cause != nil {
			i.cancel(i.cause)
		}
	}
	return i.ctx
}

// endWith cancels the process's context with cause; the first cause stays.
func (i *instance) endWith(cause error) {
	i.owner.mu.Lock()
	if i.cause == nil {
		i.cause = cause
	}
	cancel := i.cancel
	i.owner.mu.Unlock()
	if cancel != nil {
		cancel(cause)
	}
}

// kill fences the process off and cancels its context.
func (i *instance) kill() {
	i.fenced.Store(true)
	i.endWith(ExitKilled)
}

// end cancels the context of a process that stopped and forgets it.
func (i *instance) end() {
	i.endWith(ExitNormal)
	i.owner.drop(i.pid)
}

// instances are the live processes of one child record: usually one (in
// one), more while a killed one has not returned yet (the others in more,
// made only then). Both the supervisor (kill) and the processes (their
// first message, their end) reach it, hence the lock; a process reads its
// own instance through its childContext without it.
type instances struct {
	mu   sync.Mutex
	one  *instance
	more map[*actor.PID]*instance
}

// get returns pid's instance, creating it for whichever side comes first.
func (is *instances) get(pid *actor.PID) *instance {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.one != nil && is.one.pid == pid {
		return is.one
	}
	if i, ok := is.more[pid]; ok {
		return i
	}
	i := &instance{owner: is, pid: pid}
	switch {
	case is.one == nil:
		is.one = i
	case is.more == nil:
		is.more = map[*actor.PID]*instance{pid: i}
	default:
		is.more[pid] = i
	}
	return i
}

func (is *instances) drop(pid *actor.PID) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.one != nil && is.one.pid == pid {
		is.one = nil
		return
	}
	delete(is.more, pid)
}

// childContext is the actor.Context every supervised child receives: the
// protoactor context with the child's instance attached.
type childContext struct {
	actor.Context
	inst *instance
}

// decorate attaches the process's instance to its context (protoactor
// builds the decorated context once per process, on its first message).
func (is *instances) decorate(next actor.ContextDecoratorFunc) actor.ContextDecoratorFunc {
	return func(ctx actor.Context) actor.Context {
		return &childContext{Context: next(ctx), inst: is.get(ctx.Self())}
	}
}

// The messaging methods of a killed process's context drop what it sends.
// (Overriding them costs nothing per message; a sender middleware would wrap
// every message of every child in an envelope.)

// Send implements actor.SenderContext.
func (c *childContext) Send(pid *actor.PID, message any) {
	if !c.inst.fenced.Load() {
		c.Context.Send(pid, message)
	}
}

// Request implements actor.SenderContext.
func (c *childContext) Request(pid *actor.PID, message any) {
	if !c.inst.fenced.Load() {
		c.Context.Request(pid, message)
	}
}

// RequestWithCustomSender implements actor.SenderContext.
func (c *childContext) RequestWithCustomSender(pid *actor.PID, message any, sender *actor.PID) {
	if !c.inst.fenced.Load() {
		c.Context.RequestWithCustomSender(pid, message, sender)
	}
}

// RequestFuture implements actor.SenderContext; a killed process's future
// is never answered and times out.
func (c *childContext) RequestFuture(pid *actor.PID, message any, timeout time.Duration) *actor.Future {
	if c.inst.fenced.Load() {
		return actor.NewFuture(c.ActorSystem(), timeout)
	}
	return c.Context.RequestFuture(pid, message, timeout)
}

// Respond implements actor.Context.
func (c *childContext) Respond(response any) {
	if !c.inst.fenced.Load() {
		c.Context.Respond(response)
	}
}

// Forward implements actor.Context.
func (c *childContext) Forward(pid *actor.PID) {
	if !c.inst.fenced.Load() {
		c.Context.Forward(pid)
	}
}

// Poison implements actor.Context.
func (c *childContext) Poison(pid *actor.PID) {
	if !c.inst.fenced.Load() {
		c.Context.Poison(pid)
	}
}
