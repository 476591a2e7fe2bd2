package bench

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// The two stacks of BenchmarkSample and BenchmarkTrainingStep do the same
// work: the same sample and training step give the same decoded results,
// equal to the fake model's answer, and each took exactly the calls the
// wire requires (one submit and one poll per future: zero service time
// means the first poll finds the result).
func TestStacksAgree(t *testing.T) {
	srv := newServer(t)
	rt := newRuntime(t)
	svc := newService(t, rt, srv, keyA)
	sc := newSampler(t, svc)
	tc := newTrainingClient(t, svc)
	raw, sid, smp := newRaw(t, srv, keyA)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	polls := func() int { return srv.CountEndpoint(tinkertest.EndpointRetrieveFuture) }
	before := polls()
	got, err := tinkexSample(sc)(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, polls()-before, "tinkex: one poll per sample")
	want, err := tinkertest.ExpectedSampleResponse(types.SampleRequest{SamplingSessionID: sc.SamplerID(), SeqID: 0,
		NumSamples: 1, Prompt: samplePrompt, SamplingParams: sampleParams})
	require.NoError(t, err)
	assert.Equal(t, want.Sequences, got.Sequences)

	before = polls()
	rawGot, err := rawSample(raw, smp)(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, polls()-before, "raw: one poll per sample")
	rawWant, err := tinkertest.ExpectedSampleResponse(rawSampleRequest(smp, 0))
	require.NoError(t, err)
	assert.Equal(t, rawWant.Sequences, rawGot.Sequences)
	assert.Len(t, rawGot.Sequences[0].Tokens, *sampleParams.MaxTokens)

	bodies := map[string]map[string]any{}
	for _, r := range srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAsample}) {
		m, ok := r.Body.(map[string]any)
		require.True(t, ok, "%T", r.Body)
		bodies[r.SamplerID] = m
	}
	require.Len(t, bodies, 2)
	tb, rb := bodies[sc.SamplerID()], bodies[smp]
	require.NotNil(t, tb)
	require.NotNil(t, rb)
	delete(tb, "sampling_session_id")
	delete(rb, "sampling_session_id")
	assert.Equal(t, tb, rb, "the same asample body, but for the sampler")

	data := trainingBatch(t)
	modelID, err := raw.modelSeq(ctx, sid, baseModel, 0)
	require.NoError(t, err)
	require.NoError(t, tinkexStep(ctx, tc, data))
	fb, opt, err := raw.trainingStep(ctx, modelID, 1, data, types.DefaultAdamParams())
	require.NoError(t, err)
	fbWant, err := tinkertest.ExpectedForwardBackwardOutput(types.ForwardBackwardRequest{ModelID: modelID, SeqID: 1,
		Data: data, LossFn: types.LossCrossEntropy})
	require.NoError(t, err)
	assert.Equal(t, fbWant, fb)
	assert.NotEmpty(t, opt.Metrics)
	for _, ep := range []string{tinkertest.EndpointForwardBackward, tinkertest.EndpointOptimStep} {
		assert.Equal(t, 2, srv.CountEndpoint(ep), ep)
	}
}

// TestRawSDKSendsTinkexHeaders: the rawsdk stack's asample and
// retrieve_future carry exactly the header names tinkex's carry, with the
// same values but for those made per request, and its sample gives the
// fake model's answer. rawhttp's carry only what a server needs.
func TestRawSDKSendsTinkexHeaders(t *testing.T) {
	srv := newServer(t)
	sc := newSampler(t, newService(t, newRuntime(t), srv, keyA))
	raw, _, smp := newRawSDKAt(t, srv.URL(), keyA)
	plain, _, plainSmp := newRaw(t, srv, keyA)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	_, err := tinkexSample(sc)(ctx)
	require.NoError(t, err)
	got, err := rawSample(raw, smp)(ctx)
	require.NoError(t, err)
	want, err := tinkertest.ExpectedSampleResponse(rawSampleRequest(smp, 0))
	require.NoError(t, err)
	assert.Equal(t, want.Sequences, got.Sequences)
	_, err = rawSample(plain, plainSmp)(ctx)
	require.NoError(t, err)

	for _, ep := range []string{tinkertest.EndpointAsample, tinkertest.EndpointRetrieveFuture} {
		by := map[string]http.Header{}
		for _, r := range srv.Requests(tinkertest.Match{Endpoint: ep}) {
			by[r.SamplerID] = r.Header
		}
		tk, rs, rp := by[sc.SamplerID()], by[smp], by[plainSmp]
		require.NotNil(t, tk, ep)
		require.NotNil(t, rs, ep)
		require.NotNil(t, rp, ep)
		assert.ElementsMatch(t, slices.Collect(maps.Keys(tk)), slices.Collect(maps.Keys(rs)), "%s: rawsdk sends tinkex's header names", ep)
		for k, v := range tk {
			if containsFold(perRequestHeaders, k) {
				assert.NotEmpty(t, rs.Get(k), "%s: %s", ep, k)
				continue
			}
			assert.Equal(t, v, rs[k], "%s: %s", ep, k)
		}
		assert.Equal(t, tk.Get("X-Api-Key"), rs.Get("X-Api-Key"), "%s: the same key (by fingerprint)", ep)
		assert.NotEqual(t, tk.Get("X-Idempotency-Key"), rs.Get("X-Idempotency-Key"), "%s: a fresh idempotency key", ep)
		assert.Equal(t, tk.Get("X-Tinker-Request-Iteration"), rs.Get("X-Tinker-Request-Iteration"), "%s: the first poll", ep)
		assert.Less(t, len(rp), len(tk)-10, "%s: rawhttp sends only what a server needs: %v", ep, rp)
	}
}
