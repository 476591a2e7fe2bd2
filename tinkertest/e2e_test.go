package tinkertest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// TestEndToEnd walks the startup, training and sampling flow with plain
// net/http, encoding requests with the types package (so the fake's strict
// schema checks the client-side wire types) and decoding protobuf results
// with types' decoders.
func TestEndToEnd(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)

	cfg := c.ok(EndpointClientConfig, types.ClientConfigRequest{SDKVersion: "0.25.0"})
	assert.Equal(t, false, cfg["pjwt_auth_enabled"])
	assert.EqualValues(t, 1024, cfg["fwdbwd_max_chunk_len"])

	sess := c.ok(EndpointCreateSession, types.CreateSessionRequest{Tags: []string{"e2e"}, UserMetadata: map[string]any{"who": "test"}, SDKVersion: "0.25.0"})
	sid := sess["session_id"].(string)
	require.NotEmpty(t, sid)

	hb := c.ok(EndpointHeartbeat, types.SessionHeartbeatRequest{SessionID: sid})
	assert.Equal(t, "session_heartbeat", hb["type"])
	assert.Equal(t, 1, srv.Heartbeats(sid))

	tel := c.ok(EndpointTelemetry, map[string]any{"events": []any{map[string]any{
		"event": "SESSION_START", "event_id": "e1", "event_session_index": 0, "severity": "INFO",
		"timestamp": "2026-11-26T17:00:00.123456Z"}}, "platform": "Linux", "sdk_version": "0.25.0",
		"session_id": sid, "process_uuid": "p1"})
	assert.Equal(t, "accepted", tel["status"])
	require.Len(t, srv.TelemetryBatches(), 1)
	assert.Equal(t, sid, srv.TelemetryBatches()[0].SessionID)

	cm := c.ok(EndpointCreateModel, types.CreateModelRequest{SessionID: sid, ModelSeqID: 0, BaseModel: "Qwen/Qwen3-8B", LoraConfig: types.NewLoraConfig(16)})
	created := c.result(cm["request_id"].(string))
	modelID := created["model_id"].(string)
	assert.Equal(t, sid+":train:0", modelID)

	data := []types.Datum{
		{ModelInput: types.ModelInputFromInts([]int{1, 2, 3}), LossFnInputs: map[string]types.TensorData{
			"target_tokens": types.Int64Tensor([]int64{2, 3, 4}), "weights": types.Float32Tensor([]float32{0, 1, 1})}},
		{ModelInput: types.ModelInputFromInts([]int{7, 8}), LossFnInputs: map[string]types.TensorData{
			"target_tokens": types.Int64Tensor([]int64{8, 9}), "weights": types.Float32Tensor([]float32{1, 1})}},
	}
	body, err := types.EncodeForwardBackwardRequest(types.ForwardBackwardRequest{ModelID: modelID, SeqID: 1, Data: data, LossFn: "cross_entropy"})
	require.NoError(t, err)
	fb := c.do(http.MethodPost, EndpointForwardBackward, body, map[string]string{"Content-Type": "application/x-protobuf"})
	require.Equal(t, http.StatusOK, fb.status, "%s", fb.body)
	fbID := fb.json(t)["request_id"].(string)

	opt := c.ok(EndpointOptimStep, types.OptimStepRequest{AdamParams: types.DefaultAdamParams(), ModelID: modelID, SeqID: 2})

	fbRes := c.poll(fbID, false, "application/x-protobuf")
	require.Equal(t, http.StatusOK, fbRes.status, "%s", fbRes.body)
	require.Equal(t, "application/x-protobuf", fbRes.header.Get("Content-Type"))
	out, err := types.DecodeForwardBackwardOutput(fbRes.body)
	require.NoError(t, err)
	want, err := ExpectedForwardBackwardOutput(types.ForwardBackwardRequest{ModelID: modelID, SeqID: 1, Data: data, LossFn: "cross_entropy"})
	require.NoError(t, err)
	assert.Equal(t, want, out)
	require.Len(t, out.LossFnOutputs, 2)
	assert.Equal(t, []int64{3}, out.LossFnOutputs[0]["logprobs"].Shape)
	assert.InDelta(t, -float64(out.LossFnOutputs[0]["logprobs"].Float32s[1])-float64(out.LossFnOutputs[0]["logprobs"].Float32s[2])-
		float64(out.LossFnOutputs[1]["logprobs"].Float32s[0])-float64(out.LossFnOutputs[1]["logprobs"].Float32s[1]), out.Metrics["loss:sum"], 1e-5)

	optRes := c.result(opt["request_id"].(string))
	metrics := optRes["metrics"].(map[string]any)
	assert.EqualValues(t, 1, metrics["step:max"])
	assert.InDelta(t, types.DefaultAdamParams().LearningRate, metrics["learning_rate:mean"], 1e-12)

	sv := c.ok(EndpointSaveWeightsForSampler, types.SaveWeightsForSamplerRequest{ModelID: modelID, Path: "step1", SeqID: 3})
	saved := c.result(sv["request_id"].(string))
	path := saved["path"].(string)
	assert.Equal(t, "tinker://"+modelID+"/sampler_weights/step1", path)

	ss := c.ok(EndpointCreateSamplingSession, types.CreateSamplingSessionRequest{SessionID: sid, SamplingSessionSeqID: 0, ModelPath: path})
	samplerID := ss["sampling_session_id"].(string)
	assert.Equal(t, sid+":sample:0", samplerID)

	maxTok := 5
	sreq := types.SampleRequest{SamplingSessionID: samplerID, SeqID: 0, NumSamples: 2, Prompt: types.ModelInputFromInts([]int{5, 6, 7}),
		SamplingParams: types.DefaultSamplingParams(), PromptLogprobs: true}
	sreq.SamplingParams.MaxTokens = &maxTok
	as := c.ok(EndpointAsample, sreq)
	sampleID := as["request_id"].(string)
	assert.Equal(t, samplerID+":0", sampleID)

	sr := c.poll(sampleID, true, "application/x-protobuf")
	require.Equal(t, http.StatusOK, sr.status, "%s", sr.body)
	require.Equal(t, "application/x-protobuf", sr.header.Get("Content-Type"))
	got, err := types.DecodeSampleResponse(sr.body)
	require.NoError(t, err)
	wantS, err := ExpectedSampleResponse(sreq)
	require.NoError(t, err)
	assert.Equal(t, wantS.Sequences, got.Sequences)
	require.Len(t, got.PromptLogprobs, 3)
	for i := range 3 {
		w, wok := wantS.PromptLogprob(i)
		g, gok := got.PromptLogprob(i)
		assert.Equal(t, wok, gok)
		assert.Equal(t, w, g)
	}
	require.Len(t, got.Sequences, 2)
	assert.Len(t, got.Sequences[0].Tokens, 5)
	assert.Equal(t, types.StopReasonLength, got.Sequences[0].StopReason)
	_, has := got.PromptLogprob(0)
	assert.False(t, has, "first prompt logprob is missing")

	// The whole flow is in the log, in order, under the key's fingerprint.
	var eps []string
	for _, e := range srv.Requests(Match{Key: keyA}) {
		eps = append(eps, e.Endpoint)
		assert.Equal(t, types.KeyFingerprint(keyA), e.Header.Get("X-API-Key"))
	}
	assert.Equal(t, []string{EndpointClientConfig, EndpointCreateSession, EndpointHeartbeat, EndpointTelemetry,
		EndpointCreateModel, EndpointRetrieveFuture, EndpointForwardBackward, EndpointOptimStep, EndpointRetrieveFuture,
		EndpointRetrieveFuture, EndpointSaveWeightsForSampler, EndpointRetrieveFuture, EndpointCreateSamplingSession,
		EndpointAsample, EndpointRetrieveFuture}, eps)
	raw, _ := json.Marshal(srv.Requests(Match{}))
	assert.NotContains(t, string(raw), keyA, "the log never holds the key")
}
