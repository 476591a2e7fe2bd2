package registry

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/limiter"
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
	lim *limiter.Limiter
	err error
}

// LimiterActorName returns the name of the limiter actor of the config with
// fingerprint fp, as a child of the registry actor.
func LimiterActorName(fp string) string { return "limiter:" + fp }

// Producer returns the producer of the registry actor, to be run as a
// permanent child of the root supervisor. Each call of the producer returns a
// fresh actor over r's durable state. On every start (and restart) the actor
// spawns one limiter actor per existing config, named LimiterActorName(fp),
// and re-attaches it to the existing limiter, whose backoff state is
// untouched; protoactor stops children when their parent restarts.
//
// Messages: EntriesRequest (answered with []Entry), *actor.Touch, and the
// private create request sent by Registry.Limiter. Run at most one registry actor per
// Registry at a time.
func (r *Registry) Producer() actor.Producer {
	return func() actor.Actor { return &registryActor{r: r} }
}

type registryActor struct {
	r     *Registry
	bound *binding
}

func (a *registryActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.bound = &binding{root: ctx.ActorSystem().Root, pid: ctx.Self()}
		a.r.bind(a.bound)
		for _, e := range a.r.snap.Load().list {
			a.spawn(ctx, e)
		}
	case *createRequest:
		lim, err := a.create(ctx, m.key)
		m.reply <- createReply{lim: lim, err: err}
	case EntriesRequest, *EntriesRequest:
		ctx.Respond(a.r.Entries())
	case *actor.Terminated:
		for _, e := range a.r.snap.Load().list {
			if pid := e.pid.Load(); pid != nil && pid.Equal(m.Who) {
				e.pid.CompareAndSwap(pid, nil)
			}
		}
	case *actor.Stopping:
		a.r.unbind(a.bound)
	}
}

// create returns k's limiter, making it and spawning its limiter actor if
// this is the first request for k.
func (a *registryActor) create(ctx actor.Context, k Key) (*limiter.Limiter, error) {
	e, created, err := a.r.insert(k)
	if err != nil {
		return nil, err
	}
	if created {
		a.spawn(ctx, e)
	}
	return e.lim, nil
}

func (a *registryActor) spawn(ctx actor.Context, e *entry) {
	props := actor.PropsFromProducer(e.lim.Producer())
	name := LimiterActorName(e.key.fp)
	pid, err := ctx.SpawnNamed(props, name)
	if errors.Is(err, actor.ErrNameExists) {
		// Two configs whose fingerprints collide still get an actor each.
		pid = ctx.SpawnPrefix(props, name+"-")
	}
	e.pid.Store(pid)
}
