package actors

import (
	"github.com/asynkron/protoactor-go/actor"
)

// Probe asks a client actor to answer at once; tests and the demo use it to
// prove a mailbox is responsive (e.g. while another config is backing off).
// Send it with RequestFuture; the answer is a *ProbeReply.
type Probe struct{}

// ProbeReply answers a Probe.
type ProbeReply struct {
	// Actor names the kind of actor that answered: session, training or sampling.
	Actor string
	// ID is the client's id (session id, model id or sampler id).
	ID string
}

// Crash makes a client actor panic with Reason while handling it, so its
// supervisor restarts it. It exists for fault-injection tests and the demo.
type Crash struct{ Reason string }

// handleCommon answers the messages every client actor understands.
func handleCommon(ctx actor.Context, kind, id string) {
	switch m := ctx.Message().(type) {
	case *Probe:
		ctx.Respond(&ProbeReply{Actor: kind, ID: id})
	case *Crash:
		panic("tinkex: injected crash: " + m.Reason)
	}
}
