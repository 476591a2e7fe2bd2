package tinkex

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// complete_metadata: the first poll announces the size, the client reserves
// it in the in-flight byte budget and polls again without metadata-only.
func TestPollCompleteMetadataTwoStep(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithCompleteMetadata()})
	svc := e.service(t)
	sc := sampler(t, e, svc)
	res, err := sc.Sample(ctxT(t), prompt, 2, types.DefaultSamplingParams())
	require.NoError(t, err)
	assert.Len(t, res.Sequences, 2)
	polls := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointRetrieveFuture})
	require.Len(t, polls, 2)
	assert.Equal(t, true, polls[0].Body.(map[string]any)["allow_metadata_only"])
	assert.Equal(t, false, polls[1].Body.(map[string]any)["allow_metadata_only"])
	assert.Equal(t, int64(0), svc.inflight.InUse(), "the reservation is released after decoding")
}

// A poll deadline ends a future that never completes with KindTimeout.
func TestPollDeadline(t *testing.T) {
	e := newEnv(t, nil, WithPollDeadline(50*time.Millisecond))
	rec := recordEvents(t, e.rt.bus)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.PauseProcessing()
	defer e.srv.ResumeProcessing()
	_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	assert.ErrorIs(t, err, types.ErrTimeout)
	assert.Contains(t, err.Error(), "poll deadline")
	assert.Len(t, rec.named(telemetry.FutureTimeout), 1)
}

// The poll deadline runs on the injected clock: a future that never
// completes fails with KindTimeout once the fake clock has passed it.
func TestPollDeadlineUsesTheClock(t *testing.T) {
	fc := clock.NewFake(time.Now())
	e := newEnv(t, nil, WithClock(fc), WithPollDeadline(time.Hour))
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.PauseProcessing()
	defer e.srv.ResumeProcessing()
	before := e.srv.CountEndpoint(tinkertest.EndpointRetrieveFuture) // create_model's polls
	f := tc.OptimStep(ctxT(t), types.DefaultAdamParams())
	require.Eventually(t, func() bool { return e.srv.CountEndpoint(tinkertest.EndpointRetrieveFuture) > before },
		30*time.Second, time.Millisecond, "the future is polling")
	select {
	case <-f.Done():
		t.Fatal("the poll ended before its deadline passed on the clock")
	default:
	}
	fc.Advance(time.Hour)
	_, err := f.Result(ctxT(t))
	assert.ErrorIs(t, err, types.ErrTimeout)
	assert.Contains(t, err.Error(), "poll deadline")
}

// A paused queue state is logged, once per minute at most.
func TestPausedQueueStateIsLoggedDebounced(t *testing.T) {
	logger, logged := captureLogs(slog.LevelInfo)
	e := newEnv(t, nil, WithLogger(logger))
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, QueueState: "paused_capacity", Times: 5})
	_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.NoError(t, err)
	out := logged()
	assert.Equal(t, 1, strings.Count(out, "optim_step is waiting: Tinker backend is running short on capacity"), out)
}

// Server telemetry: a user error becomes a user_error event in a batch.
func TestUserErrorReachesServerTelemetry(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t, WithTelemetry(true))
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, FutureError: "bad", Category: types.CategoryUser, Times: 1})
	_, err := tc.OptimStep(ctxT(t), types.DefaultAdamParams()).Result(ctxT(t))
	require.ErrorIs(t, err, types.ErrRequestFailed)
	require.NoError(t, svc.Close(context.Background()))
	var names []string
	for _, b := range e.srv.TelemetryBatches() {
		for _, ev := range b.Events {
			if n, ok := ev["event_name"].(string); ok {
				names = append(names, n)
			}
		}
		raw, err := json.Marshal(b.Body)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), keyA)
	}
	assert.Contains(t, names, "user_error")
}

// nowClock is a clock whose Now is now and whose timers are Clock's.
type nowClock struct {
	clock.Clock
	now func() time.Time
}

func (c nowClock) Now() time.Time { return c.now() }

// pollDirect submits one optim_step by hand and polls its future with a
// copy of svc's poller whose sleep records and whose clock is now.
// The first tryAgains polls answer try_again at once.
func pollDirect(t *testing.T, e *env, tryAgains int, b PollBackoff, now func() time.Time) []time.Duration {
	t.Helper()
	return pollDirectFault(t, e.service(t), e, tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, QueueState: "active", Times: tryAgains}, b, now)
}

// pollDirectFault is pollDirect with fault injected on the optim_step's
// polls of a TrainingClient of svc.
func pollDirectFault(t *testing.T, svc *ServiceClient, e *env, fault tinkertest.Fault, b PollBackoff, now func() time.Time) []time.Duration {
	t.Helper()
	ctx := ctxT(t)
	tc := trainer(t, svc)
	id, _, err := svc.submitFuture(ctx, "optim_step", &httpclient.Request{Path: "/api/v1/optim_step",
		Body: types.OptimStepRequest{AdamParams: types.DefaultAdamParams(), ModelID: tc.ModelID(), SeqID: 1}})
	require.NoError(t, err)
	e.srv.Inject(fault)
	var mu sync.Mutex
	var slept []time.Duration
	p := *svc.poller
	p.backoff, p.clock = b, nowClock{Clock: p.clock, now: now}
	p.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		return ctx.Err()
	}
	res, err := p.poll(ctx, pollSpec{op: "optim_step", requestType: "OptimStep", requestID: id, training: true})
	require.NoError(t, err)
	res.permit.Release()
	mu.Lock()
	defer mu.Unlock()
	return slept
}

// try_again answered at once (the server did not long-poll) is not a tight
// loop: the poller backs off 10 ms doubling to 1 s, jittered down by at most
// 25 %, measured on the injected clock.
func TestQuickTryAgainBacksOff(t *testing.T) {
	e := newEnv(t, nil)
	fc := clock.NewFake(time.Unix(1_700_000_000, 0)) // never moves: every answer is instant
	slept := pollDirect(t, e, 9, PollBackoff{}, fc.Now)
	ms := time.Millisecond
	want := []time.Duration{10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, 1000 * ms, 1000 * ms}
	require.Len(t, slept, len(want))
	for i, w := range want {
		assert.LessOrEqual(t, slept[i], w, "backoff %d", i)
		assert.GreaterOrEqual(t, slept[i], w*3/4, "backoff %d", i)
	}
	assert.Equal(t, 10, e.srv.CountEndpoint(tinkertest.EndpointRetrieveFuture)-1, "9 try_again and the result, after create_model's poll")
}

// A try_again the server held (at least the 50 ms floor, on the injected
// clock) is re-polled at once, as the SDK does.
func TestHeldTryAgainRepollsAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	held := func() time.Time { fc.Advance(60 * time.Millisecond); return fc.Now() } // a poll spans 60 ms
	slept := pollDirect(t, e, 5, PollBackoff{}, held)
	assert.Empty(t, slept)
	assert.Equal(t, 6, e.srv.CountEndpoint(tinkertest.EndpointRetrieveFuture)-1, "5 try_again and the result, after create_model's poll")
}

// A 429 on retrieve_future backs that poll off min(2^n, 30) s (jittered)
// whatever its Retry-After says, and does not set the config's shared
// backoff: only submits do (BEHAVIOR's polling column; the SDK's
// _sample_backoff_until is set by asample alone).
func TestPoll429BacksOffThePollOnly(t *testing.T) {
	e := newEnv(t, nil)
	rec := recordEvents(t, e.rt.bus)
	svc := e.service(t)
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	slept := pollDirectFault(t, svc, e, tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, Status: 429,
		RetryAfter: "30", Times: 2}, PollBackoff{}, fc.Now)
	want := []time.Duration{time.Second, 2 * time.Second}
	require.Len(t, slept, len(want))
	for i, w := range want {
		assert.LessOrEqual(t, slept[i], w, "backoff %d ignores Retry-After: 30", i)
		assert.GreaterOrEqual(t, slept[i], w*3/4, "backoff %d", i)
	}
	assert.Zero(t, svc.LimiterStats().Bursts, "a poll's 429 sets no shared backoff")
	assert.Empty(t, rec.named(telemetry.LimiterBackoffSet))
}

// retrieveFutureBody is byte for byte what encoding/json makes of
// types.RetrieveFutureRequest, for plain ids and for ids that need escaping.
func TestRetrieveFutureBodyMatchesJSON(t *testing.T) {
	for _, id := range []string{"", "req-123:sample:0", `quo"te`, `back\slash`, "<html>&", "tab\tnl\n", "ünï", "\x00\x7f"} {
		for _, meta := range []bool{true, false} {
			want, err := json.Marshal(types.RetrieveFutureRequest{RequestID: id, AllowMetadataOnly: meta})
			require.NoError(t, err)
			got, err := retrieveFutureBody(id, meta)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got), "%q %v", id, meta)
		}
	}
}
