package tinkex

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// TestForwardBackwardCustomAppliesTheGradient checks the SDK's recipe with
// a loss whose gradient is known by hand: L = sum(lp^2), dL/dlp = 2 lp. The
// linear pass sends weights = -2 lp, so the server's cross-entropy loss of
// it, -sum(w x lp), is sum(2 lp^2) = 2L.
func TestForwardBackwardCustomAppliesTheGradient(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	tc := trainer(t, e.service(t))
	d1, err := types.CrossEntropyDatum([]int{3, 4, 5, 6}, nil)
	require.NoError(t, err)
	d2 := types.Datum{ModelInput: types.ModelInputFromInts([]int{7, 8}), // no weights: zero weights in the forward pass
		LossFnInputs: map[string]types.TensorData{"target_tokens": types.Int64Tensor([]int64{8, 9})}}
	data := []types.Datum{d1, d2}

	want, err := tinkertest.ExpectedForwardBackwardOutput(types.ForwardBackwardRequest{ModelID: tc.ModelID(), SeqID: 1,
		Data: []types.Datum{d1, {ModelInput: d2.ModelInput, LossFnInputs: map[string]types.TensorData{
			"target_tokens": d2.LossFnInputs["target_tokens"], "weights": types.Float32Tensor([]float32{0, 0})}}},
		LossFn: types.LossCrossEntropy, ForwardOnly: true})
	require.NoError(t, err)

	var seen [][]float64
	var loss float64
	out, err := tc.ForwardBackwardCustom(ctx, data, func(got []types.Datum, lps [][]float64) (CustomLoss, error) {
		seen = lps
		grads := make([][]float64, len(lps))
		for i, lp := range lps {
			grads[i] = make([]float64, len(lp))
			for k, v := range lp {
				loss += v * v
				grads[i][k] = 2 * v
			}
		}
		return CustomLoss{Loss: loss, Gradients: grads, Metrics: map[string]float64{"custom:mean": 7}}, nil
	})
	require.NoError(t, err)
	assert.Equal(t, want.AllLogprobs(), seen, "the loss function gets the forward pass's logprobs")
	got, ok := out.Loss()
	require.True(t, ok)
	assert.Equal(t, loss, got, "loss:sum is the custom loss")
	assert.InDelta(t, 2*loss, out.Metrics[MetricLinearLossSum], 1e-4, "weights = -gradient were applied")
	assert.Equal(t, 7.0, out.Metrics["custom:mean"])
	require.Len(t, out.LossFnOutputs, 2)

	var kinds []string
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointRetrieveFuture}) {
		if k := r.Header.Get("X-Tinker-Request-Type"); k == "Forward" || k == "ForwardBackward" {
			if len(kinds) == 0 || kinds[len(kinds)-1] != k {
				kinds = append(kinds, k)
			}
		}
	}
	assert.Equal(t, []string{"Forward", "ForwardBackward"}, kinds)
	assert.Equal(t, 2, e.srv.Count(tinkertest.Match{Endpoint: tinkertest.EndpointForwardBackward}))
}

func TestForwardBackwardCustomRefusesBadInput(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	tc := trainer(t, e.service(t))
	good, err := types.CrossEntropyDatum([]int{1, 2, 3}, nil)
	require.NoError(t, err)
	rl, err := types.PPODatum([]int{1, 2}, []float32{0, -1}, []float32{0, 1})
	require.NoError(t, err)
	ones := func(_ []types.Datum, lps [][]float64) (CustomLoss, error) {
		g := make([][]float64, len(lps))
		for i, lp := range lps {
			g[i] = make([]float64, len(lp))
		}
		return CustomLoss{Gradients: g}, nil
	}
	_, err = tc.ForwardBackwardCustom(ctx, nil, ones)
	assert.ErrorIs(t, err, types.ErrValidation)
	_, err = tc.ForwardBackwardCustom(ctx, []types.Datum{good}, nil)
	assert.ErrorIs(t, err, types.ErrValidation)
	_, err = tc.ForwardBackwardCustom(ctx, []types.Datum{rl}, ones)
	assert.ErrorIs(t, err, types.ErrValidation)
	assert.Contains(t, err.Error(), "only target_tokens and weights")
	assert.Zero(t, e.srv.Count(tinkertest.Match{Endpoint: tinkertest.EndpointForwardBackward}), "nothing sent for bad data")

	_, err = tc.ForwardBackwardCustom(ctx, []types.Datum{good}, func([]types.Datum, [][]float64) (CustomLoss, error) {
		return CustomLoss{Gradients: [][]float64{{1}}}, nil
	})
	assert.ErrorIs(t, err, types.ErrValidation)
	assert.Contains(t, err.Error(), "gradient 0 has 1 values for 2 logprobs")
	_, err = tc.ForwardBackwardCustom(ctx, []types.Datum{good}, func([]types.Datum, [][]float64) (CustomLoss, error) {
		return CustomLoss{Gradients: [][]float64{{1, math.NaN()}}}, nil
	})
	assert.ErrorIs(t, err, types.ErrValidation)
	boom := errors.New("boom")
	_, err = tc.ForwardBackwardCustom(ctx, []types.Datum{good}, func([]types.Datum, [][]float64) (CustomLoss, error) {
		return CustomLoss{}, boom
	})
	assert.ErrorIs(t, err, boom)
	assert.Equal(t, 3, e.srv.Count(tinkertest.Match{Endpoint: tinkertest.EndpointForwardBackward}), "only the forward passes were sent")
}
