package types

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every tensor built from a Go slice carries its shape, 1-D as [len], in
// JSON and in the forward_backward protobuf, as the Python SDK sends it.
func TestTensorsFromSlicesCarryShape(t *testing.T) {
	d, err := NewDatum(ModelInputFromInts([]int{1, 2, 3}), map[string]any{
		"target_tokens": []int{2, 3, 4},
		"weights":       []float32{1, 1, 0},
		"advantages":    [][]float64{{1}, {2}, {3}},
	})
	require.NoError(t, err)
	assert.Equal(t, []int64{3}, d.LossFnInputs["target_tokens"].Shape)
	assert.Equal(t, []int64{3}, d.LossFnInputs["weights"].Shape)
	assert.Equal(t, []int64{3, 1}, d.LossFnInputs["advantages"].Shape)
	assert.Equal(t, []int64{0}, Int64Tensor(nil).Shape)
	assert.Equal(t, []int64{2}, Float32Tensor([]float32{1, 2}).Shape)

	body, err := EncodeForwardBackwardRequest(ForwardBackwardRequest{ModelID: "m", SeqID: 1, LossFn: LossCrossEntropy, Data: []Datum{d}})
	require.NoError(t, err)
	back, err := DecodeForwardBackwardRequest(body)
	require.NoError(t, err)
	assert.Equal(t, []int64{3}, back.Data[0].LossFnInputs["target_tokens"].Shape, "the protobuf carries it")
	assert.Equal(t, []int64{3}, back.Data[0].LossFnInputs["weights"].Shape)
}
