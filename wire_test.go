package tinkex

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// Every endpoint's headers as the SDK sends them (reference §3.1), checked
// on the fake's request log over a full session: submits, polls, sampling,
// REST, heartbeats and telemetry, up to Close.
func TestWireHeadersPerEndpoint(t *testing.T) {
	e := newEnv(t, nil, WithHeartbeatInterval(10*time.Millisecond))
	ctx := ctxT(t)
	svc := e.service(t, WithTelemetry(true))
	tc := trainer(t, svc)
	_, err := tc.ForwardBackward(ctx, []types.Datum{datum(t, 1, 2, 3)}, types.LossCrossEntropy, nil).Result(ctx)
	require.NoError(t, err)
	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
	saved, err := tc.SaveState(ctx, "ck").Result(ctx)
	require.NoError(t, err)
	_, err = tc.LoadState(ctx, saved.Path).Result(ctx)
	require.NoError(t, err)
	sw, err := tc.SaveWeightsForSampler(ctx, "s").Result(ctx)
	require.NoError(t, err)
	sc, err := svc.CreateSamplingClient(ctx, WithModelPath(sw.Path))
	require.NoError(t, err)
	_, err = sc.Sample(ctx, prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)
	_, err = svc.Rest().ListTrainingRuns(ctx)
	require.NoError(t, err)
	_, err = tc.GetInfo(ctx)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return e.srv.CountEndpoint(tinkertest.EndpointHeartbeat) > 0 }, 10*time.Second, time.Millisecond)
	require.NoError(t, svc.Close(context.Background()))

	reqs := e.srv.Requests(tinkertest.Match{})
	require.NotEmpty(t, reqs)
	firstPoll := map[string]bool{}
	readTimeout := map[string]string{
		tinkertest.EndpointRetrieveFuture: "45", tinkertest.EndpointHeartbeat: "10",
		tinkertest.EndpointDynamicConfig: "10", tinkertest.EndpointTelemetry: "5",
	}
	seen := map[string]bool{}
	for _, r := range reqs {
		seen[r.Endpoint] = true
		h := r.Header
		assert.Equal(t, httpclient.UserAgent, h.Get("User-Agent"), r.Endpoint)
		assert.NotEmpty(t, h.Get("X-Stainless-Retry-Count"), r.Endpoint)
		want := "60"
		if v, ok := readTimeout[r.Endpoint]; ok {
			want = v
		}
		assert.Equal(t, want, h.Get("X-Stainless-Read-Timeout"), r.Endpoint)
		if r.Method == "GET" {
			assert.Empty(t, h.Get("X-Idempotency-Key"), r.Endpoint)
			assert.Empty(t, h.Get("Content-Type"), r.Endpoint)
		} else {
			assert.NotEmpty(t, h.Get("X-Idempotency-Key"), r.Endpoint)
			assert.NotEmpty(t, h.Get("Content-Type"), "%s: the SDK's default Content-Type goes on every request but GET", r.Endpoint)
		}
		if r.Endpoint == tinkertest.EndpointAsample {
			assert.Equal(t, "1", h.Get("X-Tinker-Sampling-Backpressure"))
		} else {
			assert.Empty(t, h.Get("X-Tinker-Sampling-Backpressure"), r.Endpoint)
		}
		if r.Endpoint != tinkertest.EndpointRetrieveFuture {
			assert.Empty(t, h.Get("X-Tinker-Request-Type"), "%s: X-Tinker-Request-Type is for polls only", r.Endpoint)
			assert.Empty(t, h.Get("X-Tinker-Request-Iteration"), r.Endpoint)
			assert.Empty(t, h.Get("X-Tinker-Create-Promise-Roundtrip-Time"), r.Endpoint)
			continue
		}
		assert.Equal(t, r.RequestType, h.Get("X-Tinker-Request-Type"), "poll of %s", r.RequestID)
		assert.Equal(t, "raw", h.Get("X-Stainless-Raw-Response"))
		accept := httpclient.ContentTypeJSON
		if r.RequestType == "Sample" || r.RequestType == "ForwardBackward" {
			accept = httpclient.ContentTypeProtobuf
		}
		assert.Equal(t, accept, h.Get("Accept"), "poll of %s", r.RequestType)
		trip := h.Get("X-Tinker-Create-Promise-Roundtrip-Time")
		if h.Get("X-Tinker-Request-Iteration") == "0" {
			firstPoll[r.RequestType] = true
			_, err := strconv.ParseFloat(trip, 64)
			assert.NoError(t, err, "first poll of %s carries the round trip, got %q", r.RequestType, trip)
		} else {
			assert.Empty(t, trip, "only the first poll carries the round trip")
		}
	}
	for _, rt := range []string{"CreateModel", "ForwardBackward", "OptimStep", "SaveWeights", "LoadWeights", "SaveWeightsForSampler", "Sample"} {
		assert.True(t, firstPoll[rt], "a first poll of %s", rt)
	}
	for _, ep := range []string{tinkertest.EndpointTelemetry, tinkertest.EndpointHeartbeat, tinkertest.EndpointTrainingRuns, tinkertest.EndpointGetInfo} {
		assert.True(t, seen[ep], "%s was exercised", ep)
	}
	fbs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointForwardBackward})
	require.Len(t, fbs, 1)
	assert.Equal(t, httpclient.ContentTypeProtobuf, fbs[0].Header.Get("Content-Type"))

	var events []string
	for _, b := range e.srv.TelemetryBatches() {
		for _, ev := range b.Events {
			events = append(events, ev["event"].(string))
		}
	}
	require.NotEmpty(t, events)
	assert.Equal(t, "SESSION_START", events[0])
	assert.Equal(t, "SESSION_END", events[len(events)-1], "Close sends SESSION_END")
}
