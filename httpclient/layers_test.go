package httpclient

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// fakeTime records every backoff (as delays does) and advances a fake clock
// by it, so the second layer's 5-minute budget runs on fake time.
type fakeTime struct {
	delays
	clk *clock.Fake
}

func (f *fakeTime) sleep(ctx context.Context, d time.Duration) error {
	err := f.delays.sleep(ctx, d)
	f.clk.Advance(d)
	return err
}

type layersEnv struct {
	srv    *tinkertest.Server
	c      *Client
	time   *fakeTime
	events *[]telemetry.Event
}

func newLayersEnv(t *testing.T, opts ...Option) *layersEnv {
	t.Helper()
	srv := tinkertest.NewServer()
	t.Cleanup(srv.Close)
	ft := &fakeTime{clk: clock.NewFake(time.Unix(1_700_000_000, 0))}
	bus := telemetry.NewBus()
	var mu sync.Mutex
	var events []telemetry.Event
	err := bus.Attach("layers-test", []string{telemetry.CallRetry, telemetry.HTTPRetry}, func(ev telemetry.Event) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})
	require.NoError(t, err)
	all := append([]Option{WithClock(ft.clk), withSleep(ft.sleep), WithBackoff(noJitter()), withJitter(func() float64 { return 0 }),
		WithTelemetry(bus)}, opts...)
	c, err := New(srv.URL(), testKey, all...)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return &layersEnv{srv: srv, c: c, time: ft, events: &events}
}

func (e *layersEnv) send(call Call) error {
	var out types.ClientConfigResponse
	_, err := e.c.Do(context.Background(), &Request{Path: "/api/v1/client/config", Call: call,
		Body: types.ClientConfigRequest{SDKVersion: types.ProtocolVersion}, Into: JSONInto(&out)})
	return err
}

func (e *layersEnv) log() []tinkertest.Entry {
	return e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointClientConfig})
}

func (e *layersEnv) named(name string) []telemetry.Event {
	var out []telemetry.Event
	for _, ev := range *e.events {
		if ev.Name == name {
			out = append(out, ev)
		}
	}
	return out
}

// The measured failure: 11 × 503 exhaust the HTTP layer; the second layer
// waits 1 s and sends the call again under a new idempotency key, with
// x-stainless-retry-count from 0 and the same body, and it succeeds.
func TestSecondLayerResendsAfterHTTPLayerGivesUp(t *testing.T) {
	e := newLayersEnv(t)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointClientConfig, Status: 503, Times: 11})
	require.NoError(t, e.send(CallClientConfig))

	reqs := e.log()
	require.Len(t, reqs, 12)
	first := reqs[0].Header.Get("X-Idempotency-Key")
	require.NotEmpty(t, first)
	for i, r := range reqs[:11] {
		assert.Equal(t, 503, r.Status)
		assert.Equal(t, first, r.Header.Get("X-Idempotency-Key"), "HTTP-layer retry %d keeps the key", i)
		assert.Equal(t, itoa(i), r.Header.Get("x-stainless-retry-count"))
	}
	last := reqs[11]
	assert.Equal(t, 200, last.Status)
	assert.NotEqual(t, first, last.Header.Get("X-Idempotency-Key"), "a resend has a new key")
	assert.Equal(t, "0", last.Header.Get("x-stainless-retry-count"), "and starts counting again")
	assert.Equal(t, reqs[0].Body, last.Body, "the same body (so the same seq_id)")

	delays := e.time.all()
	require.Len(t, delays, 11)
	assert.Equal(t, time.Second, delays[10], "the second layer's first backoff is 1 s")
	calls := e.named(telemetry.CallRetry)
	require.Len(t, calls, 1)
	assert.Equal(t, 1.0, calls[0].Measurements[telemetry.MeasureAttempt])
	assert.Equal(t, 1.0, calls[0].Measurements[telemetry.MeasureDelay])
	assert.Equal(t, 503, calls[0].Metadata[telemetry.KeyStatus])
	assert.Len(t, e.named(telemetry.HTTPRetry), 10, "HTTP-layer retries have their own event")
}

func itoa(i int) string { return strconv.Itoa(i) }

// The second layer backs off min(2^k, 30) s and gives up once 5 minutes
// have passed since the first attempt, its last backoff cut to end there.
func TestSecondLayerBackoffAndBudget(t *testing.T) {
	e := newLayersEnv(t, WithMaxRetries(0))
	start := e.time.clk.Now()
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointClientConfig, Status: 503})
	err := e.send(CallClientConfig)
	require.ErrorIs(t, err, types.ErrServer)

	s := time.Second
	want := []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s, 30 * s, 30 * s, 30 * s, 30 * s, 30 * s, 30 * s, 30 * s, 29 * s}
	assert.Equal(t, want, e.time.all())
	assert.Equal(t, SecondLayerBudget, e.time.clk.Now().Sub(start))
	reqs := e.log()
	require.Len(t, reqs, len(want)+1)
	keys := map[string]bool{}
	for _, r := range reqs {
		keys[r.Header.Get("X-Idempotency-Key")] = true
		assert.Equal(t, "0", r.Header.Get("x-stainless-retry-count"))
	}
	assert.Len(t, keys, len(reqs), "every attempt sequence has its own key")
	var te *types.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, len(reqs), te.Attempts)
}

func TestSecondLayerJitterOnlyShortens(t *testing.T) {
	for k, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second} {
		assert.Equal(t, want, SecondLayerBackoff(k, 0))
		assert.Equal(t, want*3/4, SecondLayerBackoff(k, 1))
	}
}

// Each row of BEHAVIOR's "Retry layers per call" table, against the fake:
// how many requests one persistent failure costs, and how many keys.
func TestRetryLayersPerCall(t *testing.T) {
	cases := []struct {
		name     string
		call     Call
		fault    tinkertest.Fault
		requests int
		keys     int
		kind     error // nil: success
	}{
		{"create: HTTP layer only", CallCreate, tinkertest.Fault{Status: 503, Times: 11}, 11, 1, types.ErrServer},
		{"heartbeat: nothing", CallHeartbeat, tinkertest.Fault{Status: 503, Times: 1}, 1, 1, types.ErrServer},
		{"telemetry: nothing", CallTelemetry, tinkertest.Fault{Status: 503, Times: 1}, 1, 1, types.ErrServer},
		{"save: no HTTP-layer retry, then the second layer", CallSave, tinkertest.Fault{Status: 503, Times: 1}, 2, 2, nil},
		{"save: 409 surfaces at once", CallSave, tinkertest.Fault{Status: 409, Times: 1}, 1, 1, types.ErrConflict},
		{"training submit: bare 400 goes to the second layer", CallTrainingSubmit, tinkertest.Fault{Status: 400, EmptyBody: true, Times: 1}, 2, 2, nil},
		{"training submit: 400 with a body is the user's", CallTrainingSubmit, tinkertest.Fault{Status: 400, Times: 1}, 1, 1, types.ErrUser},
		{"training submit: category user is never resent", CallTrainingSubmit, tinkertest.Fault{Status: 503, Body: `{"detail":"no","category":"user"}`, Times: 1}, 1, 1, types.ErrUser},
		{"training submit: x-should-retry false stops both layers", CallTrainingSubmit, tinkertest.Fault{Status: 503, ShouldRetry: "false", Times: 1}, 1, 1, types.ErrServer},
		{"training submit: 409 retried by the HTTP layer only", CallTrainingSubmit, tinkertest.Fault{Status: 409, Times: 11}, 11, 1, types.ErrConflict},
		{"read: transport reset resent", CallRead, tinkertest.Fault{Reset: true, Times: 11}, 12, 2, nil},
		{"dynamic config: no HTTP-layer retry, second layer", CallDynamicConfig, tinkertest.Fault{Status: 502, Times: 1}, 2, 2, nil},
		{"sample: a 5xx goes to the second layer", CallSample, tinkertest.Fault{Status: 500, Times: 1}, 2, 2, nil},
		{"sample: a reset goes to the second layer", CallSample, tinkertest.Fault{Reset: true, Times: 1}, 2, 2, nil},
		{"sample: a 429 is the sampler's (returned for the shared backoff)", CallSample, tinkertest.Fault{Status: 429, Times: 1}, 1, 1, types.ErrRateLimited},
		{"sample: a user error is never resent", CallSample, tinkertest.Fault{Status: 422, Times: 1}, 1, 1, types.ErrUser},
		{"sample: a bare 400 is resent", CallSample, tinkertest.Fault{Status: 400, EmptyBody: true, Times: 1}, 2, 2, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newLayersEnv(t)
			f := tc.fault
			f.Endpoint = tinkertest.EndpointClientConfig
			e.srv.Inject(f)
			err := e.send(tc.call)
			if tc.kind == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.kind)
			}
			reqs := e.log()
			assert.Len(t, reqs, tc.requests)
			keys := map[string]bool{}
			for _, r := range reqs {
				keys[r.Header.Get("X-Idempotency-Key")] = true
			}
			assert.Len(t, keys, tc.keys)
		})
	}
}

func TestConflictIsAUserError(t *testing.T) {
	e := newLayersEnv(t)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointClientConfig, Status: 409, Times: 1})
	err := e.send(CallSave)
	assert.True(t, types.IsUserError(err))
	assert.False(t, types.IsRetryable(err))
}

func TestTelemetryReadTimeoutIsFiveSeconds(t *testing.T) {
	e := newLayersEnv(t)
	require.NoError(t, e.send(CallTelemetry))
	require.NoError(t, e.send(CallClientConfig))
	reqs := e.log()
	require.Len(t, reqs, 2)
	assert.Equal(t, "5", reqs[0].Header.Get("x-stainless-read-timeout"))
	assert.Equal(t, "60", reqs[1].Header.Get("x-stainless-read-timeout"))
}

// The second layer's backoff ends at once with the caller's context.
func TestSecondLayerHonoursCancellation(t *testing.T) {
	srv := tinkertest.NewServer()
	t.Cleanup(srv.Close)
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	c, err := New(srv.URL(), testKey, WithClock(fc), WithMaxRetries(0))
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointClientConfig, Status: 503})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, &Request{Path: "/api/v1/client/config", Call: CallClientConfig,
			Body: types.ClientConfigRequest{SDKVersion: types.ProtocolVersion}})
		done <- err
	}()
	<-fc.BlockUntil(1)
	cancel()
	err = <-done
	assert.ErrorIs(t, err, types.ErrCanceled)
	assert.Equal(t, 1, srv.CountEndpoint(tinkertest.EndpointClientConfig))
}

// A billing-pause re-send is a retry of its attempt sequence: it counts in
// x-stainless-retry-count and keeps the key.
func TestBillingPauseCountsAsRetry(t *testing.T) {
	e := newLayersEnv(t, WithBillingPause(time.Second, time.Hour))
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointClientConfig, Status: 402, Times: 1})
	require.NoError(t, e.send(CallSave))
	reqs := e.log()
	require.Len(t, reqs, 2)
	assert.Equal(t, "1", reqs[1].Header.Get("x-stainless-retry-count"))
	assert.Equal(t, reqs[0].Header.Get("X-Idempotency-Key"), reqs[1].Header.Get("X-Idempotency-Key"))
	assert.Equal(t, []time.Duration{time.Second}, e.time.all())
}

// Heartbeats and telemetry batches take no billing pause (the SDK pauses
// only execute_with_retries calls, polls and sample submits): their 402 is
// an error at once, with no wait.
func TestHeartbeatAndTelemetryTakeNoBillingPause(t *testing.T) {
	for _, call := range []Call{CallHeartbeat, CallTelemetry} {
		e := newLayersEnv(t, WithBillingPause(time.Second, time.Hour))
		e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointClientConfig, Status: 402, Times: 1})
		require.ErrorIs(t, e.send(call), types.ErrUser, "call %d", call)
		assert.Len(t, e.log(), 1, "call %d: one attempt", call)
		assert.Empty(t, e.time.all(), "call %d: no pause", call)
	}
}

// WithCallRetryBudget(0) turns the second layer off: the call fails once the
// HTTP layer gives up, with no resend and no tinkex.call.retry event; a
// budget of 2 s allows the resends that start within it (1 s, then 1 s cut
// from 2 s) and no more.
func TestCallRetryBudget(t *testing.T) {
	e := newLayersEnv(t, WithMaxRetries(0), WithCallRetryBudget(0))
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointClientConfig, Status: 503, Times: 5})
	err := e.send(CallClientConfig)
	require.ErrorIs(t, err, types.ErrServer)
	assert.Len(t, e.log(), 1, "one attempt, no resend")
	assert.Empty(t, e.named(telemetry.CallRetry))

	e = newLayersEnv(t, WithMaxRetries(0), WithCallRetryBudget(2*time.Second))
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointClientConfig, Status: 503, Times: 5})
	require.ErrorIs(t, e.send(CallClientConfig), types.ErrServer)
	assert.Len(t, e.log(), 3, "the first attempt and two resends within 2 s")
	assert.Equal(t, []time.Duration{time.Second, time.Second}, e.time.all())
}
