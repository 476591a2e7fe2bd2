package tinkex

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

type events struct {
	mu  sync.Mutex
	evs []telemetry.Event
}

func (r *events) handle(e telemetry.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, e)
}

func (r *events) named(name string) []telemetry.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []telemetry.Event
	for _, e := range r.evs {
		if e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func recordEvents(t *testing.T, bus *telemetry.Bus) *events {
	t.Helper()
	r := &events{}
	require.NoError(t, bus.Attach(t.Name(), []string{"*"}, r.handle))
	return r
}

// trainer creates a LoRA training client on the test base model.
func trainer(t *testing.T, svc *ServiceClient) *TrainingClient {
	t.Helper()
	tc, err := svc.CreateLoRATrainingClient(ctxT(t), "meta-llama/Llama-3.2-1B")
	require.NoError(t, err)
	return tc
}

func sampler(t *testing.T, e *env, svc *ServiceClient) *SamplingClient {
	t.Helper()
	sc, err := svc.CreateSamplingClient(ctxT(t), WithBaseModel("meta-llama/Llama-3.2-1B"))
	require.NoError(t, err)
	return sc
}

var prompt = types.ModelInputFromInts([]int{3, 1, 4, 1, 5})

// Retry layers per call, asample row (BEHAVIOR, issue 13): no HTTP-layer
// retry, but the second layer sends a sample that met a 5xx again, with
// the same seq_id under a new idempotency key; with the second layer off
// (WithCallRetryBudget(0)) the 5xx is returned after exactly one call.
func TestSample5xxIsResentBySecondLayer(t *testing.T) {
	e := newEnv(t, nil, shortLayers(time.Minute))
	svc := e.service(t)
	sc := sampler(t, e, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointAsample, Status: 500, Times: 1})
	_, err := sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)
	reqs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAsample})
	require.Len(t, reqs, 2)
	assert.Equal(t, 500, reqs[0].Status)
	assert.Equal(t, 200, reqs[1].Status)
	assert.Equal(t, reqs[0].SeqID, reqs[1].SeqID, "the resend keeps the seq_id")
	assert.NotEqual(t, reqs[0].Header.Get("X-Idempotency-Key"), reqs[1].Header.Get("X-Idempotency-Key"))
	assert.Equal(t, "0", reqs[1].Header.Get("x-stainless-retry-count"))

	e = newEnv(t, nil)
	sc = sampler(t, e, e.service(t, WithCallRetryBudget(0)))
	before := e.srv.CountEndpoint(tinkertest.EndpointAsample)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointAsample, Status: 500, Times: 1})
	_, err = sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	assert.ErrorIs(t, err, types.ErrServer)
	assert.Equal(t, before+1, e.srv.CountEndpoint(tinkertest.EndpointAsample), "one call")
	_, err = sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err, "the client stays usable")
}

// Sampling column: a 429 sets the shared backoff, waits it out and
// resubmits with the same seq_id and a new idempotency key (BEHAVIOR's
// sampling seq_id rule).
func TestSample429BacksOffAndResubmits(t *testing.T) {
	e := newEnv(t, nil)
	rec := recordEvents(t, e.rt.bus)
	svc := e.service(t)
	sc := sampler(t, e, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointAsample, Status: 429, RetryAfterMs: "1", Times: 1})
	_, err := sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)
	reqs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAsample})
	require.Len(t, reqs, 2)
	assert.Equal(t, 429, reqs[0].Status)
	assert.Equal(t, int64(0), reqs[0].SeqID)
	assert.Equal(t, int64(0), reqs[1].SeqID, "a resubmission keeps its seq_id")
	assert.NotEqual(t, reqs[0].Header.Get("X-Idempotency-Key"), reqs[1].Header.Get("X-Idempotency-Key"), "and takes a new key")
	require.Eventually(t, func() bool { return len(rec.named(telemetry.LimiterBackoffCleared)) == 1 }, 10*time.Second, time.Millisecond)
	set := rec.named(telemetry.LimiterBackoffSet)
	require.Len(t, set, 1)
	assert.Equal(t, svc.Fingerprint(), set[0].Metadata[telemetry.KeyConfig])
	assert.GreaterOrEqual(t, set[0].Measurements[telemetry.MeasureDelay], 1.0, "at least the 1 s sampling floor")
	// The public read-only view of the config's limiter counts the burst.
	st := svc.LimiterStats()
	assert.Equal(t, svc.Fingerprint(), st.Identity.Fingerprint)
	assert.Equal(t, uint64(1), st.Bursts)
	assert.Zero(t, st.SlotsInUse, "nothing in flight after the sample returned")
}

// Sampling column, x-should-retry row: a 429 answered with x-should-retry:
// false is not waited out and resubmitted; it is the caller's error, and
// IsRetryable says not to send it again. It still sets the config's shared
// backoff: the header decides this request's retry, not the rate limit.
func TestSample429WithShouldRetryFalseIsReturned(t *testing.T) {
	e := newEnv(t, nil)
	rec := recordEvents(t, e.rt.bus)
	svc := e.service(t)
	sc := sampler(t, e, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointAsample, Status: 429, RetryAfterMs: "1", ShouldRetry: "false", Times: 1})
	_, err := sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	require.ErrorIs(t, err, types.ErrRateLimited)
	var te *types.Error
	require.ErrorAs(t, err, &te)
	assert.True(t, te.NoRetry)
	assert.False(t, types.IsRetryable(err))
	assert.Equal(t, 1, e.srv.CountEndpoint(tinkertest.EndpointAsample), "not resubmitted")
	require.Eventually(t, func() bool { return len(rec.named(telemetry.LimiterBackoffSet)) == 1 }, 10*time.Second, time.Millisecond,
		"the config is still rate limited for its other samplers: the shared backoff is set")
	assert.Equal(t, uint64(1), svc.LimiterStats().Bursts)
}

// Polling column: 503 and 429 on retrieve_future keep polling; the future
// completes.
func TestPollRetriesServerErrors(t *testing.T) {
	e := newEnv(t, nil)
	rec := recordEvents(t, e.rt.bus)
	svc := e.service(t)
	sc := sampler(t, e, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 503, Times: 2})
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 429, RetryAfterMs: "1", Times: 1})
	_, err := sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)
	assert.Equal(t, 1, e.srv.CountEndpoint(tinkertest.EndpointAsample), "the future is not lost")
	assert.Equal(t, 4, e.srv.CountEndpoint(tinkertest.EndpointRetrieveFuture))
	apiErrors := rec.named(telemetry.FutureAPIError)
	assert.Len(t, apiErrors, 3)
	for _, ev := range apiErrors {
		assert.Contains(t, []any{"server", "rate_limited"}, ev.Metadata[telemetry.KeyKind], "api_error carries status and kind (docs/telemetry.md)")
	}
}

// Polling column, "body category user" row: a 5xx whose body says
// category user is a user error on a poll too (Outcome.Kind, the one
// classifier): the future fails at once, without re-polling.
func TestPollFailsAUserCategory5xxAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	tc := trainer(t, e.service(t))
	before := e.srv.CountEndpoint(tinkertest.EndpointRetrieveFuture) // create_model's polls
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 500,
		Body: `{"detail":"bad adam params","category":"user"}`, Times: 1})
	_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.ErrorIs(t, err, types.ErrUser)
	assert.True(t, types.IsUserError(err))
	assert.Equal(t, before+1, e.srv.CountEndpoint(tinkertest.EndpointRetrieveFuture), "not re-polled")
}

// Polling column: 408 with a queue state re-polls at once and reports the
// state; try_again states change the future's QueueState.
func TestPollQueueStates(t *testing.T) {
	e := newEnv(t, nil)
	rec := recordEvents(t, e.rt.bus)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 408, QueueState: "paused_capacity", Times: 1})
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, QueueState: "paused_rate_limit", Times: 2})
	f := tc.OptimStep(ctxT(t), types.DefaultAdamParams())
	_, err := f.Result(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, types.QueueStatePausedRateLimit, f.QueueState())
	changes := rec.named(telemetry.QueueStateChange)
	require.GreaterOrEqual(t, len(changes), 2)
	assert.Equal(t, "paused_capacity", changes[0].Metadata[telemetry.KeyQueueState])
	assert.Equal(t, "paused_rate_limit", changes[1].Metadata[telemetry.KeyQueueState])
	assert.Equal(t, "concurrent training clients rate limit hit", changes[1].Metadata[telemetry.KeyReason])
}

// Polling column: a 410 makes sampling resubmit once; training returns it.
func TestPollPromiseExpired(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t)
	sc := sampler(t, e, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 410, Times: 1})
	_, err := sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)
	assert.Equal(t, 2, e.srv.CountEndpoint(tinkertest.EndpointAsample), "resubmitted once")

	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 410, Times: 2})
	_, err = sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	assert.ErrorIs(t, err, types.ErrPromiseExpired, "only once per call")

	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 410, Times: 1})
	_, err = tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	assert.ErrorIs(t, err, types.ErrPromiseExpired)
	assert.Equal(t, 1, e.srv.CountEndpoint(tinkertest.EndpointOptimStep))
}

// Polling column (BEHAVIOR): bare 400s are re-polled up to 3 times, then
// fail. The futures pool's bare-400 budget does not apply to polls (see
// TestPollBareBadRequestIsNotAProxyRejection).
func TestPollBareBadRequestBudget(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t)
	sc := sampler(t, e, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 400, EmptyBody: true, Times: 3})
	_, err := sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)
	assert.Equal(t, 4, e.srv.CountEndpoint(tinkertest.EndpointRetrieveFuture))

	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 400, EmptyBody: true, Times: 4})
	before := e.srv.CountEndpoint(tinkertest.EndpointRetrieveFuture)
	_, err = sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	assert.ErrorIs(t, err, types.ErrUser)
	assert.Equal(t, 4, e.srv.CountEndpoint(tinkertest.EndpointRetrieveFuture)-before)
}

// The bare-400 rule of polls is the polling column's alone: the futures
// pool's budget (httpclient.ProxyRejectionBudget) does not turn a poll's
// bare 400 into a backed-off connection error first.
func TestPollBareBadRequestIsNotAProxyRejection(t *testing.T) {
	e := newEnv(t, nil)
	rec := recordEvents(t, e.rt.bus)
	sc := sampler(t, e, e.service(t))
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 400, EmptyBody: true, Times: 3})
	_, err := sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)
	assert.Empty(t, rec.named(telemetry.FutureConnectionError), "re-polled at once, not backed off as a connection error")
	assert.Len(t, rec.named(telemetry.FutureAPIError), 3)
}

// A training submit whose bare 400 comes once the training pool's budget is
// spent is an ordinary 400: not resent, and its seq_id is lost (the proxy
// kept it from the service), so later operations fail with ErrSeqGap.
func TestBareBadRequestOnSubmitAfterTheBudget(t *testing.T) {
	e := newEnv(t, nil, shortLayers(time.Minute))
	ctx := ctxT(t)
	tc := trainer(t, e.service(t))
	const budget = httpclient.ProxyRejectionBudget
	// 17 bare 400s in a row: the second layer resends each of the first 16
	// (rejections, connection errors); the 17th is a 400.
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, Status: 400, EmptyBody: true, Times: budget + 1})
	_, err := tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.ErrorIs(t, err, types.ErrUser)
	assert.NotErrorIs(t, err, httpclient.ErrProxyRejected)
	assert.Equal(t, budget+1, e.srv.CountEndpoint(tinkertest.EndpointOptimStep), "16 rejections resent, the 17th 400 not")
	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.ErrorIs(t, err, types.ErrSeqGap)
}

// Polling column: an error body fails the future with RequestFailed after
// one poll, never retried; the client stays usable.
func TestPollRequestFailedUser(t *testing.T) {
	e := newEnv(t, nil)
	rec := recordEvents(t, e.rt.bus)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, FutureError: "bad learning rate", Category: types.CategoryUser, Times: 1})
	f := tc.OptimStep(ctxT(t), types.DefaultAdamParams())
	_, err := f.Result(ctxT(t))
	require.ErrorIs(t, err, types.ErrRequestFailed)
	assert.True(t, types.IsUserError(err))
	var te *types.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, types.CategoryUser, te.Category)
	assert.Equal(t, f.RequestID(), te.RequestID)
	assert.Equal(t, 1, e.srv.Count(tinkertest.Match{Endpoint: tinkertest.EndpointRetrieveFuture, RequestID: f.RequestID()}))
	assert.Len(t, rec.named(telemetry.FutureRequestFailed), 1)
	_, err = tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.NoError(t, err)
}

// HTTP-layer column for training: one 500 on the submit, then success:
// two calls with the same seq_id and idempotency key.
func TestTrainingSubmit5xxRetriedWithSameSeqAndKey(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, Status: 500, Times: 1, RetryAfterMs: "1"})
	_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.NoError(t, err)
	reqs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep})
	require.Len(t, reqs, 2)
	assert.Equal(t, reqs[0].SeqID, reqs[1].SeqID)
	assert.Equal(t, reqs[0].Header.Get("X-Idempotency-Key"), reqs[1].Header.Get("X-Idempotency-Key"))
	assert.Equal(t, "1", reqs[1].Header.Get("x-stainless-retry-count"))
}

// User errors: a 400 with category user on optim_step is surfaced at once.
func TestTrainingUserErrorNotRetried(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, Status: 400, Body: `{"detail":"bad","category":"user"}`, Times: 1})
	_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	assert.True(t, types.IsUserError(err))
	assert.Equal(t, 1, e.srv.CountEndpoint(tinkertest.EndpointOptimStep))
	_, err = tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.NoError(t, err)
}

// The end events of training and sample spans carry the operation's seq_id
// (BEHAVIOR's metadata rule): the training op's (seq_ids from 1), the
// sample's (from 0), and a failed op's too.
func TestSpanEndEventsCarryTheSeqID(t *testing.T) {
	e := newEnv(t, nil)
	rec := recordEvents(t, e.rt.bus)
	svc := e.service(t)
	tc := trainer(t, svc)
	ctx := ctxT(t)
	_, err := tc.ForwardBackward(ctx, []types.Datum{datum(t, 1, 2)}, types.LossCrossEntropy).Result(ctx)
	require.NoError(t, err)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, FutureError: "boom", Category: types.CategoryServer, Times: 1})
	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.Error(t, err)
	sc := sampler(t, e, svc)
	_, err = sc.Sample(ctx, prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)

	fb := rec.named(telemetry.TrainingPrefix + "forward_backward.stop")
	require.Len(t, fb, 1)
	assert.Equal(t, int64(1), fb[0].Metadata[telemetry.KeySeqID])
	opt := rec.named(telemetry.TrainingPrefix + "optim_step.exception")
	require.Len(t, opt, 1)
	assert.Equal(t, int64(2), opt[0].Metadata[telemetry.KeySeqID])
	smp := rec.named(telemetry.SamplingSampleStop)
	require.Len(t, smp, 1)
	assert.Equal(t, int64(0), smp[0].Metadata[telemetry.KeySeqID])
}

// A successful sample builds no telemetry when only exceptions are listened
// to (server telemetry's default): its end event's metadata is made only
// for an event that is emitted.
func TestSampleSpanEndAllocatesNothingUnlessEmitted(t *testing.T) {
	bus := telemetry.NewBus()
	require.NoError(t, bus.Attach(t.Name(), []string{telemetry.SamplingSampleException}, func(telemetry.Event) {}))
	s := &SamplingClient{svc: &ServiceClient{}, bus: bus}
	resp, began := &SampleResponse{}, time.Now()
	assert.Zero(t, testing.AllocsPerRun(100, func() { s.endSpan(began, false, true, 7, resp, nil) }))
}
