// Package inspect reaches into a running tinkex runtime for the module's
// own tests, benchmarks and demo: the actor system, the limiter registry,
// a client's PID and limiter, and the Probe and Crash messages every client
// actor understands. None of it is public API: a user of package tinkex
// sees a read-only Tree, LimiterStats and telemetry instead.
//
// Package actors installs the accessors when it is initialised (it imports
// this package, never the other way round), so they work in any program
// that links tinkex. An accessor given a value of the wrong type returns
// the zero value.
package inspect

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
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

// Hooks are the accessors package actors installs. Each takes the client
// or runtime as any, since this package cannot name package actors' types.
type Hooks struct {
	ActorSystem func(rt any) *actor.ActorSystem
	Registry    func(rt any) *registry.Registry
	Limiter     func(svc any) *limiter.Limiter
	PID         func(client any) *actor.PID
}

var hooks Hooks

// Install sets the accessors; package actors calls it from init.
func Install(h Hooks) { hooks = h }

// ActorSystem returns the runtime's protoactor actor system (*tinkex.Runtime).
func ActorSystem(rt any) *actor.ActorSystem { return call(hooks.ActorSystem, rt) }

// Registry returns the runtime's limiter registry (*tinkex.Runtime).
func Registry(rt any) *registry.Registry { return call(hooks.Registry, rt) }

// Limiter returns the limiter a *tinkex.ServiceClient shares with every
// client of its config.
func Limiter(svc any) *limiter.Limiter { return call(hooks.Limiter, svc) }

// PID returns the current PID of a *tinkex.TrainingClient or
// *tinkex.SamplingClient actor (it changes when the actor restarts).
func PID(client any) *actor.PID { return call(hooks.PID, client) }

// CrashClient sends a Crash to the client's actor, which panics with reason and
// is restarted by its supervisor. It reports whether the client had an
// actor to send it to.
func CrashClient(rt, client any, reason string) bool {
	sys, pid := ActorSystem(rt), PID(client)
	if sys == nil || pid == nil {
		return false
	}
	sys.Root.Send(pid, &Crash{Reason: reason})
	return true
}

func call[T any](f func(any) *T, v any) *T {
	if f == nil {
		return nil
	}
	return f(v)
}
