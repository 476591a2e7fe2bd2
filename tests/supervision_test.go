package tests

import (
	"errors"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
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
	inspect.ActorSystem(w.rt).Root.Send(inspect.PID(p.sc), &inspect.Crash{Reason: "acceptance"})
	w.awaitRunning(t, samplingID(p), before+1)
}

func trainingID(p *party) string { return "training:" + p.tc.ModelID() }
func samplingID(p *party) string { return "sampling:" + p.sc.SamplerID() }

// recv receives from ch within a generous bound.
func recv[T any](ch <-chan T) (T, bool) {
	select {
	case v := <-ch:
		return v, true
	case <-time.After(60 * time.Second):
		var zero T
		return zero, false
	}
}

// typedOrNil reports whether err is nil or a *tinkex.Error.
func typedOrNil(err error) bool {
	var e *tinkex.Error
	return err == nil || errors.As(err, &e)
}

// Scenario 6. While scenario 1's load runs — A's samples in flight, A's
// forward_backward being submitted and an optim_step queued behind it —
// A's SamplingClient actor and A's TrainingClient actor each panic once.
// Both restart (the tree counts it); every caller gets a result or a typed
// error (the queued optim_step: ErrClientRestarted, nothing sent); A's
// training seq_ids continue without a gap or a repeat and its results stay
// right; B and A′ are untouched. Then A's service supervisor's intensity
// is exceeded: its subtree restarts as a unit, its clients come back and
// work, and B is still untouched.
func TestSupervisionUnderLoad(t *testing.T) {
	w := newWorld(t, tinkex.WithServiceIntensity(2, time.Hour))
	g := newGate("/api/v1/forward_backward")
	a := w.party(t, "a", w.srvA, keyA, 1, tinkex.WithHTTPClient(&http.Client{Transport: g}))
	b := w.party(t, "b", w.srvB, keyB, 2)
	a2 := w.party(t, "a2", w.srvA, keyA, 3)
	ctx := ctxT(t)
	root := inspect.ActorSystem(w.rt).Root

	// The load: B and A′ run all of scenario 1's; A samples 100 times
	// concurrently and trains step by step below.
	open := g.close()
	defer open()
	w.srvA.PauseProcessing() // A's samples stay in flight until the crashes are over
	loaded := make(chan map[*party]*load, 1)
	go func() { loaded <- runLoad(ctx, t, []*party{b, a2}) }()
	sampledA := make(chan []sampleResult, 1)
	go func() { sampledA <- a.sample(ctx, samplesPerClient, nil) }()

	// A's first step: forward_backward is being submitted (held at the
	// gate) and optim_step is queued behind it when the training actor
	// crashes.
	data := [][]tinkex.Datum{a.batch(t, 0)}
	fb := []*tinkex.Future[*tinkex.ForwardBackwardOutput]{a.tc.ForwardBackward(ctx, data[0], tinkex.LossCrossEntropy)}
	g.awaitHeld(t)
	restartedOpt := a.tc.OptimStep(ctx, tinkex.DefaultAdamParams())
	require.Eventually(t, func() bool {
		return w.srvA.Count(tinkertest.Match{Endpoint: tinkertest.EndpointAsample, SamplerID: a.sc.SamplerID()}) >= samplesPerClient/2
	}, 30*time.Second, time.Millisecond, "A's samples are in flight")

	// The sampling actor was started after the training actor, so under the
	// service's rest_for_one strategy its crash restarts only itself.
	root.Send(inspect.PID(a.sc), &inspect.Crash{Reason: "acceptance: sampling under load"})
	w.awaitRunning(t, samplingID(a), 1)
	root.Send(inspect.PID(a.tc), &inspect.Crash{Reason: "acceptance: training under load"})
	w.awaitRunning(t, trainingID(a), 1)
	open()
	w.srvA.ResumeProcessing()

	// The rest of A's training: steps 2..5.
	var opts []*tinkex.Future[*tinkex.OptimStepResponse]
	for i := 1; i < trainingSteps; i++ {
		data = append(data, a.batch(t, i))
		fb = append(fb, a.tc.ForwardBackward(ctx, data[i], tinkex.LossCrossEntropy))
		opts = append(opts, a.tc.OptimStep(ctx, tinkex.DefaultAdamParams()))
	}
	loads, ended := recv(loaded)
	require.True(t, ended, "B's and A′'s load ended")
	samplesA, ended := recv(sampledA)
	require.True(t, ended, "A's samples ended")

	// A: the crashed actors restarted, each once by its own crash (the
	// sampling actor, later in start order, once more as the training
	// actor's rest_for_one sibling).
	assert.Equal(t, 1, w.restarts(t, trainingID(a)))
	assert.Equal(t, 2, w.restarts(t, samplingID(a)))
	assert.Equal(t, 0, w.restarts(t, "service:a"))

	// Every caller got a result or a typed error. Samples never pass
	// through the actors: all succeeded. The optim_step queued at the crash
	// failed, retryable, having sent nothing; everything else succeeded.
	assertSamplesCorrect(t, a, samplesA)
	_, err := restartedOpt.Result(ctx)
	require.ErrorIs(t, err, tinkex.ErrClientRestarted)
	assert.True(t, typedOrNil(err))
	assert.True(t, tinkex.IsRetryable(err))
	losses := make([]float64, trainingSteps)
	for i, f := range fb {
		out, err := f.Result(ctx)
		require.NoError(t, err, "forward_backward %d", i)
		want, err := tinkertest.ExpectedForwardBackwardOutput(types.ForwardBackwardRequest{Data: data[i], LossFn: types.LossCrossEntropy})
		require.NoError(t, err)
		assert.Equal(t, want.LossFnOutputs, out.LossFnOutputs, "forward_backward %d", i)
		losses[i] = math.Abs(want.Metrics["loss:sum"])
	}
	for i, f := range opts {
		out, err := f.Result(ctx)
		require.NoError(t, err, "optim_step %d", i)
		assert.InDelta(t, float64(i+1), out.Metrics["step:max"], 0, "the failed optim_step never ran")
		acc := losses[i+1]
		if i == 0 {
			acc += losses[0] // the first step's gradient waited for the next optim_step
		}
		assert.InDelta(t, math.Sqrt(acc), out.Metrics["grad_norm:mean"], 1e-6, "optim_step %d", i)
	}
	// Seq_ids continue across the restart: no gap (the failed operation
	// took none), no repeat.
	sent := int64(2*trainingSteps - 1)
	assert.Equal(t, seqRange(1, sent), trainingSeqs(a), "A's training seq_ids")

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
	root.Send(inspect.PID(a.tc), &inspect.Crash{Reason: "acceptance: one too many"})
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
		_, err := root.RequestFuture(inspect.PID(a.tc), &inspect.Probe{}, time.Second).Result()
		return err == nil
	}, 30*time.Second, time.Millisecond, "A's training actor answers after the subtree restart")
	_, err = a.tc.OptimStep(ctx, tinkex.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
	assert.Equal(t, seqRange(1, sent+1), trainingSeqs(a), "seq_ids survive the subtree restart")
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
