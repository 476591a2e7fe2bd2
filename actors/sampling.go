package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/supervisor"
)

// SamplingOwner is the SamplingClient side of a Sampling actor.
type SamplingOwner interface {
	// SamplerID names the sampling session, for the tree id and probes.
	SamplerID() string
	// Started is told each new instance's PID.
	Started(self *actor.PID)
}

// Sampling anchors a SamplingClient in the supervision tree. The sampling
// hot path never passes through it; it answers probes and is restarted by
// its supervisor after a crash without disturbing samples in flight (the
// sampling session and its seq counter live with the owner).
type Sampling struct{ owner SamplingOwner }

// SamplingSpec is the supervisor spec of owner's Sampling actor:
// "sampling:<sampler id>", transient.
func SamplingSpec(owner SamplingOwner) supervisor.Spec {
	return supervisor.Spec{ID: ChildID("sampling", owner.SamplerID()), Restart: supervisor.Transient,
		Start: func() actor.Actor { return &Sampling{owner: owner} }}
}

// Receive implements actor.Actor.
func (a *Sampling) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		a.owner.Started(ctx.Self())
	default:
		handleCommon(ctx, "sampling", a.owner.SamplerID())
	}
}
