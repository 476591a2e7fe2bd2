package actors

import (
	"github.com/asynkron/protoactor-go/actor"
)

// samplingActor anchors a SamplingClient in the supervision tree. The
// sampling hot path never passes through it; it answers probes and is
// restarted by its supervisor after a crash without disturbing samples in
// flight (the sampling session and seq counter live outside it). The client
// stops with its ServiceClient (Close), which is what makes Sample fail
// with ErrClientStopped.
type samplingActor struct{ sc *SamplingClient }

func (a *samplingActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		a.sc.pid.Store(ctx.Self())
	default:
		handleCommon(ctx, "sampling", a.sc.samplerID)
	}
}
