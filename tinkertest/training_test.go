package tinkertest

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/tinkex-go/tinkex/types"
	"github.com/tinkex-go/tinkex/types/tinkerpb"
)

func ceData(n int) []types.Datum {
	var out []types.Datum
	for i := range n {
		out = append(out, types.Datum{ModelInput: types.ModelInputFromInts([]int{i, i + 1}), LossFnInputs: map[string]types.TensorData{
			"target_tokens": types.Int64Tensor([]int64{int64(i + 1), int64(i + 2)}), "weights": types.Float32Tensor([]float32{1, 0.5})}})
	}
	return out
}

func (c *tc) fwdbwd(model string, seq int64, data []types.Datum, hdr map[string]string) resp {
	c.t.Helper()
	b, err := types.EncodeForwardBackwardRequest(types.ForwardBackwardRequest{ModelID: model, SeqID: seq, Data: data, LossFn: "cross_entropy"})
	require.NoError(c.t, err)
	h := map[string]string{"Content-Type": "application/x-protobuf"}
	for k, v := range hdr {
		h[k] = v
	}
	if h["Content-Encoding"] == "zstd" {
		enc, err := zstd.NewWriter(nil)
		require.NoError(c.t, err)
		b = enc.EncodeAll(b, nil)
		require.NoError(c.t, enc.Close())
	}
	return c.do(http.MethodPost, EndpointForwardBackward, b, h)
}

func TestSeqOrderingHoldsUntilGapFills(t *testing.T) {
	srv := newServer(t, WithLongPollHold(0))
	c := client(t, srv, keyA)
	model := c.model(c.session(), 0)

	// Chunk-1-last: seq 3 and 2 arrive before 1.
	r3 := c.ok(EndpointOptimStep, optimBody(model, 3, 3e-4))
	r2 := c.ok(EndpointOptimStep, optimBody(model, 2, 2e-4))
	assert.Equal(t, model+":3", r3["request_id"])
	assert.Equal(t, 2, srv.PendingOps(model))
	p := c.poll(model+":2", false, "application/json").json(t)
	assert.Equal(t, "try_again", p["type"], "held until seq 1 arrives")
	assert.Equal(t, "active", p["queue_state"])

	info, ok := srv.Model(model)
	require.True(t, ok)
	assert.Equal(t, int64(1), info.NextSeqID)
	assert.Equal(t, 2, info.Held)
	r1 := c.ok(EndpointOptimStep, optimBody(model, 1, 1e-4))
	assert.Equal(t, 0, srv.PendingOps(model))
	info, _ = srv.Model(model)
	assert.Equal(t, ModelInfo{ID: model, SessionID: info.SessionID, BaseModel: "meta-llama/Llama-3.2-1B", KeyFingerprint: types.KeyFingerprint(keyA),
		LoraRank: 8, NextSeqID: 4, Steps: 3}, info)
	for i, id := range []any{r1["request_id"], r2["request_id"], r3["request_id"]} {
		m := c.result(id.(string))["metrics"].(map[string]any)
		assert.EqualValues(t, i+1, m["step:max"], "processed in seq order")
		assert.InDelta(t, float64(i+1)*1e-4, m["learning_rate:mean"], 1e-12)
	}
}

func TestChunkedForwardBackwardResultsMatchUnchunked(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	model := c.model(c.session(), 0)
	data := ceData(5)
	// Chunks [0:2] seq 1, [2:5] seq 2; seq 2 first.
	r2 := c.fwdbwd(model, 2, data[2:], nil)
	r1 := c.fwdbwd(model, 1, data[:2], map[string]string{"Content-Encoding": "zstd"})
	require.Equal(t, http.StatusOK, r1.status, "%s", r1.body)
	require.Equal(t, http.StatusOK, r2.status, "%s", r2.body)
	var outs []types.ForwardBackwardOutput
	for _, id := range []string{model + ":1", model + ":2"} {
		res := c.poll(id, false, "application/x-protobuf")
		require.Equal(t, "application/x-protobuf", res.header.Get("Content-Type"))
		o, err := types.DecodeForwardBackwardOutput(res.body)
		require.NoError(t, err)
		outs = append(outs, o)
	}
	whole, err := ExpectedForwardBackwardOutput(types.ForwardBackwardRequest{ModelID: model, SeqID: 1, Data: data, LossFn: "cross_entropy"})
	require.NoError(t, err)
	assert.InDelta(t, whole.Metrics["loss:sum"], outs[0].Metrics["loss:sum"]+outs[1].Metrics["loss:sum"], 1e-9)
	assert.InDelta(t, whole.Metrics["loss:mean"], (2*outs[0].Metrics["loss:mean"]+3*outs[1].Metrics["loss:mean"])/5, 1e-9)
	assert.Equal(t, whole.LossFnOutputs, append(outs[0].LossFnOutputs, outs[1].LossFnOutputs...))
	// The optim step sees the backward passes.
	o := c.ok(EndpointOptimStep, optimBody(model, 3, 1e-4))
	m := c.result(o["request_id"].(string))["metrics"].(map[string]any)
	want := ExpectedOptimStep(1, AdamParams{LearningRate: 1e-4}, abs(outs[0].Metrics["loss:sum"])+abs(outs[1].Metrics["loss:sum"]))
	assert.InDelta(t, want["grad_norm:mean"], m["grad_norm:mean"], 1e-9)
	assert.Greater(t, want["grad_norm:mean"], 0.0)
}

func TestTrainingDedupe(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	model := c.model(c.session(), 0)
	a := c.fwdbwd(model, 1, ceData(1), nil).json(t)
	b := c.fwdbwd(model, 1, ceData(1), nil).json(t)
	assert.Equal(t, a["request_id"], b["request_id"])
	o1 := c.ok(EndpointOptimStep, optimBody(model, 2, 1e-4))
	o2 := c.ok(EndpointOptimStep, optimBody(model, 2, 1e-4))
	assert.Equal(t, o1, o2)
	assert.EqualValues(t, 1, c.result(o1["request_id"].(string))["metrics"].(map[string]any)["step:max"], "the step ran once")
	assert.Equal(t, 2, srv.Duplicates())
	// Creation is deduplicated too.
	sid := srv.Sessions()[0].ID
	again := c.ok(EndpointCreateModel, createModelBody(sid, 0))
	assert.Equal(t, model+":0", again["request_id"])
	assert.Equal(t, 3, srv.Duplicates())
}

func TestForwardBackwardVariants(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	model := c.model(c.session(), 0)
	data := ceData(2)

	// ≤0.24 JSON forward_backward and /forward, JSON results.
	legacy := types.ForwardBackwardRequest{ModelID: model, SeqID: 1, Data: data, LossFn: "cross_entropy"}
	r := c.ok(EndpointForwardBackward, legacy.Legacy())
	res := c.result(r["request_id"].(string))
	want, err := ExpectedForwardBackwardOutput(legacy)
	require.NoError(t, err)
	assert.InDelta(t, want.Metrics["loss:sum"], res["metrics"].(map[string]any)["loss:sum"], 1e-6)
	outs := res["loss_fn_outputs"].([]any)
	require.Len(t, outs, 2)
	assert.Equal(t, "float32", outs[0].(map[string]any)["logprobs"].(map[string]any)["dtype"])

	fwd := types.ForwardBackwardRequest{ModelID: model, SeqID: 2, Data: data, LossFn: "cross_entropy", ForwardOnly: true}
	r = c.ok(EndpointForward, fwd.Legacy())
	c.result(r["request_id"].(string))

	// Sparse CSR target_tokens/weights (2-D) via protobuf.
	sparse := []types.Datum{{ModelInput: types.ModelInputFromInts([]int{1, 2}), LossFnInputs: map[string]types.TensorData{
		"target_tokens": types.SparseInt64Tensor([]int64{5, 6}, []int64{0, 1, 2}, []int64{0, 1}, 2, 2),
		"weights":       types.SparseFloat32Tensor([]float32{1, 1}, []int64{0, 1, 2}, []int64{0, 1}, 2, 2)}}}
	rs := c.fwdbwd(model, 3, sparse, nil)
	require.Equal(t, http.StatusOK, rs.status, "%s", rs.body)
	o, err := types.DecodeForwardBackwardOutput(c.poll(model+":3", false, "application/x-protobuf").body)
	require.NoError(t, err)
	assert.Equal(t, []int64{2, 2}, o.LossFnOutputs[0]["logprobs"].Shape)

	// A semantic error fails the future with category user.
	bad := []types.Datum{{ModelInput: types.ModelInputFromInts([]int{1, 2, 3}), LossFnInputs: map[string]types.TensorData{
		"target_tokens": types.Int64Tensor([]int64{1}), "weights": types.Float32Tensor([]float32{1})}}}
	require.Equal(t, http.StatusOK, c.fwdbwd(model, 4, bad, nil).status)
	fail := c.result(model + ":4")
	assert.Equal(t, "user", fail["category"])
	assert.Contains(t, fail["error"], "target_tokens")
}

func TestMalformedBodies(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	sid := c.session()
	model := c.model(sid, 0)
	pb := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		require.NoError(t, err)
		return b
	}
	good := &tinkerpb.ForwardBackwardRequest{ModelId: model, SeqId: 1, LossFn: "cross_entropy"}
	unknownField := append(pb(good), 0x48, 0x01) // field 9, varint
	int32Target := pb(&tinkerpb.ForwardBackwardRequest{ModelId: model, SeqId: 1, LossFn: "cross_entropy", Data: []*tinkerpb.Datum{{
		LossFnInputs: map[string]*tinkerpb.Tensor{"target_tokens": {Encoding: &tinkerpb.Tensor_Dense{Dense: []byte{1, 0, 0, 0}}, Dtype: tinkerpb.DType_DTYPE_INT32}}}}})
	cases := []struct {
		name string
		body []byte
		hdr  map[string]string
		want int
	}{
		{"garbage protobuf", []byte{0xff, 0xff, 0xff}, map[string]string{"Content-Type": "application/x-protobuf"}, 400},
		{"truncated protobuf", pb(good)[:5], map[string]string{"Content-Type": "application/x-protobuf"}, 400},
		{"unknown proto field", unknownField, map[string]string{"Content-Type": "application/x-protobuf"}, 400},
		{"int32 tensor", int32Target, map[string]string{"Content-Type": "application/x-protobuf"}, 400},
		{"bad zstd", []byte("not zstd"), map[string]string{"Content-Type": "application/x-protobuf", "Content-Encoding": "zstd"}, 400},
		{"gzip", pb(good), map[string]string{"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}, 415},
		{"text/plain", pb(good), map[string]string{"Content-Type": "text/plain"}, 415},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do(http.MethodPost, EndpointForwardBackward, tt.body, tt.hdr)
			assert.Equal(t, tt.want, r.status, "%s", r.body)
			assert.NotEmpty(t, r.json(t)["detail"])
		})
	}
	jsonCases := []struct {
		name, endpoint, body string
	}{
		{"not JSON", EndpointOptimStep, `{"model_id":`},
		{"array", EndpointOptimStep, `[]`},
		{"unknown field", EndpointHeartbeat, `{"session_id":"` + sid + `","type":"session_heartbeat","extra":1}`},
		{"missing field", EndpointHeartbeat, `{"type":"session_heartbeat"}`},
		{"wrong type literal", EndpointHeartbeat, `{"session_id":"` + sid + `","type":"heartbeat"}`},
		{"null field", EndpointHeartbeat, `{"session_id":null,"type":"session_heartbeat"}`},
		{"string seq_id", EndpointOptimStep, mustJSON(t, map[string]any{"adam_params": adam(1e-4), "model_id": model, "seq_id": "1", "type": "optim_step"})},
		{"float seq_id", EndpointOptimStep, mustJSON(t, map[string]any{"adam_params": adam(1e-4), "model_id": model, "seq_id": 1.5, "type": "optim_step"})},
		{"adam missing eps", EndpointOptimStep, mustJSON(t, map[string]any{"adam_params": map[string]any{"learning_rate": 1e-4, "beta1": 0.9, "beta2": 0.95, "weight_decay": 0, "grad_clip_norm": 0}, "model_id": model, "seq_id": 1, "type": "optim_step"})},
		{"lora extra field", EndpointCreateModel, mustJSON(t, map[string]any{"session_id": sid, "model_seq_id": 1, "base_model": "Qwen/Qwen3-8B", "lora_config": map[string]any{"rank": 8, "train_unembed": true, "train_mlp": true, "train_attn": true, "alpha": 16}, "type": "create_model"})},
		{"unknown chunk type", EndpointAsample, mustJSON(t, map[string]any{"sampling_session_id": "x:sample:0", "seq_id": 0, "num_samples": 1, "prompt": map[string]any{"chunks": []any{map[string]any{"type": "video"}}}, "sampling_params": map[string]any{"temperature": 1, "top_k": -1, "top_p": 1}, "prompt_logprobs": false, "topk_prompt_logprobs": 0, "type": "sample"})},
	}
	for _, tt := range jsonCases {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do(http.MethodPost, tt.endpoint, []byte(tt.body), nil)
			assert.Equal(t, http.StatusBadRequest, r.status, "%s", r.body)
			assert.NotEmpty(t, r.json(t)["detail"])
		})
	}
	r := c.do(http.MethodPost, EndpointHeartbeat, []byte(`{}`), map[string]string{"Content-Type": "text/plain"})
	assert.Equal(t, http.StatusUnsupportedMediaType, r.status)
	assert.Equal(t, 0, srv.PendingOps(model), "nothing rejected was queued")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestUnknownModel(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	sid := c.session()
	model := c.model(sid, 0)
	assert.Equal(t, http.StatusNotFound, c.fwdbwd(sid+":train:9", 1, ceData(1), nil).status)
	assert.Equal(t, http.StatusNotFound, client(t, srv, keyB).fwdbwd(model, 1, ceData(1), nil).status, "another key's model")
	assert.Equal(t, http.StatusNotFound, c.post(EndpointCreateModel, createModelBody("no-session", 0)).status)
	assert.Equal(t, http.StatusBadRequest, c.post(EndpointCreateModel, map[string]any{"session_id": sid, "model_seq_id": 3, "base_model": "nope/nope",
		"lora_config": map[string]any{"rank": 8, "train_unembed": true, "train_mlp": true, "train_attn": true}, "type": "create_model"}).status)
}

func TestCheckpointTTL(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := newServer(t, WithNow(clock))
	c := client(t, srv, keyA)
	model := c.model(c.session(), 0)
	save := func(seq int) resp {
		return c.post(EndpointSaveWeights, map[string]any{"model_id": model, "path": "tmp", "seq_id": seq, "ttl_seconds": 60, "overwrite": false, "type": "save_weights"})
	}
	r := save(1)
	require.Equal(t, http.StatusOK, r.status)
	path := c.result(r.json(t)["request_id"].(string))["path"].(string)
	ck := c.get("training_runs/" + model + "/checkpoints").json(t)["checkpoints"].([]any)
	require.Len(t, ck, 1)
	assert.Equal(t, "2026-01-01T00:01:00.000000Z", ck[0].(map[string]any)["expires_at"])
	assert.Equal(t, http.StatusConflict, save(2).status)

	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	assert.Equal(t, http.StatusNotFound, c.post(EndpointWeightsInfo, map[string]any{"tinker_path": path}).status, "expired")
	assert.Empty(t, c.get("training_runs/" + model + "/checkpoints").json(t)["checkpoints"])
	assert.Equal(t, http.StatusOK, save(2).status, "the name is free again")
}
