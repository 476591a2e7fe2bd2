//go:build !race

// The in-process fleets of these tests start several protoactor remotes in
// one process, and protoactor's remote.Start writes gRPC's global logger
// while the others' gRPC servers read it: a race in protoactor, not in
// tinkex. One member per process (tests/cluster) has no such race.

package cluster_test

import (
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
)

// node is one member: a fleet with its member actor running on a plain
// actor system, and one limiter per config.
type node struct {
	f    *cluster.Fleet
	lims map[string]*limiter.Limiter
}

func startNode(t *testing.T, net *cluster.TestNetwork, bus *telemetry.Bus, fps ...string) *node {
	t.Helper()
	f, err := cluster.New("fleet-test", "127.0.0.1:0", net.Provider(), cluster.WithTelemetry(bus),
		cluster.WithRenewInterval(20*time.Millisecond), cluster.WithLeaseTTL(300*time.Millisecond),
		cluster.WithDegradeAfter(300*time.Millisecond))
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
	t.Cleanup(func() { require.NoError(t, sys.Root.StopFuture(pid).Wait()) })
	return n
}

func (n *node) config(fp string) cluster.ConfigStatus {
	for _, c := range n.f.Status().Configs {
		if c.Fingerprint == fp {
			return c
		}
	}
	return cluster.ConfigStatus{}
}

// eventually polls cond with a deadline: a sync point on state only the
// fleet's own actors change, not a timing.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, 5*time.Millisecond, msg)
}

func TestFleetSharesBudgetAndBackoffButNotAcrossConfigs(t *testing.T) {
	net := cluster.NewTestNetwork()
	nodes := []*node{startNode(t, net, nil, fpA, fpB), startNode(t, net, nil, fpA, fpB), startNode(t, net, nil, fpA, fpB)}

	// Every member holds an equal share; the shares never add up to more
	// than the budget.
	for _, fp := range []string{fpA, fpB} {
		eventually(t, func() bool {
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
