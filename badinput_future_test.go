package tinkex

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// TestBadInputFailsFuturesAtOnce: training and sampling calls that return
// a Future follow the same rule: bad input completes the future before the
// call returns, with a KindValidation error, and nothing is sent.
func TestBadInputFailsFuturesAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
	require.NoError(t, err)
	sc, err := svc.CreateSamplingClient(ctx, WithBaseModel("meta-llama/Llama-3.2-1B"))
	require.NoError(t, err)

	bad := types.DefaultSamplingParams()
	bad.TopP = 2
	futures := map[string]Awaitable{
		"forward_backward": tc.ForwardBackward(ctx, nil, types.LossCrossEntropy),
		"forward":          tc.Forward(ctx, []types.Datum{datum(t, 1)}, "nope"),
		"optim_step":       tc.OptimStep(ctx, types.AdamParams{LearningRate: -1}),
		"sample_async":     sc.SampleAsync(ctx, types.ModelInputFromInts([]int{1}), 1, bad),
		"logprobs_async":   sc.ComputeLogprobsAsync(ctx, types.ModelInput{}),
	}
	for name, f := range futures {
		select {
		case <-f.Done():
		default:
			t.Fatalf("%s: the future is not complete on return", name)
		}
		assert.ErrorIs(t, f.Err(), types.ErrValidation, name)
	}
	assert.Empty(t, e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointForwardBackward}))
	assert.Empty(t, e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep}))
	assert.Empty(t, e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAsample}))
}
