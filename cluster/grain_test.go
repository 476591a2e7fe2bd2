package cluster

import (
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/cluster/clusterpb"
	"github.com/tinkex-go/tinkex/limiter"
)

// These tests drive one grain, spawned as a plain actor on a fake clock,
// with the messages a member's agent sends; the member side is the agent's
// own code (renewal, granted, pushed) on limiters on the same fake clock.
// Time moves only when the test advances it, so every remaining duration is
// exact.

const grainFP = "cccccccccccc"

type grainHarness struct {
	t     *testing.T
	clk   *clock.Fake
	sys   *actor.ActorSystem
	inc   *incarnation
	grain *actor.PID
}

func newGrainHarness(t *testing.T) *grainHarness {
	t.Helper()
	f, err := newFleet("grain-test", "127.0.0.1:0", NewTestNetwork().Provider(),
		WithRenewInterval(100*time.Millisecond), WithLeaseTTL(time.Second))
	require.NoError(t, err)
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	inc := &incarnation{f: f, sys: sys, agents: map[string]*actor.PID{}, grains: map[string]bool{}}
	g := &grain{inc: inc, now: clk.Now}
	g.activate(grainFP)
	pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return g }))
	t.Cleanup(func() { require.NoError(t, sys.Root.StopFuture(pid).Wait()) })
	return &grainHarness{t: t, clk: clk, sys: sys, inc: inc, grain: pid}
}

// testMember is one member of the fleet: its agent's state, and a peer
// actor with a stable PID that stands in for the agent actor on the wire.
type testMember struct {
	h      *grainHarness
	a      *agent
	pid    *actor.PID
	grants chan *clusterpb.Grant
	pushes chan *clusterpb.BackoffPush
}

func (h *grainHarness) member() *testMember {
	h.t.Helper()
	lim, err := limiter.New(limiter.WithSlots(12), limiter.WithThrottledSlots(3), limiter.WithClock(h.clk))
	require.NoError(h.t, err)
	m := &testMember{h: h, a: &agent{inc: h.inc, cfg: &config{fp: grainFP, lim: lim}},
		grants: make(chan *clusterpb.Grant, 64), pushes: make(chan *clusterpb.BackoffPush, 64)}
	m.pid = h.sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *clusterpb.Renew:
			ctx.Request(h.grain, msg)
		case *clusterpb.BackoffReport:
			ctx.Request(h.grain, msg)
		case *clusterpb.Grant:
			m.grants <- msg
		case *clusterpb.BackoffPush:
			m.pushes <- msg
		}
	}))
	h.t.Cleanup(func() { require.NoError(h.t, h.sys.Root.StopFuture(m.pid).Wait()) })
	return m
}

func (m *testMember) lim() *limiter.Limiter { return m.a.cfg.lim }

// send hands msg to the grain inFlight after it was made: the fake clock
// advances meanwhile, as time passes while a message is on the wire.
func (m *testMember) send(msg any, inFlight time.Duration) {
	m.h.clk.Advance(inFlight)
	m.h.sys.Root.Send(m.pid, msg)
}

// renew sends the agent's renewal, waits for the grant and applies it as
// the agent does.
func (m *testMember) renew(inFlight time.Duration) *clusterpb.Grant {
	m.h.t.Helper()
	m.send(m.a.renewal(), inFlight)
	g := m.grant()
	m.a.granted(g)
	return g
}

// renewRaw sends r as it is and returns the grant.
func (m *testMember) renewRaw(r *clusterpb.Renew) *clusterpb.Grant {
	m.h.t.Helper()
	m.send(r, 0)
	return m.grant()
}

func (m *testMember) push() *clusterpb.BackoffPush {
	m.h.t.Helper()
	select {
	case p := <-m.pushes:
		return p
	case <-time.After(time.Minute):
		require.FailNow(m.h.t, "no push")
		return nil
	}
}

func (m *testMember) grant() *clusterpb.Grant {
	m.h.t.Helper()
	select {
	case g := <-m.grants:
		require.False(m.h.t, g.Moved)
		return g
	case <-time.After(time.Minute):
		require.FailNow(m.h.t, "no grant")
		return nil
	}
}

// A fleet backoff ends when the 429 that caused it says, however many
// renewals pass. Before the fix every renewal echoed the fleet's backoff
// (learnt from a push or a grant) back to the grain, which re-based it on
// its own clock, later by the message's time in flight: the deadline moved
// later by that much at every renewal, with no new 429.
func TestFleetBackoffEndsWhenThe429SaysHoweverManyRenewals(t *testing.T) {
	const inFlight = 7 * time.Millisecond
	h := newGrainHarness(t)
	r, o := h.member(), h.member() // r sees the 429, o learns it from the fleet
	r.renew(inFlight)
	o.renew(inFlight)

	require.True(t, r.lim().ReportRateLimited(2*time.Second))
	r.send(&clusterpb.BackoffReport{Fingerprint: grainFP, RemainingNs: int64(r.lim().LocalBackoffRemaining())}, inFlight)
	// The report reached the grain on its clock inFlight after the 429: that
	// is the fleet's deadline, once and for all.
	deadline := h.clk.Now().Add(2 * time.Second)
	p := o.push()
	assert.Equal(t, int64(2*time.Second), p.RemainingNs)
	o.a.pushed(p) // on arrival: o's limiter ends at the fleet's deadline

	rounds := 0
	for ; h.clk.Now().Before(deadline.Add(200 * time.Millisecond)); rounds++ {
		h.clk.Advance(100*time.Millisecond - 2*inFlight) // the renew interval
		for _, m := range []*testMember{r, o} {
			g := m.renew(inFlight)
			want := max(deadline.Sub(h.clk.Now()), 0)
			require.Equal(t, want, time.Duration(g.BackoffRemainingNs),
				"round %d: the grant's backoff shrinks by exactly the time that passed", rounds)
		}
		assert.Equal(t, max(deadline.Sub(h.clk.Now()), 0), o.lim().BackoffRemaining(), "round %d", rounds)
	}
	assert.Greater(t, rounds, 20)
	assert.Zero(t, r.lim().BackoffRemaining())
	assert.Zero(t, o.lim().BackoffRemaining())
	assert.Empty(t, r.pushes, "no renewal moved the deadline")
	assert.Empty(t, o.pushes)
	assert.Equal(t, uint64(1), h.inc.f.pushes.Load())
}

// The renewals' backoff is soft state: a fresh activation that never got
// the BackoffReport (it went to an activation that moved, or died) learns
// the backoff from the reporter's next renewal and hands it on.
func TestFreshGrainRelearnsTheBackoffFromTheReportersRenewal(t *testing.T) {
	h := newGrainHarness(t)
	r, o := h.member(), h.member()
	o.renew(0)
	require.True(t, r.lim().ReportRateLimited(3*time.Second))
	h.clk.Advance(time.Second)
	g := r.renew(0)
	assert.Equal(t, int64(2*time.Second), g.BackoffRemainingNs)
	g = o.renew(0)
	assert.Equal(t, int64(2*time.Second), g.BackoffRemainingNs)
	assert.Equal(t, 2*time.Second, o.lim().BackoffRemaining())
	assert.Equal(t, int64(2*time.Second), o.push().RemainingNs)
}

// Whatever a member sends, the grain takes at most maxFleetBackoff (the
// longest a 429 makes tinkex back off), and a zero or negative backoff does
// nothing: no deadline, no push.
func TestGrainCapsTheBackoffAndIgnoresNonPositiveOnes(t *testing.T) {
	for name, tc := range map[string]struct {
		sent time.Duration
		want time.Duration
	}{
		"in range":  {3 * time.Second, 3 * time.Second},
		"the cap":   {maxFleetBackoff, maxFleetBackoff},
		"an hour":   {time.Hour, maxFleetBackoff},
		"max int64": {math.MaxInt64, maxFleetBackoff},
		"zero":      {0, 0},
		"negative":  {-time.Second, 0},
		"min int64": {math.MinInt64, 0},
	} {
		t.Run(name+"/report", func(t *testing.T) {
			h := newGrainHarness(t)
			r, o := h.member(), h.member()
			o.renewRaw(&clusterpb.Renew{Fingerprint: grainFP})
			r.send(&clusterpb.BackoffReport{Fingerprint: grainFP, RemainingNs: int64(tc.sent)}, 0)
			// r's renewal comes after its report: the grain has taken it.
			assert.Equal(t, int64(tc.want), r.renewRaw(&clusterpb.Renew{Fingerprint: grainFP}).BackoffRemainingNs)
			assert.Equal(t, int64(tc.want), o.renewRaw(&clusterpb.Renew{Fingerprint: grainFP}).BackoffRemainingNs)
			if tc.want > 0 {
				assert.Equal(t, int64(tc.want), o.push().RemainingNs)
			}
			assert.Empty(t, o.pushes)
			assert.Empty(t, r.pushes, "never pushed back to the reporter")
		})
		t.Run(name+"/renewal", func(t *testing.T) {
			h := newGrainHarness(t)
			r, o := h.member(), h.member()
			o.renewRaw(&clusterpb.Renew{Fingerprint: grainFP})
			assert.Equal(t, int64(tc.want), r.renewRaw(&clusterpb.Renew{Fingerprint: grainFP, BackoffRemainingNs: int64(tc.sent)}).BackoffRemainingNs)
			assert.Equal(t, int64(tc.want), o.renewRaw(&clusterpb.Renew{Fingerprint: grainFP}).BackoffRemainingNs)
			if tc.want > 0 {
				assert.Equal(t, int64(tc.want), o.push().RemainingNs)
			}
			assert.Empty(t, o.pushes)
		})
	}
}
