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
	// Started is told each new instance's PID: the client takes
	// operations again.
	Started(self *actor.PID)
	// Restarting is told that the instance crashed: the owner fails the
	// operations queued and not yet submitted, as a process's state dies
	// with it.
	Restarting()
	// Stopping is told that the instance is stopping (a Close, or a
	// sibling's restart taking it down): the owner fails the operations not
	// yet submitted and, until the next Started, the ones called meanwhile.
	Stopping()
}

// Training is the crash domain of one TrainingClient in the tree. It holds
// no state: the client's submit queue is the owner's (one mutex), so that a
// submit running across a restart keeps its place and the server sees the
// seq_ids in call order. The actor's life bounds that queue: what was
// queued when an instance crashed or stopped fails, what the server
// already accepted goes on polling.
type Training struct{ owner TrainingOwner }

// TrainingSpec is the supervisor spec of owner's Training actor:
// "training:<model id>", transient (a normal stop is final, a crash
// restarts it around the same owner).
func TrainingSpec(owner TrainingOwner) supervisor.Spec {
	return supervisor.Spec{ID: ChildID("training", owner.ModelID()), Restart: supervisor.Transient,
		Start: func() actor.Actor { return &Training{owner: owner} }}
}

// Receive implements actor.Actor.
func (a *Training) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		a.owner.Started(ctx.Self())
	case *actor.Restarting:
		a.owner.Restarting()
	case *actor.Stopping:
		a.owner.Stopping()
	default:
		handleCommon(ctx, "training", a.owner.ModelID())
	}
}
