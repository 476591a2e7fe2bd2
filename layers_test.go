package tinkex

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// shortLayers makes both retry layers quick: no HTTP-layer backoff and a
// 1 ms second layer with the given budget.
func shortLayers(budget time.Duration) RuntimeOption {
	return withHTTPOptions(
		httpclient.WithBackoff(func(int, httpclient.Outcome, time.Time) time.Duration { return 0 }),
		httpclient.WithSecondLayer(func(int) time.Duration { return time.Millisecond }, budget))
}

// The measured failure of issue 13: 11 × 503 on optim_step. The HTTP layer
// gives up after 11 attempts under one key; the second layer sends the step
// again with a new key, x-stainless-retry-count from 0 and the same seq_id,
// and the step succeeds.
func TestOptimStepSecondLayerKeepsSeqID(t *testing.T) {
	e := newEnv(t, nil, shortLayers(time.Minute))
	rec := recordEvents(t, e.rt.bus)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, Status: 503, Times: 11})
	_, err := tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)

	reqs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep})
	require.Len(t, reqs, 12)
	first := reqs[0].Header.Get("X-Idempotency-Key")
	for i, r := range reqs {
		assert.Equal(t, int64(1), r.SeqID, "request %d keeps seq_id 1", i)
		if i < 11 {
			assert.Equal(t, 503, r.Status)
			assert.Equal(t, first, r.Header.Get("X-Idempotency-Key"))
		}
	}
	assert.Equal(t, 200, reqs[11].Status)
	assert.NotEqual(t, first, reqs[11].Header.Get("X-Idempotency-Key"))
	assert.Equal(t, "0", reqs[11].Header.Get("x-stainless-retry-count"))
	resends := rec.named(telemetry.CallRetry)
	require.Len(t, resends, 1)
	assert.Equal(t, "optim_step", resends[0].Metadata[telemetry.KeyOp])
}

// A second SaveState with a name that exists answers 409: a user error,
// surfaced after one request (no retry, no backoff), and the operation
// queued behind it runs.
func TestSaveStateConflictSurfacesAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	rec := recordEvents(t, e.rt.bus)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	_, err := tc.SaveState(ctx, "ck").Result(ctx)
	require.NoError(t, err)

	again := tc.SaveState(ctx, "ck")
	next := tc.OptimStep(ctx, types.DefaultAdamParams())
	_, err = again.Result(ctx)
	require.ErrorIs(t, err, types.ErrConflict)
	assert.True(t, types.IsUserError(err))
	var te *types.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 1, te.Attempts)
	_, err = next.Result(ctx)
	require.NoError(t, err, "the next operation runs")

	saves := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointSaveWeights})
	require.Len(t, saves, 2, "one request per SaveState: no retry of the 409")
	assert.Equal(t, 409, saves[1].Status)
	assert.Equal(t, int64(2), saves[1].SeqID)
	steps := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep})
	require.Len(t, steps, 1)
	assert.Equal(t, int64(3), steps[0].SeqID)
	for _, ev := range append(rec.named(telemetry.HTTPRetry), rec.named(telemetry.CallRetry)...) {
		assert.NotEqual(t, "save_weights", ev.Metadata[telemetry.KeyOp], "no backoff of the save")
	}
}

// save_weights gets no HTTP-layer retries: a 503 is resent by the second
// layer only, under a new key.
func TestSaveWeightsHasNoHTTPLayerRetries(t *testing.T) {
	e := newEnv(t, nil, shortLayers(time.Minute))
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointSaveWeightsForSampler, Status: 503, Times: 1})
	_, err := tc.SaveWeightsForSampler(ctx, "s1").Result(ctx)
	require.NoError(t, err)
	reqs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointSaveWeightsForSampler})
	require.Len(t, reqs, 2)
	assert.NotEqual(t, reqs[0].Header.Get("X-Idempotency-Key"), reqs[1].Header.Get("X-Idempotency-Key"))
	assert.Equal(t, "0", reqs[1].Header.Get("x-stainless-retry-count"))
	assert.Equal(t, reqs[0].SeqID, reqs[1].SeqID)
}

// A bare empty-body 400 on a training submit is a proxy's, not the
// server's verdict: the second layer sends it again.
func TestBareBadRequestOnSubmitIsResent(t *testing.T) {
	e := newEnv(t, nil, shortLayers(time.Minute))
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointForwardBackward, Status: 400, EmptyBody: true, Times: 1})
	_, err := tc.ForwardBackward(ctx, []types.Datum{datum(t, 1, 2, 3)}, types.LossCrossEntropy, nil).Result(ctx)
	require.NoError(t, err)
	reqs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointForwardBackward})
	require.Len(t, reqs, 2)
	assert.Equal(t, 400, reqs[0].Status)
	assert.Equal(t, 200, reqs[1].Status)
	assert.Equal(t, int64(1), reqs[1].SeqID)
	assert.NotEqual(t, reqs[0].Header.Get("X-Idempotency-Key"), reqs[1].Header.Get("X-Idempotency-Key"))
}

// Lost seq_ids (issue 12): the fake answers 503 to every attempt of one
// optim_step. Once both retry layers have given up, the step fails with its
// cause, the seq_id is lost, and the two operations queued behind it fail
// at once with ErrSeqGap naming the lost seq_id and call — long before the
// callers' deadline — as does every later one, without a request.
func TestLostSeqIDFailsLaterOperationsAtOnce(t *testing.T) {
	e := newEnv(t, nil, shortLayers(20*time.Millisecond))
	rec := recordEvents(t, e.rt.bus)
	ctx := ctxT(t) // a 60 s deadline the operations must not reach
	svc := e.service(t, WithMaxRetries(1))
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, Status: 503})

	step := tc.OptimStep(ctx, types.DefaultAdamParams())
	fb := tc.ForwardBackward(ctx, []types.Datum{datum(t, 1, 2)}, types.LossCrossEntropy, nil)
	save := tc.SaveState(ctx, "after")

	_, err := step.Result(ctx)
	require.ErrorIs(t, err, types.ErrServer, "the lost step fails with its cause")
	_, err = fb.Result(ctx)
	require.ErrorIs(t, err, types.ErrSeqGap)
	assert.NotErrorIs(t, err, types.ErrCanceled, "ended by the gap, not by the deadline")
	var ge *types.Error
	require.ErrorAs(t, err, &ge)
	assert.Equal(t, "forward_backward", ge.Op)
	assert.Contains(t, ge.Message, "seq_id 1 ")
	assert.Contains(t, ge.Message, "optim_step")
	_, err = save.Result(ctx)
	require.ErrorIs(t, err, types.ErrSeqGap)
	assert.False(t, types.IsRetryable(err))

	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.ErrorIs(t, err, types.ErrSeqGap, "later operations fail at once too")

	steps := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep})
	require.GreaterOrEqual(t, len(steps), 4, "two HTTP attempts, then at least one resend of two")
	for _, r := range steps {
		assert.Equal(t, int64(1), r.SeqID, "only the lost step was ever sent")
	}
	assert.Zero(t, e.srv.CountEndpoint(tinkertest.EndpointForwardBackward))
	assert.Zero(t, e.srv.CountEndpoint(tinkertest.EndpointSaveWeights))
	gaps := rec.named(telemetry.TrainingSeqGap)
	require.Len(t, gaps, 1)
	assert.Equal(t, int64(1), gaps[0].Metadata[telemetry.KeySeqID])
	assert.Equal(t, "optim_step", gaps[0].Metadata[telemetry.KeyOp])
	assert.Equal(t, tc.ModelID(), gaps[0].Metadata[telemetry.KeyModelID])
}

// A submit the server refused with a 4xx reached it: nothing is lost.
func TestRefusedSubmitLosesNoSeqID(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, Status: 422, Times: 1})
	_, err := tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.ErrorIs(t, err, types.ErrUser)
	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
}

// The caller's context cannot un-send a submit that holds a seq_id, but the
// caller's Result returns at its deadline with KindCanceled naming the
// operation; the submit goes on and the client stays usable.
func TestCallerDeadlineEndsResultNotSubmit(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	fault := e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, Delay: time.Hour})
	opCtx, cancel := context.WithCancel(ctx)
	f := tc.OptimStep(opCtx, types.DefaultAdamParams())
	require.Eventually(t, func() bool { return e.srv.FaultHits(fault) == 1 }, 10*time.Second, time.Millisecond)
	waitCtx, stopWait := context.WithCancel(ctx)
	stopWait()
	_, err := f.Result(waitCtx)
	require.ErrorIs(t, err, types.ErrCanceled)
	var ce *types.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "optim_step", ce.Op, "Result names the operation, not the future")
	cancel()
	_, err = f.Result(ctx)
	require.ErrorIs(t, err, types.ErrCanceled)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "optim_step", ce.Op)
}

// Sampling resubmits keep the sample's seq_id and take a new idempotency
// key: after a 429, after an expired future (410), and after a
// second-layer resend of a bare 400. Each sample has its own seq_id.
func TestSamplingResubmitsKeepSeqID(t *testing.T) {
	e := newEnv(t, nil, shortLayers(time.Minute))
	svc := e.service(t)
	sc := sampler(t, e, svc)
	ctx := ctxT(t)
	cases := []struct {
		name  string
		fault tinkertest.Fault
	}{
		{"429", tinkertest.Fault{Endpoint: tinkertest.EndpointAsample, Status: 429, RetryAfterMs: "1", Times: 1}},
		{"410", tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 410, Times: 1}},
		{"bare 400", tinkertest.Fault{Endpoint: tinkertest.EndpointAsample, Status: 400, EmptyBody: true, Times: 1}},
	}
	for i, c := range cases {
		e.srv.Inject(c.fault)
		_, err := sc.Sample(ctx, prompt, 1, types.DefaultSamplingParams())
		require.NoError(t, err, c.name)
		subs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAsample, SeqID: tinkertest.SeqID(int64(i))})
		require.Len(t, subs, 2, "%s: one resubmission, same seq_id %d", c.name, i)
		assert.NotEqual(t, subs[0].Header.Get("X-Idempotency-Key"), subs[1].Header.Get("X-Idempotency-Key"), c.name)
		assert.Equal(t, "0", subs[1].Header.Get("x-stainless-retry-count"), c.name)
	}
	assert.Equal(t, 6, e.srv.CountEndpoint(tinkertest.EndpointAsample))
	info, ok := e.srv.Sampler(sc.SamplerID())
	require.True(t, ok)
	assert.Equal(t, []int64{0, 1, 2}, info.SeqIDs, "each sample accepted once, under its own seq_id")
}
