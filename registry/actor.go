package registry

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/supervisor"
)

// EntriesRequest asks the registry actor for Entries; it responds with a
// []Entry. It doubles as a probe that the actor's mailbox is responsive.
type EntriesRequest struct{}

// createRequest carries its own buffered reply channel; see Registry.Limiter.
type createRequest struct {
	key   Key
	reply chan<- createReply
}

type createReply struct {
	e       *entry
	created bool
	err     error
}

// WriterID is the tree ID of the registry actor, the first child of the
// registry supervisor (see Spec).
const WriterID = "writer"

// LimiterActorName returns the tree ID of the limiter actor of the config
// with fingerprint fp, a child of the registry supervisor.
func LimiterActorName(fp string) string { return "limiter:" + fp }

// Spec returns the registry's subtree, to be run as a child of the root
// supervisor: a one_for_one supervisor "registry" (opts set its intensity)
// whose first child is the registry actor (WriterID), the single creator of
// limiters, followed by one permanent limiter actor per config
// (LimiterActorName). All of them are ordinary supervised children: a crash
// follows OTP's rules and shows in Tree. The limiter actors are built from
// the registry's durable state at every start of the subtree, and a config
// created later gets its actor then, so backoff state, slots and counters
// outlive every restart. Run at most one registry subtree per Registry at a
// time.
func (r *Registry) Spec(opts ...supervisor.Option) supervisor.Spec {
	return r.spec(nil, opts...)
}

func (r *Registry) spec(writerOpts []actor.PropsOption, opts ...supervisor.Option) supervisor.Spec {
	writer := supervisor.Spec{ID: WriterID, Restart: supervisor.Permanent,
		Props: actor.PropsFromProducer(func() actor.Actor { return &registryActor{r: r} }, writerOpts...)}
	return supervisor.SubFunc("registry", supervisor.OneForOne, func() []supervisor.Spec {
		specs := []supervisor.Spec{writer}
		seen := map[string]bool{WriterID: true}
		for _, e := range r.snap.Load().list {
			if s := e.spec(); !seen[s.ID] {
				seen[s.ID] = true
				specs = append(specs, s)
			}
		}
		return specs
	}, opts...)
}

// spec is the child spec of e's limiter actor.
func (e *entry) spec() supervisor.Spec {
	return supervisor.Spec{ID: LimiterActorName(e.key.fp), Restart: supervisor.Permanent,
		Start: func() actor.Actor { return &limiterCell{e: e, inner: e.lim.Producer()()} }}
}

// limiterCell is a limiter actor that records its PID in its entry while it
// runs, for Entries.
type limiterCell struct {
	e     *entry
	inner actor.Actor
}

func (c *limiterCell) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		c.e.pid.Store(ctx.Self())
	case *actor.Stopped:
		c.e.pid.CompareAndSwap(ctx.Self(), nil)
	}
	c.inner.Receive(ctx)
}

type registryActor struct {
	r     *Registry
	bound *binding
}

func (a *registryActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.bound = &binding{system: ctx.ActorSystem(), pid: ctx.Self(), sup: ctx.Parent()}
		a.r.bind(a.bound)
	case *createRequest:
		e, created, err := a.r.insert(m.key)
		m.reply <- createReply{e: e, created: created, err: err}
	case EntriesRequest, *EntriesRequest:
		ctx.Respond(a.r.Entries())
	case *actor.Stopping:
		a.r.unbind(a.bound)
	}
}

// startLimiterActor adds the limiter actor of a config just created to the
// registry supervisor and waits for it to run, within the ask timeout. The
// limiter works without its actor (which adds telemetry and probing), so a
// failure is not the caller's: if the supervisor is busy restarting or gone,
// its next start brings the actor up from the snapshot.
func (r *Registry) startLimiterActor(ctx context.Context, b *binding, e *entry) {
	if b.sup == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.askTimeout)
	defer cancel()
	_, _ = supervisor.Ref(b.system, b.sup).StartChild(ctx, e.spec())
}
