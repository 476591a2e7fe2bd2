package types

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDatumRefusesPoisonousValues(t *testing.T) {
	in := ModelInputFromInts([]int{1, 2, 3})
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	mk := func(targets []int64, weights []float32, extra map[string]TensorData) Datum {
		m := map[string]TensorData{"target_tokens": Int64Tensor(targets), "weights": Float32Tensor(weights)}
		for k, v := range extra {
			m[k] = v
		}
		return Datum{ModelInput: in, LossFnInputs: m}
	}
	ok := []int64{2, 3, 4}
	one := []float32{1, 1, 1}
	require.NoError(t, mk(ok, []float32{0, 0.5, 1}, nil).Validate())
	require.NoError(t, mk(ok, one, map[string]TensorData{"advantages": Float32Tensor([]float32{-1, 0, 2})}).Validate(),
		"negative advantages are fine")

	for _, tc := range []struct {
		name string
		d    Datum
		want string
	}{
		{"NaN weight", mk(ok, []float32{1, 1, nan}, nil), `loss_fn_inputs["weights"][2] is NaN`},
		{"Inf weight", mk(ok, []float32{inf, 1, 1}, nil), `loss_fn_inputs["weights"][0] is +Inf; weights must be finite`},
		{"negative weight", mk(ok, []float32{1, -0.5, 1}, nil), `loss_fn_inputs["weights"][1] is -0.5; weights must not be negative`},
		{"negative target", mk([]int64{2, -1, 4}, one, nil), `loss_fn_inputs["target_tokens"][1] is -1; target_tokens must not be negative`},
		{"NaN advantage", mk(ok, one, map[string]TensorData{"advantages": Float32Tensor([]float32{0, nan, 0})}), `loss_fn_inputs["advantages"][1] is NaN`},
		{"Inf logprob", mk(ok, one, map[string]TensorData{"logprobs": Float32Tensor([]float32{float32(math.Inf(-1)), 0, 0})}), `loss_fn_inputs["logprobs"][0] is -Inf`},
		{"NaN in any float input", mk(ok, one, map[string]TensorData{"clip_low_threshold": Float32Tensor([]float32{nan, 0, 0})}), `loss_fn_inputs["clip_low_threshold"][0] is NaN`},
		{"sparse NaN weight", Datum{ModelInput: ModelInputFromInts([]int{1}), LossFnInputs: map[string]TensorData{
			"weights": SparseFloat32Tensor([]float32{nan}, []int64{0, 1}, []int64{0}, 1, 1)}}, `loss_fn_inputs["weights"] stored value 0 is NaN`},
	} {
		err := tc.d.Validate()
		if assert.ErrorIs(t, err, ErrValidation, tc.name) {
			assert.Contains(t, err.Error(), tc.want, tc.name)
		}
	}
}
