package tinkertest

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// A forward_backward tensor without a shape is refused, as the real server
// refuses it (the SDK always sends one): protobuf and legacy JSON alike.
// Nothing is queued, so the seq_id stays free.
func TestForwardBackwardTensorWithoutShapeIsRefused(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	model := c.model(c.session(), 0)
	noShape := []types.Datum{{ModelInput: types.ModelInputFromInts([]int{1, 2}), LossFnInputs: map[string]types.TensorData{
		"target_tokens": {DType: types.DTypeInt64, Int64s: []int64{2, 3}},
		"weights":       types.Float32Tensor([]float32{1, 1}),
	}}}
	r := c.fwdbwd(model, 1, noShape, nil)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, string(r.body), "shape")

	legacy := map[string]any{"model_id": model, "seq_id": 1, "forward_backward_input": map[string]any{
		"loss_fn": "cross_entropy",
		"data": []any{map[string]any{"model_input": textInput(1, 2), "loss_fn_inputs": map[string]any{
			"target_tokens": map[string]any{"data": []int{2, 3}, "dtype": "int64"},
			"weights":       map[string]any{"data": []float32{1, 1}, "dtype": "float32", "shape": []int{2}},
		}}}}}
	r = c.post(EndpointForwardBackward, legacy)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Contains(t, string(r.body), "shape")

	r = c.fwdbwd(model, 1, ceData(1), nil)
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	c.result(model + ":1")
}

// A training submit whose seq_id was already used with a different body is
// a conflict (409); the same body again is a duplicate answered with the
// first request id, as for every retry layer's resend.
func TestSeqIDReusedWithDifferentBodyIsRefused(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	model := c.model(c.session(), 0)
	first := c.ok(EndpointOptimStep, optimBody(model, 1, 1e-4))
	again := c.ok(EndpointOptimStep, optimBody(model, 1, 1e-4))
	assert.Equal(t, first["request_id"], again["request_id"])
	assert.Equal(t, 1, srv.Duplicates())

	r := c.post(EndpointOptimStep, optimBody(model, 1, 2e-4))
	assert.Equal(t, http.StatusConflict, r.status)
	assert.Contains(t, string(r.body), "already used by a different request")

	r = c.fwdbwd(model, 1, ceData(1), nil)
	assert.Equal(t, http.StatusConflict, r.status, "another endpoint on the same seq_id")
	assert.Equal(t, http.StatusOK, c.fwdbwd(model, 2, ceData(1), nil).status)
	assert.Equal(t, http.StatusOK, c.fwdbwd(model, 2, ceData(1), nil).status, "the same protobuf body again")
	assert.Equal(t, http.StatusConflict, c.fwdbwd(model, 2, ceData(2), nil).status)
	assert.Equal(t, 2, srv.Duplicates())
}

// A seq_id spent by a refusal (409, name taken) answers its failed future
// to the same body, and a conflict to a different one.
func TestRefusedSeqIDIsSpent(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	model := c.model(c.session(), 0)
	save := func(seq int, name string) resp {
		return c.post(EndpointSaveWeights, map[string]any{"model_id": model, "path": name, "seq_id": seq, "overwrite": false, "type": "save_weights"})
	}
	require.Equal(t, http.StatusOK, save(1, "a").status)
	assert.Equal(t, http.StatusConflict, save(2, "a").status, "name taken")
	info, _ := srv.Model(model)
	assert.Equal(t, int64(3), info.NextSeqID, "seq_id 2 is spent: the model does not wait for it")
	r := c.ok(EndpointOptimStep, optimBody(model, 3, 1e-4))
	c.result(r["request_id"].(string))
	assert.Equal(t, http.StatusConflict, save(2, "b").status, "seq_id 2 was used by another body")
}
