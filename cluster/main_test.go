package cluster_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

const (
	fpA = "aaaaaaaaaaaa"
	fpB = "bbbbbbbbbbbb"
)

// protoactor's own goroutines that outlive a stopped cluster: the test
// provider's TTL reporter ranges over a ticker it stops but never closes,
// and the gossip throttles each keep a goroutine for their period.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster/clusterproviders/test.(*Provider).startTtlReport.func1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster.NewGossipActor.NewThrottleWithLogger.func2.1"),
		goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/cluster.(*Gossiper).StartGossiping.NewThrottle.func3.1"),
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
