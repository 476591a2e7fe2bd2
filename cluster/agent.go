package cluster

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/cluster/clusterpb"
)

// Messages to an agent from its own process.
type (
	tick            struct{}
	localReport     struct{}
	topologyChanged struct{}
	resolved        struct{ pid *actor.PID }
)

// agent is one config's member-side actor on the cluster system: it renews
// the member's lease with the config's grain, applies grants as ceilings on
// the local limiter, forwards local 429s and applies the fleet's backoff
// pushes. It owns cfg's fleet view. Nothing of it is on the hot path: the
// limiter keeps limiting locally while the agent waits for the network.
type agent struct {
	inc *incarnation
	cfg *config

	grain     *actor.PID // nil until resolved
	resolving bool
	pending   bool // a local 429 to report once the grain is known
	started   time.Time
	lastGrant time.Time
	// resolvedAt is when the grain was last looked up.
	resolvedAt time.Time

	stop, done chan struct{}
}

func (a *agent) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.started = time.Now()
		a.startTicker(ctx)
		a.resolve(ctx)
	case tick:
		a.tick(ctx)
	case resolved:
		a.resolving = false
		a.grain = m.pid
		a.resolvedAt = time.Now()
		if a.grain != nil {
			a.renew(ctx)
			if a.pending {
				a.report(ctx)
			}
		}
	case localReport:
		a.report(ctx)
	case topologyChanged:
		a.grain = nil // the grain may live elsewhere now
		a.resolve(ctx)
	case *clusterpb.Grant:
		if m.Moved {
			a.grain = nil
			a.resolve(ctx)
			return
		}
		a.granted(m)
	case *clusterpb.BackoffPush:
		a.pushed(m)
	case *actor.Stopping:
		if a.stop != nil {
			close(a.stop)
			<-a.done
		}
	}
}

func (a *agent) startTicker(ctx actor.Context) {
	a.stop, a.done = make(chan struct{}), make(chan struct{})
	root, self, every := ctx.ActorSystem().Root, ctx.Self(), a.inc.f.s.Renew
	stop, done := a.stop, a.done
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				root.Send(self, tick{})
			case <-stop:
				return
			}
		}
	}()
}

func (a *agent) tick(ctx actor.Context) {
	s := a.inc.f.s
	now := time.Now()
	last := a.lastGrant
	if last.IsZero() {
		last = a.started
	}
	if now.Sub(last) > s.Degrade {
		a.inc.f.degrade(a.cfg, a.inc.address, "no grant from the fleet for "+now.Sub(last).Round(time.Millisecond).String())
	}
	if a.grain != nil && now.Sub(maxTime(a.lastGrant, a.resolvedAt)) > 3*s.Renew {
		a.grain = nil // silent since the lookup: look it up again, it may have moved
	}
	if a.grain == nil {
		a.resolve(ctx)
		return
	}
	a.renew(ctx)
}

// resolve looks the grain up on a goroutine (protoactor's lookup blocks on
// a request to the owning member) and delivers it as a resolved message.
func (a *agent) resolve(ctx actor.Context) {
	if a.resolving {
		return
	}
	a.resolving = true
	c, root, self, fp := a.inc.c, ctx.ActorSystem().Root, ctx.Self(), a.cfg.fp
	a.inc.work.Add(1)
	go func() {
		defer a.inc.work.Done()
		var pid *actor.PID
		func() {
			defer func() { _ = recover() }()
			pid = c.Get(fp, grainKind)
		}()
		root.Send(self, resolved{pid: pid})
	}()
}

func (a *agent) renew(ctx actor.Context) { ctx.Request(a.grain, a.renewal()) }

// renewal is the member's Renew of cfg now. Its backoff is only what this
// member's own 429s asked for: the fleet's backoff, which the member was
// told by the grain, is not sent back (see grain.renew).
func (a *agent) renewal() *clusterpb.Renew {
	l := a.cfg.lim
	st := l.Stats()
	bs, bt := l.Bound()
	return &clusterpb.Renew{
		Fingerprint: a.cfg.fp,
		Slots:       int32(st.Slots), ThrottledSlots: int32(st.ThrottledSlots),
		BoundSlots: int32(bs), BoundThrottled: int32(bt),
		BackoffRemainingNs: int64(l.LocalBackoffRemaining()),
	}
}

func (a *agent) report(ctx actor.Context) {
	if a.grain == nil {
		a.pending = true
		a.resolve(ctx)
		return
	}
	a.pending = false
	rem := a.cfg.lim.LocalBackoffRemaining()
	if rem <= 0 {
		return
	}
	a.inc.f.reports.Add(1)
	ctx.Request(a.grain, &clusterpb.BackoffReport{Fingerprint: a.cfg.fp, RemainingNs: int64(rem)})
}

func (a *agent) granted(g *clusterpb.Grant) {
	f, cfg := a.inc.f, a.cfg
	a.lastGrant = time.Now()
	f.renewals.Add(1)
	cfg.lim.SetCeiling(int(g.Slots), int(g.ThrottledSlots))
	cfg.grantSlots.Store(g.Slots)
	cfg.grantThrottle.Store(g.ThrottledSlots)
	cfg.members.Store(g.Members)
	if g.BackoffRemainingNs > 0 {
		cfg.lim.ApplyFleetBackoff(time.Duration(g.BackoffRemainingNs))
	}
	f.recovered(cfg, a.inc.address)
}

func (a *agent) pushed(p *clusterpb.BackoffPush) {
	if a.cfg.lim.ApplyFleetBackoff(time.Duration(p.RemainingNs)) {
		a.inc.f.applied.Add(1)
	}
}
