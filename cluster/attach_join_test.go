package cluster_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/cluster"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
)

// A config attached while the member finishes joining (after the
// incarnation's snapshot, before it is published) still gets its agent and
// a grant: before the fix it never joined the fleet, never degraded, and so
// blocked every later rejoin. One member: race-safe.
func TestConfigAttachedWhileJoiningJoinsTheFleet(t *testing.T) {
	f, err := cluster.New("attach", "127.0.0.1:0", cluster.NewTestNetwork().Provider(),
		cluster.WithRenewInterval(500*time.Millisecond), cluster.WithLeaseTTL(2*time.Second),
		cluster.WithDegradeAfter(10*time.Second), cluster.WithRejoinAfter(30*time.Second))
	require.NoError(t, err)
	n := 0
	attach := func() {
		l, err := limiter.New(limiter.WithSlots(12), limiter.WithThrottledSlots(3))
		require.NoError(t, err)
		f.Attach(registry.Created{Fingerprint: fmt.Sprintf("fp%08d", n), BaseURL: "https://tinker.example", Limiter: l})
		n++
	}
	for range 300 { // makes startIncarnation's spawn loop (the window) take a while
		attach()
	}
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	pid, err := sys.Root.SpawnNamed(actor.PropsFromProducer(f.Producer()), "member")
	require.NoError(t, err)
	defer stopMember(t, sys, pid)
	// Attach, as a registry does when clients are created, until the member
	// has joined, then a few more.
	deadline := time.Now().Add(30 * time.Second)
	for f.Status().Address == "" && time.Now().Before(deadline) {
		for range 20 {
			attach()
		}
	}
	for range 20 {
		attach()
	}
	lost := func() []string {
		var out []string
		for _, c := range f.Status().Configs {
			if c.Members != 1 {
				out = append(out, c.Fingerprint)
			}
		}
		return out
	}
	require.Eventually(t, func() bool { return len(lost()) == 0 }, 40*time.Second, 50*time.Millisecond,
		"configs that never got a grant (no agent): %v", lost())
}
