package tinkex

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

func datum(t *testing.T, tokens ...int) types.Datum {
	t.Helper()
	targets := make([]int64, len(tokens))
	weights := make([]float32, len(tokens))
	for i, tok := range tokens {
		targets[i] = int64(tok + 1)
		weights[i] = 1
	}
	d, err := types.NewDatum(types.ModelInputFromInts(tokens), map[string]any{"target_tokens": targets, "weights": weights})
	require.NoError(t, err)
	return d
}

// The full loop of a cookbook user: create → forward_backward (2 chunks) →
// optim_step → save_weights_for_sampler → sampling client → sample, with
// the exact request sequence and seq_ids checked in the server's log.
func TestFullTrainingLoop(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithClientConfig(map[string]any{"fwdbwd_max_chunk_len": 2})})
	ctx := ctxT(t)
	svc := e.service(t)
	require.NotEmpty(t, svc.SessionID())

	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B", WithRank(8))
	require.NoError(t, err)
	assert.Equal(t, svc.SessionID()+":train:0", tc.ModelID())

	data := []types.Datum{datum(t, 1, 2, 3), datum(t, 4, 5), datum(t, 6, 7, 8, 9)}
	fb := tc.ForwardBackward(ctx, data, types.LossCrossEntropy)
	opt := tc.OptimStep(ctx, types.DefaultAdamParams())
	fbOut, err := fb.Result(ctx)
	require.NoError(t, err)
	optOut, err := opt.Result(ctx)
	require.NoError(t, err)
	require.Len(t, fbOut.LossFnOutputs, 3)
	assert.Contains(t, fbOut.Metrics, "loss:sum")
	assert.NotNil(t, optOut)

	// The merged result equals the fake model's answer for each chunk, combined.
	c1, err := tinkertest.ExpectedForwardBackwardOutput(types.ForwardBackwardRequest{ModelID: tc.ModelID(), SeqID: 1, Data: data[:2], LossFn: types.LossCrossEntropy})
	require.NoError(t, err)
	c2, err := tinkertest.ExpectedForwardBackwardOutput(types.ForwardBackwardRequest{ModelID: tc.ModelID(), SeqID: 2, Data: data[2:], LossFn: types.LossCrossEntropy})
	require.NoError(t, err)
	assert.InDelta(t, c1.Metrics["loss:sum"]+c2.Metrics["loss:sum"], fbOut.Metrics["loss:sum"], 1e-9)
	assert.Equal(t, c1.LossFnOutputs[0], fbOut.LossFnOutputs[0])
	assert.Equal(t, c2.LossFnOutputs[0], fbOut.LossFnOutputs[2])

	saved, err := tc.SaveWeightsForSampler(ctx, "step1").Result(ctx)
	require.NoError(t, err)
	assert.Equal(t, "tinker://"+tc.ModelID()+"/sampler_weights/step1", saved.Path)

	sc, err := svc.CreateSamplingClient(ctx, WithModelPath(saved.Path))
	require.NoError(t, err)
	max := 5
	params := types.DefaultSamplingParams()
	params.MaxTokens = &max
	seed := int64(7)
	params.Seed = &seed
	prompt := types.ModelInputFromInts([]int{10, 11, 12})
	res, err := sc.Sample(ctx, prompt, 2, params)
	require.NoError(t, err)
	want, err := tinkertest.ExpectedSampleResponse(types.SampleRequest{SamplingSessionID: sc.SamplerID(), SeqID: 0,
		NumSamples: 2, Prompt: prompt, SamplingParams: params})
	require.NoError(t, err)
	assert.Equal(t, want.Sequences, res.Sequences)

	// The wire sequence, from the server's log.
	fbs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointForwardBackward})
	require.Len(t, fbs, 2)
	assert.Equal(t, int64(2), fbs[0].SeqID, "chunk 2 is submitted first")
	assert.Equal(t, int64(1), fbs[1].SeqID, "chunk 1 is submitted last")
	seqOf := func(ep string) []int64 {
		var out []int64
		for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: ep}) {
			out = append(out, r.SeqID)
		}
		return out
	}
	assert.Equal(t, []int64{3}, seqOf(tinkertest.EndpointOptimStep))
	assert.Equal(t, []int64{4}, seqOf(tinkertest.EndpointSaveWeightsForSampler))
	assert.Equal(t, []int64{0}, seqOf(tinkertest.EndpointCreateModel))
	assert.Equal(t, []int64{0}, seqOf(tinkertest.EndpointCreateSamplingSession))
	assert.Equal(t, []int64{0}, seqOf(tinkertest.EndpointAsample))

	var order []string
	for _, r := range e.srv.Requests(tinkertest.Match{}) {
		switch r.Endpoint {
		case tinkertest.EndpointRetrieveFuture, tinkertest.EndpointHeartbeat, tinkertest.EndpointTelemetry:
			continue
		}
		order = append(order, r.Endpoint)
	}
	assert.Equal(t, []string{
		tinkertest.EndpointClientConfig, tinkertest.EndpointDynamicConfig, tinkertest.EndpointCreateSession,
		tinkertest.EndpointCreateModel,
		tinkertest.EndpointForwardBackward, tinkertest.EndpointForwardBackward, tinkertest.EndpointOptimStep,
		tinkertest.EndpointSaveWeightsForSampler, tinkertest.EndpointCreateSamplingSession, tinkertest.EndpointAsample,
	}, order)
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAsample}) {
		assert.Equal(t, "1", r.Header.Get("X-Tinker-Sampling-Backpressure"))
	}
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointRetrieveFuture}) {
		assert.NotEmpty(t, r.Header.Get("X-Tinker-Request-Type"))
		assert.NotEmpty(t, r.Header.Get("X-Tinker-Request-Iteration"))
	}
}
