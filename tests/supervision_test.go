package tests

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/actors"
	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// restarts returns the restart count of tree node id (failing if absent).
func (w *world) restarts(t *testing.T, id string) int {
	t.Helper()
	tree, err := w.rt.Tree(ctxT(t))
	require.NoError(t, err)
	n, ok := findNode(tree, id)
	require.True(t, ok, "%s in\n%s", id, tree.String())
	return n.Restarts
}

// awaitRunning waits until node id has been restarted want times and runs
// again, by reading the tree (bounded polling: a restart is asynchronous).
func (w *world) awaitRunning(t *testing.T, id string, want int) {
	t.Helper()
	require.Eventually(t, func() bool {
		tree, err := w.rt.Tree(ctxT(t))
		if err != nil {
			return false
		}
		n, ok := findNode(tree, id)
		return ok && n.Restarts == want && n.Status == supervisor.Running
	}, 30*time.Second, time.Millisecond, "%s restarted %d times and running", id, want)
}

// awaitRestart crashes p's sampling actor and waits for its restart.
func (w *world) awaitRestart(t *testing.T, p *party) {
	t.Helper()
	before := w.restarts(t, samplingID(p))
	w.rt.ActorSystem().Root.Send(p.sc.PID(), &actors.Crash{Reason: "acceptance"})
	w.awaitRunning(t, samplingID(p), before+1)
}

func trainingID(p *party) string { return "training:" + p.tc.ModelID() }
func samplingID(p *party) string { return "sampling:" + p.sc.SamplerID() }

// typedOrNil reports whether err is nil or a *tinkex.Error.
func typedOrNil(err error) bool {
	var e *tinkex.Error
	return err == nil || errors.As(err, &e)
}

// Scenario 6. While scenario 1's load runs, A's SamplingClient actor and
// A's TrainingClient actor each panic once. Both restart (the tree counts
// it), every caller gets a result or a typed error, A's training seq_ids
// continue without a gap or a repeat, and B and A′ are untouched. Then A's
// service supervisor's intensity is exceeded: its subtree restarts as a
// unit, its clients come back and work, and B is still untouched.
func TestSupervisionUnderLoad(t *testing.T) {
	w := newWorld(t, tinkex.WithServiceIntensity(2, time.Hour))
	a := w.party(t, "a", w.srvA, keyA, 1)
	b := w.party(t, "b", w.srvB, keyB, 2)
	a2 := w.party(t, "a2", w.srvA, keyA, 3)
	parties := []*party{a, b, a2}
	ctx := ctxT(t)
	root := w.rt.ActorSystem().Root

	// Crash A's actors while A's load is in flight: server A parks all work,
	// so A's samples and its first training step stay in flight until the
	// crashes are over.
	w.srvA.PauseProcessing()
	loaded := make(chan map[*party]*load, 1)
	go func() { loaded <- runLoad(ctx, t, parties) }()
	require.Eventually(t, func() bool {
		return w.srvA.Count(tinkertest.Match{Endpoint: tinkertest.EndpointAsample, SamplerID: a.sc.SamplerID()}) >= samplesPerClient/2 &&
			w.srvA.Count(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep, ModelID: a.tc.ModelID()}) == 1
	}, 30*time.Second, time.Millisecond, "A's load is in flight")
	// The sampling actor was started after the training actor, so under the
	// service's rest_for_one strategy its crash restarts only itself.
	root.Send(a.sc.PID(), &actors.Crash{Reason: "acceptance: sampling under load"})
	w.awaitRunning(t, samplingID(a), 1)
	root.Send(a.tc.PID(), &actors.Crash{Reason: "acceptance: training under load"})
	w.awaitRunning(t, trainingID(a), 1)
	w.srvA.ResumeProcessing()
	var loads map[*party]*load
	select {
	case loads = <-loaded:
	case <-time.After(60 * time.Second):
		t.Fatal("the load did not end")
	}

	// A: the crashed actors restarted, each once by its own crash (the
	// sampling actor, later in start order, once more as the training
	// actor's rest_for_one sibling).
	assert.Equal(t, 1, w.restarts(t, trainingID(a)))
	assert.Equal(t, 2, w.restarts(t, samplingID(a)))
	assert.Equal(t, 0, w.restarts(t, "service:a"))

	// Every caller got a result or a typed error; samples never pass
	// through the actors, so they all succeeded.
	la := loads[a]
	assertSamplesCorrect(t, a, la.samples)
	ok := 0
	for i, s := range la.steps {
		assert.True(t, typedOrNil(s.fbErr), "step %d forward_backward: %v", i, s.fbErr)
		assert.True(t, typedOrNil(s.optErr), "step %d optim_step: %v", i, s.optErr)
		for _, err := range []error{s.fbErr, s.optErr} {
			if err == nil {
				ok++
			} else {
				assert.ErrorIs(t, err, tinkex.ErrClientRestarted, "only operations not yet submitted fail")
			}
		}
	}
	// Seq_ids continue: every operation that succeeded was submitted once,
	// with the next seq_id; the failed ones took none.
	seqs := trainingSeqs(a)
	assert.Equal(t, seqRange(1, int64(ok)), seqs, "A's training seq_ids: no gap, no repeat")
	_, err := a.tc.OptimStep(ctx, tinkex.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err, "A's training client works after its restart")
	assert.Equal(t, seqRange(1, int64(ok+1)), trainingSeqs(a))

	// B and A′: untouched.
	for _, p := range []*party{b, a2} {
		l := loads[p]
		assertTrainingCorrect(t, p, l.steps)
		assertSamplesCorrect(t, p, l.samples)
		assert.Equal(t, seqRange(1, 2*trainingSteps), trainingSeqs(p))
		assert.Equal(t, 0, w.restarts(t, "service:"+p.name))
		assert.Equal(t, 0, w.restarts(t, trainingID(p)))
		assert.Equal(t, 0, w.restarts(t, samplingID(p)))
	}
	for _, e := range w.rec.find(func(e telemetry.Event) bool { return e.Name == telemetry.SupervisorChildRestarted }) {
		assert.Equal(t, "service:a", e.Metadata[telemetry.KeySupervisor], "only A's supervisor restarted anything: %v", e)
	}

	// Exceed the intensity of A's service supervisor (2 restarts per hour,
	// both used): the whole subtree restarts as a unit.
	exceeded := w.rec.await(func(e telemetry.Event) bool {
		return e.Name == telemetry.SupervisorIntensityExceeded && e.Metadata[telemetry.KeySupervisor] == "service:a"
	})
	root.Send(a.tc.PID(), &actors.Crash{Reason: "acceptance: one too many"})
	wait(t, exceeded, "A's service supervisor to give up")
	w.awaitRunning(t, "service:a", 1)
	tree, err := w.rt.Tree(ctx)
	require.NoError(t, err)
	nodeA, found := findNode(tree, "service:a")
	require.True(t, found)
	var ids []string
	for _, c := range nodeA.Children {
		ids = append(ids, c.ID)
		assert.Equal(t, supervisor.Running, c.Status, c.ID)
	}
	assert.Equal(t, []string{"session", trainingID(a), samplingID(a)}, ids, "the subtree came back whole, in order")

	require.Eventually(t, func() bool {
		_, err := root.RequestFuture(a.tc.PID(), &actors.Probe{}, time.Second).Result()
		return err == nil
	}, 30*time.Second, time.Millisecond, "A's training actor answers after the subtree restart")
	_, err = a.tc.OptimStep(ctx, tinkex.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
	assert.Equal(t, seqRange(1, int64(ok+2)), trainingSeqs(a), "seq_ids survive the subtree restart")
	_, err = a.sc.Sample(ctx, a.prompt(0), 1, sampleParams())
	require.NoError(t, err)

	// B is still untouched, and works.
	assert.Equal(t, 0, w.restarts(t, "service:b"))
	assert.Equal(t, 0, w.restarts(t, trainingID(b)))
	assert.Equal(t, 0, w.restarts(t, samplingID(b)))
	_, err = b.tc.OptimStep(ctx, tinkex.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
	_, err = b.sc.Sample(ctx, b.prompt(0), 1, sampleParams())
	require.NoError(t, err)
}
