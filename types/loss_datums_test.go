package types

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCrossEntropyDatumShiftsAndSetsShape(t *testing.T) {
	d, err := CrossEntropyDatum([]int{10, 11, 12, 13}, []float32{0, 0, 1, 1})
	require.NoError(t, err)
	toks, err := d.ModelInput.ToInts()
	require.NoError(t, err)
	assert.Equal(t, []int{10, 11, 12}, toks)
	assert.Equal(t, Int64Tensor([]int64{11, 12, 13}, 3), d.LossFnInputs["target_tokens"])
	assert.Equal(t, Float32Tensor([]float32{0, 1, 1}, 3), d.LossFnInputs["weights"])
	assert.Len(t, d.LossFnInputs, 2)

	all, err := CrossEntropyDatum([]int{1, 2, 3}, nil)
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 1}, all.LossFnInputs["weights"].Float32s, "nil weights means 1 on every target")
}

func TestPolicyDatumsCarryLogprobsAndAdvantages(t *testing.T) {
	for name, build := range map[string]func([]int, []float32, []float32) (Datum, error){
		"importance_sampling": ImportanceSamplingDatum, "ppo": PPODatum, "cispo": CISPODatum, "dro": DRODatum,
	} {
		d, err := build([]int{5, 6, 7}, []float32{0, -0.5, -1.5}, []float32{0, 2, 2})
		require.NoError(t, err, name)
		assert.Equal(t, []int64{6, 7}, d.LossFnInputs["target_tokens"].Int64s, name)
		assert.Equal(t, Float32Tensor([]float32{-0.5, -1.5}, 2), d.LossFnInputs["logprobs"], name)
		assert.Equal(t, Float32Tensor([]float32{2, 2}, 2), d.LossFnInputs["advantages"], name)
		assert.NotContains(t, d.LossFnInputs, "weights", name)
	}
}

func TestLossDatumsRefuseBadInput(t *testing.T) {
	_, err := CrossEntropyDatum([]int{1}, nil)
	assert.ErrorIs(t, err, ErrValidation)
	assert.Contains(t, err.Error(), "cross_entropy_datum: validation error: need at least 2 tokens")
	_, err = CrossEntropyDatum([]int{1, 2, 3}, []float32{1, 1})
	assert.ErrorIs(t, err, ErrValidation)
	assert.Contains(t, err.Error(), "weights has 2 entries but tokens has 3")
	_, err = PPODatum([]int{1, 2}, []float32{0, 0}, nil)
	assert.ErrorIs(t, err, ErrValidation)
	assert.Contains(t, err.Error(), "advantages has 0 entries")
	_, err = CrossEntropyDatum([]int{1, 2, 3}, []float32{1, -1, 1})
	assert.ErrorIs(t, err, ErrValidation)
	assert.Contains(t, err.Error(), "must not be negative")
	_, err = ImportanceSamplingDatum([]int{1, 2}, []float32{0, float32(math.NaN())}, []float32{0, 1})
	assert.ErrorIs(t, err, ErrValidation)
	_, err = CrossEntropyDatum([]int{1, -2}, nil)
	assert.ErrorIs(t, err, ErrValidation)
}

func TestForwardBackwardOutputAccessors(t *testing.T) {
	out := &ForwardBackwardOutput{
		LossFnOutputs: []LossFnOutput{
			{"logprobs": Float32Tensor([]float32{-1, -2})},
			{"other": Float32Tensor([]float32{3})},
			{"logprobs": SparseFloat32Tensor([]float32{-4}, []int64{0, 1}, []int64{1}, 1, 2)},
		},
		Metrics: map[string]float64{"loss:sum": 3.5},
	}
	loss, ok := out.Loss()
	assert.True(t, ok)
	assert.Equal(t, 3.5, loss)
	lp, ok := out.Logprobs(0)
	assert.True(t, ok)
	assert.Equal(t, []float64{-1, -2}, lp)
	_, ok = out.Logprobs(1)
	assert.False(t, ok)
	_, ok = out.Logprobs(9)
	assert.False(t, ok)
	assert.Equal(t, [][]float64{{-1, -2}, nil, {0, -4}}, out.AllLogprobs())
	v, ok := out.Output(1, "other")
	assert.True(t, ok)
	assert.Equal(t, []float64{3}, v)

	_, ok = (&ForwardBackwardOutput{}).Loss()
	assert.False(t, ok)
	var nilOut *ForwardBackwardOutput
	_, ok = nilOut.Loss()
	assert.False(t, ok)
}
