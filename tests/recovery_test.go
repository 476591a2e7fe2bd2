package tests

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// Scenario 4. Server errors are recovered where the protocol allows it:
// a training submit answered 500 is retried once with the same seq_id and
// idempotency key; a 503 while polling keeps polling; a sampling 500 is
// returned at once as a Server error after exactly one call.
func TestServerErrorRecovery(t *testing.T) {
	w := newWorld(t)
	a := w.party(t, "a", w.srvA, keyA, 1)
	ctx := ctxT(t)
	fp := a.svc.Fingerprint()

	t.Run("training submit 500 then success", func(t *testing.T) {
		id := w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointForwardBackward, Status: 500, RetryAfterMs: "1", Times: 1})
		data := a.batch(t, 0)
		out, err := a.tc.ForwardBackward(ctx, data, tinkex.LossCrossEntropy).Result(ctx)
		require.NoError(t, err)
		want, err := tinkertest.ExpectedForwardBackwardOutput(types.ForwardBackwardRequest{Data: data, LossFn: types.LossCrossEntropy})
		require.NoError(t, err)
		assert.Equal(t, want.LossFnOutputs, out.LossFnOutputs)
		assert.Equal(t, 1, w.srvA.FaultHits(id))

		reqs := w.srvA.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointForwardBackward, ModelID: a.tc.ModelID()})
		require.Len(t, reqs, 2, "exactly two submit calls")
		assert.Equal(t, []int{500, 200}, []int{reqs[0].Status, reqs[1].Status})
		assert.True(t, reqs[0].HasSeqID, "the rejected submit is logged with its seq_id")
		assert.Equal(t, reqs[0].SeqID, reqs[1].SeqID, "the retry carries the same seq_id")
		key := reqs[0].Header.Get("X-Idempotency-Key")
		assert.NotEmpty(t, key)
		assert.Equal(t, key, reqs[1].Header.Get("X-Idempotency-Key"), "and the same idempotency key")
		retries := w.rec.find(func(e telemetry.Event) bool {
			return e.Name == telemetry.HTTPRetry && e.Metadata[telemetry.KeyConfig] == fp && e.Metadata[telemetry.KeyOp] == "forward_backward"
		})
		require.Len(t, retries, 1)
		assert.Equal(t, 500, retries[0].Metadata[telemetry.KeyStatus])
	})

	t.Run("poll 503 keeps polling", func(t *testing.T) {
		id := w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointRetrieveFuture, Status: 503, Times: 1})
		f := a.tc.OptimStep(ctx, tinkex.DefaultAdamParams())
		out, err := f.Result(ctx)
		require.NoError(t, err, "the future completes")
		assert.InDelta(t, 1.0, out.Metrics["step:max"], 0)
		assert.Equal(t, 1, w.srvA.FaultHits(id))
		polls := w.srvA.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointRetrieveFuture, RequestID: f.RequestID()})
		require.GreaterOrEqual(t, len(polls), 2, "polling continued after the 503")
		assert.Equal(t, 503, polls[0].Status)
		assert.Equal(t, 200, polls[len(polls)-1].Status)
		assert.Equal(t, 1, w.srvA.Count(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep, ModelID: a.tc.ModelID()}),
			"the operation was not resubmitted")
		apiErrs := w.rec.find(func(e telemetry.Event) bool {
			return e.Name == telemetry.FutureAPIError && e.Metadata[telemetry.KeyRequestID] == f.RequestID()
		})
		require.Len(t, apiErrs, 1)
		assert.Equal(t, 503, apiErrs[0].Metadata[telemetry.KeyStatus])
	})

	t.Run("sampling 500 is resent by the second layer", func(t *testing.T) {
		id := w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointAsample, Status: 500, Times: 1})
		before := w.srvA.Count(tinkertest.Match{Endpoint: tinkertest.EndpointAsample})
		_, err := a.sc.Sample(ctx, a.prompt(0), 1, sampleParams())
		require.NoError(t, err)
		assert.Equal(t, 1, w.srvA.FaultHits(id))
		reqs := w.srvA.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAsample})[before:]
		require.Len(t, reqs, 2, "the 500, then one resend")
		assert.Equal(t, reqs[0].SeqID, reqs[1].SeqID, "same seq_id")
		assert.NotEqual(t, reqs[0].Header.Get("X-Idempotency-Key"), reqs[1].Header.Get("X-Idempotency-Key"), "new idempotency key")
		assert.Len(t, w.rec.find(func(e telemetry.Event) bool {
			return e.Name == telemetry.CallRetry && e.Metadata[telemetry.KeyOp] == "sample"
		}), 1, "one second-layer resend")
		assert.Empty(t, w.rec.find(func(e telemetry.Event) bool {
			return e.Name == telemetry.HTTPRetry && e.Metadata[telemetry.KeyOp] == "sample"
		}), "no HTTP-layer retry")
		assert.Empty(t, w.rec.find(named(telemetry.LimiterBackoffSet, fp)), "and no backoff")
	})

	t.Run("sampling 500 marked x-should-retry false is not retried", func(t *testing.T) {
		id := w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointAsample, Status: 500, ShouldRetry: "false", Times: 1})
		before := w.srvA.Count(tinkertest.Match{Endpoint: tinkertest.EndpointAsample})
		_, err := a.sc.Sample(ctx, a.prompt(0), 1, sampleParams())
		require.ErrorIs(t, err, tinkex.ErrServer)
		var e *tinkex.Error
		require.True(t, errors.As(err, &e))
		assert.Equal(t, 500, e.StatusCode)
		assert.Equal(t, 1, e.Attempts, "one attempt")
		assert.Equal(t, 1, w.srvA.FaultHits(id))
		assert.Equal(t, 1, w.srvA.Count(tinkertest.Match{Endpoint: tinkertest.EndpointAsample})-before, "exactly one call")
		assert.Empty(t, w.rec.find(func(e telemetry.Event) bool {
			return e.Name == telemetry.HTTPRetry && e.Metadata[telemetry.KeyOp] == "sample"
		}), "no automatic retry")
		assert.Empty(t, w.rec.find(named(telemetry.LimiterBackoffSet, fp)), "and no backoff")
		_, err = a.sc.Sample(ctx, a.prompt(1), 1, sampleParams())
		require.NoError(t, err, "the client stays usable")
	})
}

// Scenario 5. User errors are the caller's to fix: never retried, never
// delayed by a backoff, and the clients stay usable.
func TestUserErrors(t *testing.T) {
	w := newWorld(t)
	a := w.party(t, "a", w.srvA, keyA, 1)
	ctx := ctxT(t)
	fp := a.svc.Fingerprint()

	t.Run("optim_step 400 category user", func(t *testing.T) {
		id := w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointOptimStep, Status: 400,
			Body: `{"detail":"learning rate out of range","category":"user"}`, Times: 1})
		_, err := a.tc.OptimStep(ctx, tinkex.DefaultAdamParams()).Result(ctx)
		require.Error(t, err)
		assert.True(t, tinkex.IsUserError(err), "%v", err)
		assert.False(t, tinkex.IsRetryable(err))
		assert.Equal(t, 1, w.srvA.FaultHits(id))
		assert.Equal(t, 1, w.srvA.CountEndpoint(tinkertest.EndpointOptimStep), "exactly one call")
		assert.Empty(t, w.rec.find(named(telemetry.HTTPRetry, fp)), "no retry")
		assert.Empty(t, w.rec.find(named(telemetry.LimiterBackoffSet, fp)), "no backoff was set")
		assert.Zero(t, a.svc.LimiterStats().BackoffRemaining)
		assert.NotContains(t, err.Error(), keyA)
	})

	t.Run("future failed with category user", func(t *testing.T) {
		w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointOptimStep, FutureError: "grad clip must be positive",
			Category: tinkex.CategoryUser, Times: 1})
		f := a.tc.OptimStep(ctx, tinkex.DefaultAdamParams())
		_, err := f.Result(ctx)
		require.ErrorIs(t, err, tinkex.ErrRequestFailed)
		var e *tinkex.Error
		require.True(t, errors.As(err, &e))
		assert.Equal(t, tinkex.CategoryUser, e.Category)
		assert.Equal(t, f.RequestID(), e.RequestID)
		assert.True(t, tinkex.IsUserError(err))
		assert.Equal(t, 1, w.srvA.Count(tinkertest.Match{Endpoint: tinkertest.EndpointRetrieveFuture, RequestID: f.RequestID()}),
			"failed after one poll")
		assert.Len(t, w.rec.find(func(ev telemetry.Event) bool {
			return ev.Name == telemetry.FutureRequestFailed && ev.Metadata[telemetry.KeyRequestID] == f.RequestID()
		}), 1)
	})

	t.Run("clients stay usable", func(t *testing.T) {
		data := a.batch(t, 1)
		fb := a.tc.ForwardBackward(ctx, data, tinkex.LossCrossEntropy)
		opt := a.tc.OptimStep(ctx, tinkex.DefaultAdamParams())
		_, err := fb.Result(ctx)
		require.NoError(t, err)
		_, err = opt.Result(ctx)
		require.NoError(t, err)
		_, err = a.sc.Sample(ctx, a.prompt(0), 1, sampleParams())
		require.NoError(t, err)
		// Seq_ids: 1 (the 400, answered before any work), 2 (the failed
		// future), then 3 and 4.
		assert.Equal(t, seqRange(1, 4), trainingSeqs(a))
	})
}
