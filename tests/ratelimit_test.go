package tests

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// findNode returns the first node of the tree whose id is id.
func findNode(n supervisor.Node, id string) (supervisor.Node, bool) {
	if n.ID == id {
		return n, true
	}
	for _, c := range n.Children {
		if f, ok := findNode(c, id); ok {
			return f, true
		}
	}
	return supervisor.Node{}, false
}

// subtreeActors lists the running actors of the subtree rooted at n.
func subtreeActors(n supervisor.Node) []supervisor.Node {
	out := []supervisor.Node{n}
	for _, c := range n.Children {
		out = append(out, subtreeActors(c)...)
	}
	return out
}

// pid is the PID of the running actor of tree node n.
func (w *world) pid(n supervisor.Node) *actor.PID {
	return actor.NewPID(inspect.ActorSystem(w.rt).Address(), n.PID)
}

// probe sends one message to the actor of node n and waits for its answer:
// client actors get inspect.Probe, supervisors protoactor's Touch (every
// actor answers it).
func (w *world) probe(t *testing.T, n supervisor.Node) {
	t.Helper()
	require.NotEmpty(t, n.PID, "%s is running", n.ID)
	pid := w.pid(n)
	var msg any = &actor.Touch{}
	if n.Kind == supervisor.KindWorker {
		msg = &inspect.Probe{}
	}
	res, err := inspect.ActorSystem(w.rt).Root.RequestFuture(pid, msg, 10*time.Second).Result()
	require.NoError(t, err, "%s answers", n.ID)
	if n.Kind == supervisor.KindWorker {
		reply, ok := res.(*inspect.ProbeReply)
		require.True(t, ok, "%s answered %T", n.ID, res)
		assert.True(t, strings.HasPrefix(n.ID, reply.Actor), "%s answered as %q", n.ID, reply.Actor)
	}
}

// Scenario 3. A 429 on A's sampling puts A's config in backoff (Retry-After
// 2 s). While it lasts — shown by A's limiter still reporting backoff time
// left and by the order of events on the bus, never by a clock — every
// actor of B and B's limiter actor answer a message, B's samples started
// during the backoff complete, and A′ (A's key) waits without sending
// anything. Afterwards A's and A′'s calls succeed, and the backoff was set
// and cleared once, for A's config only.
func TestRateLimitIsolation(t *testing.T) {
	w := newWorld(t)
	a := w.party(t, "a", w.srvA, keyA, 1)
	b := w.party(t, "b", w.srvB, keyB, 2)
	a2 := w.party(t, "a2", w.srvA, keyA, 3)
	ctx := ctxT(t)
	fpA, fpB := a.svc.Fingerprint(), b.svc.Fingerprint()
	limA := inspect.Limiter(a.svc)

	fault := w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointAsample, Status: 429, RetryAfter: "2", Times: 1})
	backoffSet := w.rec.await(named(telemetry.LimiterBackoffSet, fpA))
	aDone := make(chan sampleResult, 1)
	go func() {
		res, err := a.sc.Sample(ctx, a.prompt(0), 1, sampleParams())
		aDone <- sampleResult{prompt: a.prompt(0), res: res, err: err}
	}()
	wait(t, backoffSet, "A's backoff to be set")
	require.Equal(t, 1, w.srvA.FaultHits(fault))
	require.Positive(t, limA.Stats().BackoffRemaining, "A is in backoff")

	// A′ shares A's config: its sample waits in the limiter.
	a2Done := make(chan sampleResult, 1)
	go func() {
		res, err := a2.sc.Sample(ctx, a2.prompt(0), 1, sampleParams())
		a2Done <- sampleResult{prompt: a2.prompt(0), res: res, err: err}
	}()
	require.Eventually(t, func() bool { return limA.Stats().Waiters >= 2 }, 30*time.Second, time.Millisecond,
		"A's resubmission and A′'s sample wait on A's backoff")

	// Every actor of B answers, and B's limiter actor too.
	tree, err := w.rt.Tree(ctx)
	require.NoError(t, err)
	nodeB, ok := findNode(tree, "service:b")
	require.True(t, ok, tree.String())
	probed := map[string]bool{}
	for _, n := range subtreeActors(nodeB) {
		w.probe(t, n)
		probed[strings.SplitN(n.ID, ":", 2)[0]] = true
	}
	assert.Equal(t, map[string]bool{"service": true, "session": true, "training": true, "sampling": true}, probed)
	var limPID *actor.PID
	for _, e := range inspect.Registry(w.rt).Entries() {
		if e.Fingerprint == fpB {
			limPID = e.PID
		}
	}
	require.NotNil(t, limPID)
	res, err := inspect.ActorSystem(w.rt).Root.RequestFuture(limPID, limiter.StatsRequest{}, 10*time.Second).Result()
	require.NoError(t, err)
	require.IsType(t, limiter.Stats{}, res)
	assert.Zero(t, res.(limiter.Stats).BackoffRemaining, "B is not in backoff")

	// B's samples, started during A's backoff, complete.
	const nB = 20
	var wg sync.WaitGroup
	errsB := make([]error, nB)
	for i := range errsB {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errsB[i] = b.sc.Sample(ctx, b.prompt(i), 1, sampleParams())
		}()
	}
	wg.Wait()
	for i, err := range errsB {
		require.NoError(t, err, "B sample %d", i)
	}
	// All of the above happened while A's backoff was still on: it has not
	// been cleared, and A′ has sent nothing.
	require.Positive(t, limA.Stats().BackoffRemaining, "A's backoff outlasted the probes and B's samples (Retry-After too short for this machine?)")
	assert.Empty(t, w.rec.find(named(telemetry.LimiterBackoffCleared, fpA)))
	assert.Zero(t, w.srvA.Count(tinkertest.Match{Endpoint: tinkertest.EndpointAsample, SamplerID: a2.sc.SamplerID()}), "A′ waits")
	assert.Equal(t, nB, w.srvB.Count(tinkertest.Match{Endpoint: tinkertest.EndpointAsample, SamplerID: b.sc.SamplerID(), Status: 200}))

	// After the backoff: A's and A′'s calls succeed.
	for _, c := range []struct {
		p  *party
		ch chan sampleResult
	}{{a, aDone}, {a2, a2Done}} {
		var r sampleResult
		select {
		case r = <-c.ch:
		case <-time.After(60 * time.Second):
			t.Fatalf("%s's sample did not end", c.p.name)
		}
		require.NoError(t, r.err, c.p.name)
	}
	_, err = a.sc.Sample(ctx, a.prompt(1), 1, sampleParams())
	require.NoError(t, err, "A samples normally after the backoff")
	reqsA := w.srvA.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAsample, SamplerID: a.sc.SamplerID()})
	require.Len(t, reqsA, 3)
	assert.Equal(t, []int{429, 200, 200}, []int{reqsA[0].Status, reqsA[1].Status, reqsA[2].Status})
	assert.Equal(t, []int64{0, 0, 1}, []int64{reqsA[0].SeqID, reqsA[1].SeqID, reqsA[2].SeqID}, "the resubmission keeps its seq_id (BEHAVIOR's sampling seq_id rule)")
	assert.NotEqual(t, reqsA[0].Header.Get("X-Idempotency-Key"), reqsA[1].Header.Get("X-Idempotency-Key"), "under a new idempotency key")

	// One set and one cleared for A's burst, in that order, after every one
	// of B's samples; nothing for B.
	wait(t, w.rec.await(named(telemetry.LimiterBackoffCleared, fpA)), "A's backoff to be cleared")
	set := w.rec.find(named(telemetry.LimiterBackoffSet, fpA))
	cleared := w.rec.find(named(telemetry.LimiterBackoffCleared, fpA))
	require.Len(t, set, 1)
	require.Len(t, cleared, 1)
	assert.Less(t, set[0].i, cleared[0].i)
	assert.GreaterOrEqual(t, set[0].Measurements[telemetry.MeasureDelay], 2.0, "the server's Retry-After")
	stopsB := w.rec.find(named(telemetry.SamplingSample+".stop", fpB))
	require.Len(t, stopsB, nB)
	for _, e := range stopsB {
		assert.Less(t, e.i, cleared[0].i, "B's samples completed before A's backoff was cleared")
	}
	assert.Empty(t, w.rec.find(named(telemetry.LimiterBackoffSet, fpB)))
	assert.Empty(t, w.rec.find(named(telemetry.LimiterBackoffCleared, fpB)))
}
