package cluster

import (
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/eventstream"

	"github.com/tinkex-go/tinkex/cluster/clusterpb"
	"github.com/tinkex-go/tinkex/types"
)

// minPushExtension is how much a report must extend the fleet's deadline
// before the grain pushes it to every member: reports of one burst that
// arrive a few milliseconds apart cost no extra broadcast.
const minPushExtension = 5 * time.Millisecond

// maxFleetBackoff caps the backoff a grain takes from any member: the
// longest a 429 makes tinkex back off (a Retry-After above
// types.MaxRetryAfter is ignored, and the sampling floors are below it), so
// that one member's bogus or overflowing value cannot stop the fleet for
// longer.
const maxFleetBackoff = types.MaxRetryAfter

// grain is the virtual actor of one config (identity: its fingerprint),
// placed on one member by protoactor's distributed-hash identity lookup and
// re-activated elsewhere when that member leaves. It is the single owner of
// the fleet's state of the config: the backoff deadline (extend-only) and
// the leases of the dispatch budget. All of that is soft state rebuilt from
// the members' renewals, so a re-activation loses nothing for long.
type grain struct {
	inc *incarnation
	now func() time.Time // time.Now; a fake clock's in tests

	id       *pcluster.ClusterIdentity
	fp       string
	moved    bool // see checkOwner
	started  time.Time
	deadline time.Time
	leases   map[string]*lease // by agent PID
	sub      *eventstream.Subscription
}

type lease struct {
	pid               *actor.PID
	slots, throttled  int32 // configured sizes the member reported
	granted, grantedT int32
	bound, boundT     int32
	seen              time.Time
}

// claim is what the fleet must assume the member may have in flight.
func (l *lease) claim() (int32, int32) { return max(l.granted, l.bound), max(l.grantedT, l.boundT) }

type topology struct{ t *pcluster.ClusterTopology }

// checkOwner marks the grain moved when, in its member's view of members,
// another member owns its identity: protoactor activates a grain wherever
// a requester with a stale view asks, and only retires activations on a
// later topology change, so an orphan could otherwise serve a part of the
// fleet on its own. A moved grain answers Grant{Moved} and stops.
func (g *grain) checkOwner(ctx actor.Context, members []*pcluster.Member) {
	rdv := pcluster.NewRendezvous()
	rdv.UpdateMembers(members)
	if owner := rdv.GetByClusterIdentity(g.id); owner != "" && owner != ctx.ActorSystem().Address() && !g.moved {
		g.moved = true
		ctx.Poison(ctx.Self()) // after the messages already queued, answered Moved
	}
}

func (g *grain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *pcluster.ClusterInit:
		g.id = m.Identity
		g.activate(m.Identity.Identity)
		g.checkOwner(ctx, m.Cluster.MemberList.Members().Members())
		root, self := ctx.ActorSystem().Root, ctx.Self()
		g.sub = ctx.ActorSystem().EventStream.Subscribe(func(evt any) {
			if t, ok := evt.(*pcluster.ClusterTopology); ok {
				root.Send(self, topology{t: t})
			}
		})
	case *clusterpb.Renew:
		if g.moved {
			ctx.Respond(&clusterpb.Grant{Moved: true})
			return
		}
		g.renew(ctx, m)
	case *clusterpb.BackoffReport:
		if !g.moved {
			g.extend(ctx, time.Duration(m.RemainingNs), ctx.Sender())
		}
	case topology:
		g.checkOwner(ctx, m.t.Members)
		for _, mb := range m.t.Left {
			for k, l := range g.leases {
				if l.pid.Address == mb.Address() {
					delete(g.leases, k)
				}
			}
		}
	case *actor.Stopping:
		if g.sub != nil {
			ctx.ActorSystem().EventStream.Unsubscribe(g.sub)
		}
		if g.fp != "" {
			g.inc.setGrain(g.fp, false)
		}
	}
}

// activate starts the grain's (empty) state of config fp.
func (g *grain) activate(fp string) {
	g.fp = fp
	g.started = g.now()
	g.leases = map[string]*lease{}
	g.inc.setGrain(fp, true)
}

// extend moves the fleet's deadline to now+d (d capped at maxFleetBackoff)
// if that is later, and pushes it to every leaseholder but the reporter
// when it moved noticeably. A d <= 0 does nothing.
func (g *grain) extend(ctx actor.Context, d time.Duration, from *actor.PID) {
	if d <= 0 {
		return
	}
	d = min(d, maxFleetBackoff)
	now := g.now()
	want := now.Add(d)
	if !want.After(g.deadline) {
		return
	}
	moved := want.Sub(maxTime(g.deadline, now))
	g.deadline = want
	if moved < minPushExtension {
		return
	}
	push := &clusterpb.BackoffPush{Fingerprint: g.fp, RemainingNs: int64(d)}
	for _, l := range g.leases {
		if from != nil && l.pid.Equal(from) {
			continue
		}
		ctx.Send(l.pid, push)
		g.inc.f.pushes.Add(1)
	}
}

func (g *grain) renew(ctx actor.Context, m *clusterpb.Renew) {
	now := g.now()
	ttl := g.inc.f.s.Lease
	for k, l := range g.leases {
		if now.Sub(l.seen) > ttl {
			delete(g.leases, k)
		}
	}
	from := ctx.Sender()
	if from == nil {
		return
	}
	key := from.String()
	me := g.leases[key]
	if me == nil {
		me = &lease{pid: from}
		g.leases[key] = me
	}
	me.slots, me.throttled = m.Slots, m.ThrottledSlots
	me.bound, me.boundT = m.BoundSlots, m.BoundThrottled
	me.seen = now
	// A renewal carries only the backoff of the member's own 429s
	// (limiter.LocalBackoffRemaining), never the fleet's it was told, so
	// taking it always cannot echo the deadline back later by a message
	// delay per renewal: the deadline stays where the 429 put it. Taking it
	// always, not only while a fresh activation relearns, also makes good a
	// lost BackoffReport (sent to an activation that moved, or died) at the
	// reporter's next renewal, whatever the age of the grain it reaches.
	g.extend(ctx, time.Duration(m.BackoffRemainingNs), from)

	budget, budgetT := m.Slots, m.ThrottledSlots
	keys := make([]string, 0, len(g.leases))
	for k, l := range g.leases {
		budget, budgetT = min(budget, l.slots), min(budgetT, l.throttled)
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	rank := slices.Index(keys, key)
	var others, othersT int32
	for k, l := range g.leases {
		if k != key {
			c, ct := l.claim()
			others, othersT = others+c, othersT+ct
		}
	}
	grant := share(budget, len(keys), rank)
	grantT := share(budgetT, len(keys), rank)
	grant, grantT = min(grant, max(budget-others, 0)), min(grantT, max(budgetT-othersT, 0))
	if now.Sub(g.started) < ttl {
		// A fresh activation does not know the leases of members that have
		// not renewed yet: for one lease period it only confirms or lowers.
		grant, grantT = min(grant, me.bound), min(grantT, me.boundT)
	}
	me.granted, me.grantedT = grant, grantT
	var left time.Duration
	if g.deadline.After(now) {
		left = g.deadline.Sub(now)
	}
	ctx.Respond(&clusterpb.Grant{Slots: grant, ThrottledSlots: grantT, BackoffRemainingNs: int64(left),
		Members: int32(len(keys)), LeaseNs: int64(ttl)})
}

// share is member rank's equal share of budget among n members; the first
// budget%n members get one more, so the shares add up to budget.
func share(budget int32, n, rank int) int32 {
	if n <= 0 || rank < 0 {
		return 0
	}
	s := budget / int32(n)
	if int32(rank) < budget%int32(n) {
		s++
	}
	return s
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
