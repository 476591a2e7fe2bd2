package types

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ptr[T any](v T) *T { return &v }

// roundTrip marshals v, checks the body against wantJSON (JSONEq) when given,
// decodes it into a fresh T and checks it equals v.
func roundTrip[T any](t *testing.T, v T, wantJSON string) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	if wantJSON != "" {
		assert.JSONEq(t, wantJSON, string(b))
	}
	var got T
	require.NoError(t, json.Unmarshal(b, &got), string(b))
	assert.Equal(t, v, got, string(b))
}

func TestJSONRoundTrips(t *testing.T) {
	ttl := int64(60)
	ssq := int64(4)
	now := Timestamp{time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"ModelInput all chunk kinds", func(t *testing.T) {
			roundTrip(t, ModelInput{Chunks: []Chunk{
				EncodedTextChunk{Tokens: []int{1, 2}},
				ImageChunk{Data: []byte{0xff, 0}, Format: "png", ExpectedTokens: ptr(3)},
				ImageAssetPointerChunk{Location: "s3://x", Format: "jpeg"},
				DmelChunk{Dmel: []byte{1, 1, 2}},
			}}, `{"chunks":[{"type":"encoded_text","tokens":[1,2]},
				{"type":"image","data":"/wA=","format":"png","expected_tokens":3},
				{"type":"image_asset_pointer","location":"s3://x","format":"jpeg"},
				{"type":"dmel","dmel":"AQEC"}]}`)
		}},
		{"Datum", func(t *testing.T) {
			roundTrip(t, Datum{ModelInput: ModelInputFromInts([]int{5}), LossFnInputs: map[string]TensorData{
				"target_tokens": Int64Tensor([]int64{7}),
				"weights":       Float32Tensor([]float32{0.5}, 1),
			}}, `{"model_input":{"chunks":[{"type":"encoded_text","tokens":[5]}]},
				"loss_fn_inputs":{"target_tokens":{"data":[7],"dtype":"int64","shape":[1]},
				"weights":{"data":[0.5],"dtype":"float32","shape":[1]}}}`)
		}},
		{"TensorData sparse", func(t *testing.T) {
			roundTrip(t, SparseFloat32Tensor([]float32{1.5, -2}, []int64{0, 1, 2}, []int64{2, 0}, 2, 3),
				`{"data":[1.5,-2],"dtype":"float32","shape":[2,3],"sparse_crow_indices":[0,1,2],"sparse_col_indices":[2,0]}`)
		}},
		{"TensorData int64 extremes", func(t *testing.T) {
			roundTrip(t, Int64Tensor([]int64{math.MaxInt64, math.MinInt64, 0}), `{"data":[9223372036854775807,-9223372036854775808,0],"dtype":"int64","shape":[3]}`)
		}},
		{"TensorData float32 exact", func(t *testing.T) {
			roundTrip(t, Float32Tensor([]float32{0.1, math.MaxFloat32, math.SmallestNonzeroFloat32}), "")
		}},
		{"AdamParams", func(t *testing.T) { roundTrip(t, DefaultAdamParams(), "") }},
		{"LoraConfig", func(t *testing.T) {
			c := NewLoraConfig(8)
			c.Seed = ptr(int64(1))
			c.TrainMLP = false
			roundTrip(t, c, `{"rank":8,"seed":1,"train_unembed":true,"train_mlp":false,"train_attn":true}`)
		}},
		{"SamplingParams stop tokens", func(t *testing.T) {
			p := DefaultSamplingParams()
			p.Stop = StopTokens(1, 2)
			p.Seed = ptr(int64(9))
			roundTrip(t, p, `{"seed":9,"stop":[1,2],"temperature":1,"top_k":-1,"top_p":1}`)
		}},
		{"SampleRequest", func(t *testing.T) {
			roundTrip(t, SampleRequest{SamplingSessionID: "s:sample:0", SeqID: 1, NumSamples: 3,
				Prompt: ModelInputFromInts([]int{1}), SamplingParams: DefaultSamplingParams(), TopkPromptLogprobs: 2}, "")
		}},
		{"CreateSessionRequest", func(t *testing.T) {
			roundTrip(t, CreateSessionRequest{Tags: []string{"a"}, UserMetadata: map[string]any{"k": "v"}, SDKVersion: ProtocolVersion, ProjectID: "p"},
				`{"tags":["a"],"user_metadata":{"k":"v"},"sdk_version":"0.25.0","project_id":"p","type":"create_session"}`)
		}},
		{"CreateSessionRequest defaults", func(t *testing.T) {
			b, err := json.Marshal(CreateSessionRequest{SDKVersion: ProtocolVersion})
			require.NoError(t, err)
			assert.Equal(t, `{"tags":[],"user_metadata":{},"sdk_version":"0.25.0","type":"create_session"}`, string(b))
		}},
		{"SessionHeartbeatRequest", func(t *testing.T) {
			roundTrip(t, SessionHeartbeatRequest{SessionID: "s"}, `{"session_id":"s","type":"session_heartbeat"}`)
		}},
		{"ClientConfigRequest", func(t *testing.T) {
			roundTrip(t, ClientConfigRequest{SDKVersion: ProtocolVersion}, `{"sdk_version":"0.25.0"}`)
		}},
		{"DynamicConfigRequest", func(t *testing.T) {
			roundTrip(t, DynamicConfigRequest{SDKVersion: ProtocolVersion}, `{"sdk_version":"0.25.0"}`)
		}},
		{"AuthTokenRequest", func(t *testing.T) { roundTrip(t, AuthTokenRequest{}, `{}`) }},
		{"CreateModelRequest", func(t *testing.T) {
			roundTrip(t, CreateModelRequest{SessionID: "s", ModelSeqID: 0, BaseModel: "m", LoraConfig: NewLoraConfig(32)},
				`{"session_id":"s","model_seq_id":0,"base_model":"m","lora_config":{"rank":32,"train_unembed":true,"train_mlp":true,"train_attn":true},"type":"create_model"}`)
		}},
		{"GetInfoRequest", func(t *testing.T) { roundTrip(t, GetInfoRequest{ModelID: "m"}, `{"model_id":"m","type":"get_info"}`) }},
		{"OptimStepRequest", func(t *testing.T) {
			roundTrip(t, OptimStepRequest{AdamParams: DefaultAdamParams(), ModelID: "m", SeqID: 2}, "")
		}},
		{"SaveWeightsRequest", func(t *testing.T) {
			roundTrip(t, SaveWeightsRequest{ModelID: "m", Path: "n", SeqID: 3, TTLSeconds: &ttl},
				`{"model_id":"m","path":"n","seq_id":3,"ttl_seconds":60,"overwrite":false,"type":"save_weights"}`)
		}},
		{"SaveWeightsForSamplerRequest named", func(t *testing.T) {
			roundTrip(t, SaveWeightsForSamplerRequest{ModelID: "m", Path: "n", SeqID: 3},
				`{"model_id":"m","path":"n","seq_id":3,"type":"save_weights_for_sampler"}`)
		}},
		{"SaveWeightsForSamplerRequest unnamed", func(t *testing.T) {
			roundTrip(t, SaveWeightsForSamplerRequest{ModelID: "m", SamplingSessionSeqID: &ssq, SeqID: 3},
				`{"model_id":"m","sampling_session_seq_id":4,"seq_id":3,"type":"save_weights_for_sampler"}`)
		}},
		{"LoadWeightsRequest", func(t *testing.T) {
			roundTrip(t, LoadWeightsRequest{ModelID: "m", SeqID: 1, Path: "tinker://m/weights/a", Optimizer: true},
				`{"model_id":"m","seq_id":1,"path":"tinker://m/weights/a","optimizer":true,"type":"load_weights"}`)
		}},
		{"CreateModelFromWeightsRequest", func(t *testing.T) {
			roundTrip(t, CreateModelFromWeightsRequest{SessionID: "s", ModelSeqID: 2, Path: "p", WeightsAccessToken: "tok"},
				`{"session_id":"s","model_seq_id":2,"path":"p","optimizer":false,"weights_access_token":"tok","type":"load_weights"}`)
		}},
		{"RetrieveFutureRequest", func(t *testing.T) {
			roundTrip(t, RetrieveFutureRequest{RequestID: "r", AllowMetadataOnly: true}, `{"request_id":"r","allow_metadata_only":true}`)
		}},
		{"UnloadModelRequest", func(t *testing.T) {
			roundTrip(t, UnloadModelRequest{ModelID: "m"}, `{"model_id":"m","type":"unload_model"}`)
		}},
		{"WeightsInfoRequest", func(t *testing.T) {
			roundTrip(t, WeightsInfoRequest{TinkerPath: "tinker://a/weights/b"}, `{"tinker_path":"tinker://a/weights/b"}`)
		}},
		{"CreateSamplingSessionRequest", func(t *testing.T) {
			roundTrip(t, CreateSamplingSessionRequest{SessionID: "s", SamplingSessionSeqID: 0, ModelPath: "tinker://a/sampler_weights/b"},
				`{"session_id":"s","sampling_session_seq_id":0,"model_path":"tinker://a/sampler_weights/b","type":"create_sampling_session"}`)
		}},
		{"LegacyForwardBackwardRequest", func(t *testing.T) {
			r := ForwardBackwardRequest{ModelID: "m", SeqID: 1, LossFn: LossCrossEntropy, Data: []Datum{{ModelInput: ModelInputFromInts([]int{1}), LossFnInputs: map[string]TensorData{}}}}
			legacy, ok := r.Legacy().(LegacyForwardBackwardRequest)
			require.True(t, ok)
			roundTrip(t, legacy, `{"forward_backward_input":{"data":[{"model_input":{"chunks":[{"type":"encoded_text","tokens":[1]}]},"loss_fn_inputs":{}}],"loss_fn":"cross_entropy"},"model_id":"m","seq_id":1}`)
			r.ForwardOnly = true
			r.LossFnConfig = map[string]float64{"clip_low_threshold": 0.5}
			fwd, ok := r.Legacy().(LegacyForwardRequest)
			require.True(t, ok)
			roundTrip(t, fwd, `{"forward_input":{"data":[{"model_input":{"chunks":[{"type":"encoded_text","tokens":[1]}]},"loss_fn_inputs":{}}],"loss_fn":"cross_entropy","loss_fn_config":{"clip_low_threshold":0.5}},"model_id":"m","seq_id":1}`)
		}},
		{"SampleResponse", func(t *testing.T) {
			v := SampleResponse{
				Sequences:            []SampledSequence{{StopReason: StopReasonLength, Tokens: []int{1, 2}, Logprobs: []float64{-0.5, -1}}, {StopReason: StopReasonStop, Tokens: []int{3}}},
				Type:                 "sample",
				PromptLogprobs:       NullableFloats{math.NaN(), -2.5},
				TopkPromptLogprobs:   [][]TokenLogprob{nil, {{Token: 4, Logprob: -0.25}}},
				PromptCacheHitTokens: 7,
			}
			b, err := json.Marshal(v)
			require.NoError(t, err)
			assert.JSONEq(t, `{"sequences":[{"stop_reason":"length","tokens":[1,2],"logprobs":[-0.5,-1]},{"stop_reason":"stop","tokens":[3]}],
				"type":"sample","prompt_logprobs":[null,-2.5],"topk_prompt_logprobs":[null,[[4,-0.25]]],"prompt_cache_hit_tokens":7}`, string(b))
			var got SampleResponse
			require.NoError(t, json.Unmarshal(b, &got))
			assert.True(t, math.IsNaN(got.PromptLogprobs[0]))
			_, ok := got.PromptLogprob(0)
			assert.False(t, ok)
			lp, ok := got.PromptLogprob(1)
			assert.True(t, ok)
			assert.Equal(t, -2.5, lp)
			got.PromptLogprobs, v.PromptLogprobs = nil, nil
			assert.Equal(t, v, got)
		}},
		{"ForwardBackwardOutput", func(t *testing.T) {
			roundTrip(t, ForwardBackwardOutput{LossFnOutputType: "ArrayRecord",
				LossFnOutputs: []LossFnOutput{{"logprobs": Float32Tensor([]float32{-1, -2}, 2)}},
				Metrics:       map[string]float64{"loss:sum": 3}}, "")
		}},
		{"responses", func(t *testing.T) {
			roundTrip(t, UntypedAPIFuture{RequestID: "r", ModelID: "m"}, `{"request_id":"r","model_id":"m"}`)
			roundTrip(t, OptimStepResponse{Metrics: map[string]float64{"lr:mean": 1e-4}}, "")
			roundTrip(t, SaveWeightsResponse{Path: "tinker://m/weights/n", Type: "save_weights"}, "")
			roundTrip(t, SaveWeightsForSamplerResponse{SamplingSessionID: "s:sample:1"}, `{"sampling_session_id":"s:sample:1"}`)
			roundTrip(t, LoadWeightsResponse{Path: "p", ModelID: "m"}, "")
			roundTrip(t, CreateModelResponse{ModelID: "s:train:0"}, `{"model_id":"s:train:0"}`)
			roundTrip(t, GetInfoResponse{ModelID: "m", ModelData: ModelData{Arch: "a", TokenizerID: "t:rev"}, IsLoRA: ptr(true), LoRARank: ptr(8)}, "")
			roundTrip(t, WeightsInfoResponse{BaseModel: "b", IsLoRA: true, LoRARank: ptr(4), TrainMLP: ptr(false)}, "")
			roundTrip(t, UnloadModelResponse{ModelID: "m"}, "")
			roundTrip(t, CreateSessionResponse{SessionID: "s", WarningMessage: "w"}, "")
			roundTrip(t, SessionHeartbeatResponse{Type: "session_heartbeat"}, `{"type":"session_heartbeat"}`)
			roundTrip(t, CreateSamplingSessionResponse{SamplingSessionID: "s:sample:0"}, "")
			roundTrip(t, GetSamplerResponse{SamplerID: "x", BaseModel: "b"}, `{"sampler_id":"x","base_model":"b"}`)
			roundTrip(t, ServerCapabilities{SupportedModels: []SupportedModel{{ModelName: "m", MaxContextLength: ptr(4096)}}}, "")
			roundTrip(t, HealthzResponse{Status: "ok"}, `{"status":"ok"}`)
			roundTrip(t, AuthTokenResponse{JWT: "eyJ"}, `{"jwt":"eyJ"}`)
			roundTrip(t, DynamicConfigResponse{RefreshIntervalSec: 60}, `{"refresh_interval_sec":60}`)
			roundTrip(t, DefaultClientConfig(), "")
			roundTrip(t, TryAgainResponse{Type: "try_again", RequestID: "r", QueueState: QueueStatePausedCapacity, QueueStateReason: "busy"}, "")
			roundTrip(t, CompleteMetadataResponse{Status: "complete_metadata", ResponsePayloadSize: 10}, "")
			roundTrip(t, FutureErrorResponse{Error: "boom", Category: CategoryUser}, `{"error":"boom","category":"user"}`)
		}},
		{"REST", func(t *testing.T) {
			ck := Checkpoint{CheckpointID: "weights/a", CheckpointType: CheckpointTraining, Time: now, TinkerPath: "tinker://r/weights/a", SizeBytes: ptr(int64(10)), ExpiresAt: &now}
			roundTrip(t, CheckpointsListResponse{Checkpoints: []Checkpoint{ck}, Cursor: &Cursor{Offset: 1, Limit: 2, TotalCount: 3}}, "")
			roundTrip(t, TrainingRunsResponse{TrainingRuns: []TrainingRun{{TrainingRunID: "r", BaseModel: "b", ModelOwner: "o", IsLoRA: true, LoRARank: ptr(8),
				LastRequestTime: now, LastCheckpoint: &ck, UserMetadata: map[string]string{"a": "b"}}}, Cursor: Cursor{Limit: 20}}, "")
			roundTrip(t, GetSessionResponse{TrainingRunIDs: []string{"s:train:0"}, SamplerIDs: []string{"s:sample:0"}}, `{"training_run_ids":["s:train:0"],"sampler_ids":["s:sample:0"]}`)
			roundTrip(t, ListSessionsResponse{Sessions: []string{"s"}}, `{"sessions":["s"]}`)
			roundTrip(t, AssignSessionProjectRequest{ProjectID: "p"}, `{"project_id":"p"}`)
			roundTrip(t, SetCheckpointTTLRequest{}, `{"ttl_seconds":null}`)
			roundTrip(t, SetCheckpointTTLRequest{TTLSeconds: ptr(int64(5))}, `{"ttl_seconds":5}`)
			roundTrip(t, CheckpointArchiveURLResponse{URL: "https://x", Expires: now}, "")
			roundTrip(t, SessionTraceExportResponse{Status: TraceExportReady, URL: "https://x"}, `{"status":"ready","url":"https://x"}`)
			roundTrip(t, AuditLogResponse{Entries: []AuditLogEntry{{Timestamp: now, Event: "save", TinkerPath: "tinker://a/weights/b"}}}, "")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

// TestGoldenSampleRequest pins the exact bytes of an asample body. The
// expected string is written by hand from reference §3.4 (field order and
// the "type" literal), not produced by the encoder.
func TestGoldenSampleRequest(t *testing.T) {
	p := DefaultSamplingParams()
	p.MaxTokens = ptr(16)
	p.Temperature = 0.7
	p.Stop = StopStrings("\n")
	req := SampleRequest{SamplingSessionID: "sess:sample:0", SeqID: 3, NumSamples: 2,
		Prompt: ModelInputFromInts([]int{1, 2, 3}), SamplingParams: p, PromptLogprobs: true}
	b, err := json.Marshal(req)
	require.NoError(t, err)
	const want = `{"sampling_session_id":"sess:sample:0","seq_id":3,"num_samples":2,` +
		`"prompt":{"chunks":[{"type":"encoded_text","tokens":[1,2,3]}]},` +
		`"sampling_params":{"max_tokens":16,"stop":["\n"],"temperature":0.7,"top_k":-1,"top_p":1.0},` +
		`"prompt_logprobs":true,"topk_prompt_logprobs":0,"type":"sample"}`
	assert.Equal(t, want, string(b))
	// The same body as pydantic writes it (floats with ".0", as tinkex
	// writes the sampling parameters; spaces and chunk key order differ) is
	// the same JSON.
	const pydantic = `{"sampling_session_id": "sess:sample:0", "seq_id": 3, "num_samples": 2, ` +
		`"prompt": {"chunks": [{"tokens": [1, 2, 3], "type": "encoded_text"}]}, ` +
		`"sampling_params": {"max_tokens": 16, "stop": ["\n"], "temperature": 0.7, "top_k": -1, "top_p": 1.0}, ` +
		`"prompt_logprobs": true, "topk_prompt_logprobs": 0, "type": "sample"}`
	assert.JSONEq(t, pydantic, string(b))
}

// TestGoldenOptimStep pins the exact bytes of an optim_step body (reference §3.4), its floats as the
// SDK's json.dumps writes them (§7.1: weight_decay=0.0, grad_clip_norm=0.0).
func TestGoldenOptimStep(t *testing.T) {
	b, err := json.Marshal(OptimStepRequest{AdamParams: DefaultAdamParams(), ModelID: "sess:train:0", SeqID: 2})
	require.NoError(t, err)
	const want = `{"adam_params":{"learning_rate":0.0001,"beta1":0.9,"beta2":0.95,"eps":1e-12,"weight_decay":0.0,"grad_clip_norm":0.0},` +
		`"model_id":"sess:train:0","seq_id":2,"type":"optim_step"}`
	assert.Equal(t, want, string(b))
}

func TestDecodeDefaults(t *testing.T) {
	var cfg ClientConfigResponse
	require.NoError(t, json.Unmarshal([]byte(`{"pjwt_auth_enabled":true,"fwdbwd_max_chunk_len":8,"something_new":1}`), &cfg))
	want := DefaultClientConfig()
	want.PJWTAuthEnabled = true
	want.FwdBwdMaxChunkLen = 8
	assert.Equal(t, want, cfg)
	assert.Equal(t, 1024, DefaultClientConfig().FwdBwdMaxChunkLen)
	assert.Equal(t, 5_000_000, DefaultClientConfig().FwdBwdMaxChunkBytesCount)
	assert.Equal(t, int64(52_428_800), DefaultClientConfig().InflightResponseBytesSemaphoreSize)
	assert.Equal(t, int64(10_485_760), DefaultClientConfig().SampleDispatchBytesSemaphoreSize)
	assert.Equal(t, time.Hour, DefaultClientConfig().BillingPauseWindow())

	var dyn DynamicConfigResponse
	require.NoError(t, json.Unmarshal([]byte(`{}`), &dyn))
	assert.Equal(t, 300*time.Second, dyn.RefreshInterval())
	assert.Equal(t, MinRefreshInterval, DynamicConfigResponse{RefreshIntervalSec: 1}.RefreshInterval())

	var sp SamplingParams
	require.NoError(t, json.Unmarshal([]byte(`{"max_tokens":5}`), &sp))
	want2 := DefaultSamplingParams()
	want2.MaxTokens = ptr(5)
	assert.Equal(t, want2, sp)

	var lc LoraConfig
	require.NoError(t, json.Unmarshal([]byte(`{"rank":4}`), &lc))
	assert.Equal(t, NewLoraConfig(4), lc)

	var ap AdamParams
	require.NoError(t, json.Unmarshal([]byte(`{"learning_rate":0.5}`), &ap))
	wantAP := DefaultAdamParams()
	wantAP.LearningRate = 0.5
	assert.Equal(t, wantAP, ap)

	var sr SampleRequest
	require.NoError(t, json.Unmarshal([]byte(`{"sampling_session_id":"s","seq_id":0,"prompt":{"chunks":[]}}`), &sr))
	assert.Equal(t, 1, sr.NumSamples)
	assert.Equal(t, DefaultSamplingParams(), sr.SamplingParams)

	var stop Stop
	require.NoError(t, json.Unmarshal([]byte(`"END"`), &stop))
	assert.Equal(t, StopStrings("END"), stop)
	assert.ErrorIs(t, json.Unmarshal([]byte(`[1.5]`), &stop), ErrValidation)

	var ts Timestamp
	for _, s := range []string{`"2026-01-02T03:04:05Z"`, `"2026-01-02T03:04:05+00:00"`, `"2026-01-02T03:04:05"`} {
		require.NoError(t, json.Unmarshal([]byte(s), &ts), s)
		assert.True(t, ts.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), s)
	}
	assert.ErrorIs(t, json.Unmarshal([]byte(`"yesterday"`), &ts), ErrValidation)
}

func TestModelInputJSONErrors(t *testing.T) {
	var m ModelInput
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"chunks":[{"type":"video"}]}`), &m), ErrValidation)
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"chunks":[{"tokens":[1]}]}`), &m), ErrValidation)
	_, err := json.Marshal(ModelInput{Chunks: []Chunk{nil}})
	assert.ErrorIs(t, err, ErrValidation)

	var td TensorData
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"data":[1.5],"dtype":"int64"}`), &td), ErrValidation)
	assert.ErrorIs(t, json.Unmarshal([]byte(`{"data":[1],"dtype":"bf16"}`), &td), ErrValidation)
	require.NoError(t, json.Unmarshal([]byte(`{"data":[3.0, 1e2],"dtype":"int64"}`), &td))
	assert.Equal(t, []int64{3, 100}, td.Int64s)
	require.NoError(t, json.Unmarshal([]byte(`{"data":[null, 1],"dtype":"float32"}`), &td))
	assert.True(t, math.IsNaN(float64(td.Float32s[0])))
	b, err := json.Marshal(Float32Tensor([]float32{float32(math.Inf(1))}))
	require.NoError(t, err)
	assert.Equal(t, `{"data":[null],"dtype":"float32","shape":[1]}`, string(b))
}

func TestModelInputHelpers(t *testing.T) {
	m := ModelInputFromInts([]int{1, 2}).AppendInts(3)
	toks, err := m.ToInts()
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3}, toks)
	require.Len(t, m.Chunks, 1)

	m = m.Append(&ImageChunk{Data: []byte{1}, Format: "png", ExpectedTokens: ptr(5)}).AppendInts(9)
	require.Len(t, m.Chunks, 3)
	n, err := m.Length()
	require.NoError(t, err)
	assert.Equal(t, 9, n)
	_, err = m.ToInts()
	assert.ErrorIs(t, err, ErrValidation)

	_, err = ModelInput{Chunks: []Chunk{ImageChunk{Data: []byte{1}, Format: "png"}}}.Length()
	assert.ErrorIs(t, err, ErrValidation)

	// TensorContainer header: marker, dtype 1, ndim 2, dims 300 (varint ac 02) and 4.
	n, err = DmelChunk{Dmel: []byte{0xFE, 1, 2, 0xAC, 0x02, 4}}.Length()
	require.NoError(t, err)
	assert.Equal(t, 300, n)
	n, err = DmelChunk{Dmel: []byte{0, 1, 7}}.Length()
	require.NoError(t, err)
	assert.Equal(t, 7, n)
	for _, bad := range [][]byte{nil, {9, 1, 1}, {1, 0}, {1, 1}, {1, 1, 0x80}} {
		_, err = DmelChunk{Dmel: bad}.Length()
		assert.ErrorIs(t, err, ErrValidation, "%v", bad)
	}
}

func TestNewDatum(t *testing.T) {
	d, err := NewDatum(ModelInputFromInts([]int{1, 2}), map[string]any{
		"target_tokens": []int{2, 3},
		"weights":       []float64{1, 0.5},
		"advantages":    [][]float32{{1, 2}, {3, 4}},
		"custom":        Float32Tensor([]float32{1}),
	})
	require.NoError(t, err)
	assert.Equal(t, Int64Tensor([]int64{2, 3}), d.LossFnInputs["target_tokens"])
	assert.Equal(t, Float32Tensor([]float32{1, 0.5}), d.LossFnInputs["weights"])
	assert.Equal(t, Float32Tensor([]float32{1, 2, 3, 4}, 2, 2), d.LossFnInputs["advantages"])
	assert.Equal(t, Float32Tensor([]float32{1}), d.LossFnInputs["custom"])

	for name, in := range map[string]map[string]any{
		"unknown key":      {"custom": []float64{1}},
		"ragged":           {"weights": [][]float64{{1, 2}, {3}}},
		"fractional token": {"target_tokens": []float64{1.5}},
		"bad type":         {"weights": "x"},
		"bad tensor":       {"weights": Float32Tensor([]float32{1}, 3)},
	} {
		_, err := NewDatum(ModelInputFromInts([]int{1}), in)
		assert.ErrorIs(t, err, ErrValidation, name)
	}
}

func TestTensorDense(t *testing.T) {
	s := SparseInt64Tensor([]int64{5, 6}, []int64{0, 1, 1, 2}, []int64{1, 0}, 3, 2)
	d, err := s.Dense()
	require.NoError(t, err)
	assert.Equal(t, Int64Tensor([]int64{0, 5, 0, 0, 6, 0}, 3, 2), d)
	assert.Equal(t, []float64{5, 6}, s.Float64s())
}

func TestParseTinkerPath(t *testing.T) {
	p, err := ParseTinkerPath("tinker://s:train:0/sampler_weights/step-1")
	require.NoError(t, err)
	assert.Equal(t, TinkerPath{TrainingRunID: "s:train:0", CheckpointID: "sampler_weights/step-1", CheckpointType: CheckpointSampler}, p)
	assert.Equal(t, "tinker://s:train:0/sampler_weights/step-1", p.String())
	for _, bad := range []string{"", "http://a/weights/b", "tinker://a/other/b", "tinker://a/weights/", "tinker:///weights/b", "tinker://a"} {
		_, err := ParseTinkerPath(bad)
		assert.ErrorIs(t, err, ErrValidation, bad)
	}
	assert.Equal(t, "Qwen/Qwen3-8B", ModelData{TokenizerID: "Qwen/Qwen3-8B:rev1"}.Tokenizer())
}
