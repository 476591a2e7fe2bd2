package cluster_test

import (
	"testing"
	"time"

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
	)
}

// eventually polls cond with a deadline: a sync point on state only the
// fleet's own actors change, not a timing.
func eventually(t *testing.T, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, 5*time.Millisecond, append([]any{msg}, args...)...)
}
