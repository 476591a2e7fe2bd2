//go:build !race

// The in-process fleets of these tests start several protoactor remotes in
// one process, and protoactor's remote.Start writes gRPC's global logger
// while the others' gRPC servers read it: a race in protoactor, not in
// tinkex. One member per process (tests/cluster) has no such race.

package cluster_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/cluster"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// node is one member: a fleet with its member actor running on a plain
// actor system, and one limiter per config.
type node struct {
	f    *cluster.Fleet
	lims map[string]*limiter.Limiter
}

func startNode(t testing.TB, net *cluster.TestNetwork, bus *telemetry.Bus, fps ...string) *node {
	t.Helper()
	f, err := cluster.New("fleet-test", "127.0.0.1:0", net.Provider(), cluster.WithTelemetry(bus),
		cluster.WithRenewInterval(50*time.Millisecond), cluster.WithLeaseTTL(time.Second),
		cluster.WithDegradeAfter(time.Second), cluster.WithRejoinAfter(5*time.Second))
	require.NoError(t, err)
	n := &node{f: f, lims: map[string]*limiter.Limiter{}}
	for _, fp := range fps {
		l, err := limiter.New(limiter.WithSlots(12), limiter.WithThrottledSlots(3), limiter.WithIdentity(fp, "https://tinker.example"))
		require.NoError(t, err)
		n.lims[fp] = l
		f.Attach(registry.Created{Fingerprint: fp, BaseURL: "https://tinker.example", Limiter: l})
	}
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	pid, err := sys.Root.SpawnNamed(actor.PropsFromProducer(f.Producer()), "member")
	require.NoError(t, err)
	t.Cleanup(func() { stopMember(t, sys, pid) })
	return n
}

// converge is eventually, logging every member's view when cond never
// holds.
func converge(t *testing.T, nodes []*node, cond func() bool, msg string) {
	t.Helper()
	if !assert.Eventually(t, cond, 20*time.Second, 5*time.Millisecond, msg) {
		for _, n := range nodes {
			t.Logf("%+v", n.f.Status())
		}
		t.FailNow()
	}
}

func (n *node) config(fp string) cluster.ConfigStatus {
	for _, c := range n.f.Status().Configs {
		if c.Fingerprint == fp {
			return c
		}
	}
	return cluster.ConfigStatus{}
}

func TestFleetSharesBudgetAndBackoffButNotAcrossConfigs(t *testing.T) {
	net := cluster.NewTestNetwork()
	nodes := []*node{startNode(t, net, nil, fpA, fpB), startNode(t, net, nil, fpA, fpB), startNode(t, net, nil, fpA, fpB)}

	// Every member holds an equal share; the shares never add up to more
	// than the budget.
	for _, fp := range []string{fpA, fpB} {
		converge(t, nodes, func() bool {
			sum, sumT := 0, 0
			for _, n := range nodes {
				c := n.config(fp)
				if c.Members != 3 || c.Degraded {
					return false
				}
				sum, sumT = sum+c.BoundSlots, sumT+c.BoundThrottled
			}
			return sum == 12 && sumT == 3
		}, "the fleet's bounds add up to the budget "+fp)
	}
	for _, n := range nodes {
		assert.Equal(t, 4, n.config(fpA).Slots)
	}

	// A 429 seen by member 0 on config A reaches the others' limiters.
	require.True(t, nodes[0].lims[fpA].ReportRateLimited(time.Minute))
	for i, n := range nodes[1:] {
		eventually(t, func() bool { return n.lims[fpA].BackoffRemaining() > 50*time.Second }, "member backs off")
		assert.Zero(t, n.lims[fpB].BackoffRemaining(), "member %d: config B untouched", i+1)
	}
	assert.Zero(t, nodes[0].lims[fpB].BackoffRemaining())
	st := nodes[0].f.Status()
	assert.Equal(t, uint64(1), st.Reports, "one report for one 429")
	var pushes, applied uint64
	for _, n := range nodes {
		pushes += n.f.Status().Pushes
		applied += n.f.Status().Applied
	}
	assert.Equal(t, uint64(2), pushes, "one push per other member")
	assert.Equal(t, uint64(2), applied)
	// A fleet backoff is not echoed: the count stays at one report.
	assert.Equal(t, uint64(0), nodes[1].f.Status().Reports)
}

// Isolation across the fleet, by message passing: while config A is backed
// off on every member, config B's fleet messages (reports, pushes, grants)
// still flow and B's dispatches do not wait on any member.
func TestFleetBackoffOfOneConfigNeverDelaysAnother(t *testing.T) {
	net := cluster.NewTestNetwork()
	nodes := []*node{startNode(t, net, nil, fpA, fpB), startNode(t, net, nil, fpA, fpB), startNode(t, net, nil, fpA, fpB)}
	for _, n := range nodes {
		converge(t, nodes, func() bool { return n.config(fpA).Members == 3 && n.config(fpB).Members == 3 }, "joined")
	}
	// The fleet takes at most types.MaxRetryAfter (a minute) from a member.
	require.True(t, nodes[0].lims[fpA].ReportRateLimited(types.MaxRetryAfter))
	for _, n := range nodes {
		eventually(t, func() bool { return n.lims[fpA].BackoffRemaining() > 50*time.Second }, "A backs off everywhere")
	}
	// B's report on member 1 reaches members 0 and 2 while A is backed off.
	require.True(t, nodes[1].lims[fpB].ReportRateLimited(20*time.Second))
	for _, i := range []int{0, 2} {
		eventually(t, func() bool { return nodes[i].lims[fpB].BackoffRemaining() > 10*time.Second }, "B's push arrives")
		assert.Less(t, nodes[i].lims[fpB].BackoffRemaining(), 30*time.Second, "B's backoff is B's, not A's")
	}
	// A's backoff holds none of B's grants back: grants for B keep arriving.
	before := nodes[2].f.Status().Grants
	eventually(t, func() bool { return nodes[2].f.Status().Grants > before+6 }, "grants keep flowing")

	// A dispatch of a third config that no 429 touched passes at once on a
	// member where A is backed off.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := nodes[2].lims[fpA].Acquire(ctx, 0)
	assert.Error(t, err, "A waits (a canceled context makes it give up)")
}
