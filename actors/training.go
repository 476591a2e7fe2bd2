package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/supervisor"
)

// TrainingOwner is the TrainingClient side of a Training actor. The actor
// calls it on its own goroutine, one call at a time.
type TrainingOwner interface {
	// ModelID names the model, for the tree id and probes.
	ModelID() string
	// Started is told each new instance's PID.
	Started(self *actor.PID)
	// Dispatch starts op, the oldest queued operation, while no other is
	// in flight. It calls done once op's submit has been sent or has failed
	// for good, and reports whether it started op at all: false means op
	// ended without a submit (it was done, canceled or refused) and the
	// actor goes on with the next.
	Dispatch(op any, done func()) bool
	// Restarting is told that the instance crashed and its queue is lost:
	// the owner fails the operations that were not submitted.
	Restarting()
	// Stopping is told that the instance is stopping (a Close, or a
	// sibling's restart taking it down): the owner fails the operations
	// that were not submitted.
	Stopping()
}

// Enqueue adds Op to a Training actor's queue. An Enqueue that reaches a
// stopped actor becomes a dead letter; the owner's runtime fails its
// operation.
type Enqueue struct{ Op any }

// dispatched tells the actor that the submit of op has been sent.
type dispatched struct{ op any }

// Training orders the operations of one TrainingClient: it keeps them in
// call order and dispatches one at a time, the next when the previous
// submit has been sent. It never does I/O.
type Training struct {
	owner    TrainingOwner
	queue    []any
	inflight any
}

// TrainingSpec is the supervisor spec of owner's Training actor:
// "training:<model id>", transient (a normal stop is final, a crash
// restarts it around the same owner).
func TrainingSpec(owner TrainingOwner) supervisor.Spec {
	return supervisor.Spec{ID: ChildID("training", owner.ModelID()), Restart: supervisor.Transient,
		Start: func() actor.Actor { return &Training{owner: owner} }}
}

// Receive implements actor.Actor.
func (a *Training) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.owner.Started(ctx.Self())
	case *Enqueue:
		a.queue = append(a.queue, m.Op)
		a.dispatch(ctx)
	case *dispatched:
		if a.inflight == m.op {
			a.inflight = nil
		}
		a.dispatch(ctx)
	case *actor.Restarting:
		a.owner.Restarting()
	case *actor.Stopping:
		a.owner.Stopping()
	default:
		handleCommon(ctx, "training", a.owner.ModelID())
	}
}

func (a *Training) dispatch(ctx actor.Context) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	for a.inflight == nil && len(a.queue) > 0 {
		op := a.queue[0]
		a.queue[0] = nil
		a.queue = a.queue[1:]
		if a.owner.Dispatch(op, func() { root.Send(self, &dispatched{op: op}) }) {
			a.inflight = op
		}
	}
}
