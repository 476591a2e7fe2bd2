package cluster_test

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex/cluster"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
)

const (
	fpA = "aaaaaaaaaaaa"
	fpB = "bbbbbbbbbbbb"
)

// protoactor's own goroutines that outlive a stopped cluster: the test
// provider's TTL reporter ranges over a ticker it stops but never closes,
// the gossip throttles each keep a goroutine for their period, and the
// gossip loop may be waiting out a request to its stopped actor.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster/clusterproviders/test.(*Provider).startTtlReport.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster.NewGossipActor.NewThrottleWithLogger.func2.1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster.(*Gossiper).StartGossiping.NewThrottle.func3.1"),
		// The dead-letter throttle of an actor system keeps its goroutine for
		// its period after the last dead letter (a stopped member's last
		// messages), like the gossip throttles.
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"),
		// A gossip tick just before the cluster stops asks the gossip actor
		// for its state, and the stopping actor drops the request: the
		// gossip loop waits out the request's 5 s timeout before it sees the
		// stop (likeliest when a join fails, as with etcd unreachable, about
		// one gossip interval after it started).
		goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/cluster.(*Gossiper).SendState"),
		goleak.IgnoreAnyFunction("github.com/asynkron/protoactor-go/cluster.(*Gossiper).GetState"),
		// protoactor's endpoint writers to a member that is already gone
		// keep their gRPC client connection redialing after the remote has
		// shut down (see docs/cluster.md, "Known limits").
		goleak.IgnoreAnyFunction("google.golang.org/grpc.(*addrConn).resetTransport"),
		goleak.IgnoreAnyFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreAnyFunction("google.golang.org/grpc.newClientStreamWithParams.func4"),
	)
}

// eventually polls cond with a deadline: a sync point on state only the
// fleet's own actors change, not a timing.
func eventually(t testing.TB, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, 5*time.Millisecond, append([]any{msg}, args...)...)
}

// stopMember stops a member actor and waits until it has left the cluster;
// leaving waits for protoactor lookups in flight (up to 5 s each), longer
// than StopFuture's fixed 10 s when several members leave in turn.
func stopMember(t testing.TB, sys *actor.ActorSystem, pid *actor.PID) {
	t.Helper()
	gone := make(chan struct{})
	_, err := sys.Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *actor.Started:
			ctx.Watch(pid)
		case *actor.Terminated:
			close(gone)
			ctx.Stop(ctx.Self())
		}
	}), "stop-watcher-"+pid.Id)
	require.NoError(t, err)
	sys.Root.Stop(pid)
	select {
	case <-gone:
	case <-time.After(time.Minute):
		require.FailNow(t, "the member did not stop")
	}
}

// startSoloMember runs one member over p, bound to bind, with the fast
// lease settings of the single-member tests (then opts), and one limiter
// (12 slots, 3 throttled) attached as config fpA. stop stops the member
// (t's cleanup does, if the test has not).
func startSoloMember(t *testing.T, bind string, p cluster.Provider, opts ...cluster.Option) (f *cluster.Fleet, lim *limiter.Limiter, stop func()) {
	t.Helper()
	f, err := cluster.New("solo", bind, p, append([]cluster.Option{
		cluster.WithRenewInterval(20 * time.Millisecond), cluster.WithLeaseTTL(200 * time.Millisecond),
		cluster.WithDegradeAfter(200 * time.Millisecond), cluster.WithRejoinAfter(100 * time.Millisecond),
	}, opts...)...)
	require.NoError(t, err)
	lim, err = limiter.New(limiter.WithSlots(12), limiter.WithThrottledSlots(3))
	require.NoError(t, err)
	f.Attach(registry.Created{Fingerprint: fpA, BaseURL: "https://tinker.example", Limiter: lim})
	sys := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	pid, err := sys.Root.SpawnNamed(actor.PropsFromProducer(f.Producer()), "member")
	require.NoError(t, err)
	var once sync.Once
	stop = func() { once.Do(func() { stopMember(t, sys, pid) }) }
	t.Cleanup(stop)
	return f, lim, stop
}
