package types

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDatumPositionShapes(t *testing.T) {
	in := ModelInputFromInts([]int{1, 2, 3})
	ok := Datum{ModelInput: in, LossFnInputs: map[string]TensorData{
		"target_tokens": Int64Tensor([]int64{2, 3, 4}), "weights": Float32Tensor([]float32{1, 1, 0})}}
	assert.NoError(t, ok.Validate())
	assert.NoError(t, Datum{ModelInput: in}.Validate(), "no target_tokens: nothing to compare")

	cases := map[string]Datum{
		"weights shorter": {ModelInput: in, LossFnInputs: map[string]TensorData{
			"target_tokens": Int64Tensor([]int64{2, 3, 4}), "weights": Float32Tensor([]float32{1, 1})}},
		"advantages 2-D": {ModelInput: in, LossFnInputs: map[string]TensorData{
			"target_tokens": Int64Tensor([]int64{2, 3, 4}), "advantages": Float32Tensor([]float32{1, 1, 1}, 3, 1)}},
		"targets longer than input": {ModelInput: in, LossFnInputs: map[string]TensorData{
			"target_tokens": Int64Tensor([]int64{2, 3, 4, 5})}},
	}
	for name, d := range cases {
		assert.ErrorIs(t, d.Validate(), ErrValidation, name)
	}
}
