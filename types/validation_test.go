package types

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func validSample() SampleRequest {
	return SampleRequest{SamplingSessionID: "s:sample:0", NumSamples: 1, Prompt: ModelInputFromInts([]int{1, 2}), SamplingParams: DefaultSamplingParams()}
}

func validFwdBwd() ForwardBackwardRequest {
	d, _ := NewDatum(ModelInputFromInts([]int{1, 2}), map[string]any{"target_tokens": []int{2, 3}, "weights": []float32{1, 1}})
	return ForwardBackwardRequest{ModelID: "m", SeqID: 1, LossFn: LossCrossEntropy, Data: []Datum{d}}
}

func TestValidation(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		wantMsg string // substring of the message; "" means the value is valid
	}{
		{"sample ok", validSample().Validate(), ""},
		{"sample max tokens 1 ok", func() error { r := validSample(); r.SamplingParams.MaxTokens = ptr(1); return r.Validate() }(), ""},
		{"sample max tokens 0", func() error { r := validSample(); r.SamplingParams.MaxTokens = ptr(0); return r.Validate() }(), "max_tokens must be at least 1"},
		{"sample nil prompt", func() error { r := validSample(); r.Prompt = ModelInput{}; return r.Validate() }(), "model input is empty"},
		{"sample empty text", func() error { r := validSample(); r.Prompt = ModelInputFromInts(nil); return r.Validate() }(), "has no tokens"},
		{"sample image without length", func() error {
			r := validSample()
			r.Prompt = ModelInput{Chunks: []Chunk{ImageChunk{Data: []byte{1}, Format: "png"}}}
			return r.Validate()
		}(), "no expected_tokens"},
		{"sample no address", func() error { r := validSample(); r.SamplingSessionID = ""; return r.Validate() }(), "no sampling_session_id"},
		{"num_samples 0", func() error { r := validSample(); r.NumSamples = 0; return r.Validate() }(), "num_samples must be in [1, 1024]"},
		{"num_samples too many", func() error { r := validSample(); r.NumSamples = MaxNumSamples + 1; return r.Validate() }(), "num_samples"},
		{"negative max_tokens", func() error { r := validSample(); r.SamplingParams.MaxTokens = ptr(-1); return r.Validate() }(), "max_tokens must not be negative"},
		{"negative temperature", func() error { r := validSample(); r.SamplingParams.Temperature = -0.1; return r.Validate() }(), "temperature"},
		{"NaN temperature", func() error { r := validSample(); r.SamplingParams.Temperature = math.NaN(); return r.Validate() }(), "temperature"},
		{"top_p 0", func() error { r := validSample(); r.SamplingParams.TopP = 0; return r.Validate() }(), "top_p must be in (0, 1]"},
		{"top_p above 1", func() error { r := validSample(); r.SamplingParams.TopP = 1.01; return r.Validate() }(), "top_p"},
		{"top_k -2", func() error { r := validSample(); r.SamplingParams.TopK = -2; return r.Validate() }(), "top_k"},
		{"zero-value params", func() error { r := validSample(); r.SamplingParams = SamplingParams{}; return r.Validate() }(), "top_p"},
		{"invalid utf8 stop", func() error {
			r := validSample()
			r.SamplingParams.Stop = StopStrings("ok", "\xff\xfe")
			return r.Validate()
		}(), "not valid UTF-8"},
		{"empty stop string", func() error { r := validSample(); r.SamplingParams.Stop = StopStrings(""); return r.Validate() }(), "is empty"},
		{"both stops", func() error {
			r := validSample()
			r.SamplingParams.Stop = Stop{Strings: []string{"a"}, Tokens: []int{1}}
			return r.Validate()
		}(), "both"},
		{"negative stop token", func() error { r := validSample(); r.SamplingParams.Stop = StopTokens(-1); return r.Validate() }(), "stop token"},
		{"negative topk logprobs", func() error { r := validSample(); r.TopkPromptLogprobs = -1; return r.Validate() }(), "topk_prompt_logprobs"},
		{"bad prompt token", func() error { r := validSample(); r.Prompt = ModelInputFromInts([]int{-5}); return r.Validate() }(), "not a valid token id"},

		{"fwdbwd ok", validFwdBwd().Validate(), ""},
		{"fwdbwd no data", func() error { r := validFwdBwd(); r.Data = nil; return r.Validate() }(), "no data provided"},
		{"fwdbwd unknown loss", func() error { r := validFwdBwd(); r.LossFn = "mse"; return r.Validate() }(), "unknown loss function \"mse\""},
		{"fwdbwd ragged tensor", func() error {
			r := validFwdBwd()
			r.Data[0].LossFnInputs["weights"] = Float32Tensor([]float32{1, 2, 3}, 2, 2)
			return r.Validate()
		}(), "shape [2 2] holds 4 elements but data has 3"},
		{"fwdbwd csr crow count", func() error {
			r := validFwdBwd()
			r.Data[0].LossFnInputs["weights"] = SparseFloat32Tensor([]float32{1}, []int64{0, 1}, []int64{0}, 2, 2)
			return r.Validate()
		}(), "crow indices"},
		{"fwdbwd csr col range", func() error {
			r := validFwdBwd()
			r.Data[0].LossFnInputs["weights"] = SparseFloat32Tensor([]float32{1}, []int64{0, 1}, []int64{5}, 1, 2)
			return r.Validate()
		}(), "outside [0, 2)"},
		{"fwdbwd csr decreasing", func() error {
			r := validFwdBwd()
			r.Data[0].LossFnInputs["weights"] = SparseFloat32Tensor([]float32{1}, []int64{0, 2, 1}, []int64{0}, 2, 2)
			return r.Validate()
		}(), "decrease"},
		{"fwdbwd csr 1-D", func() error {
			r := validFwdBwd()
			r.Data[0].LossFnInputs["weights"] = TensorData{DType: DTypeFloat32, Float32s: []float32{1}, Shape: []int64{4}, SparseCrowIndices: []int64{0, 1}, SparseColIndices: []int64{0}}
			return r.Validate()
		}(), "2-D shape"},
		{"fwdbwd half csr", func() error {
			r := validFwdBwd()
			r.Data[0].LossFnInputs["weights"] = TensorData{DType: DTypeFloat32, Float32s: []float32{1}, SparseCrowIndices: []int64{0, 1}}
			return r.Validate()
		}(), "both crow and col"},
		{"fwdbwd mixed storage", func() error {
			r := validFwdBwd()
			r.Data[0].LossFnInputs["weights"] = TensorData{DType: DTypeFloat32, Float32s: []float32{1}, Int64s: []int64{1}}
			return r.Validate()
		}(), "float32 tensor has int64 data"},
		{"fwdbwd unknown dtype", func() error {
			r := validFwdBwd()
			r.Data[0].LossFnInputs["weights"] = TensorData{DType: "float16"}
			return r.Validate()
		}(), "unknown dtype"},
		{"fwdbwd negative dim", func() error {
			r := validFwdBwd()
			r.Data[0].LossFnInputs["weights"] = Float32Tensor(nil, -1)
			return r.Validate()
		}(), "negative dimension"},
		{"fwdbwd empty model input", func() error { r := validFwdBwd(); r.Data[0].ModelInput = ModelInput{}; return r.Validate() }(), "datum 0: model_input"},
		{"fwdbwd image pointer", func() error {
			r := validFwdBwd()
			r.Data[0].ModelInput = ModelInput{Chunks: []Chunk{ImageAssetPointerChunk{Location: "l", Format: "png"}}}
			return r.Validate()
		}(), "image_asset_pointer"},
		{"fwdbwd NaN config", func() error {
			r := validFwdBwd()
			r.LossFnConfig = map[string]float64{"c": math.Inf(1)}
			return r.Validate()
		}(), "must be finite"},

		{"adam ok", DefaultAdamParams().Validate(), ""},
		{"adam NaN lr", AdamParams{LearningRate: math.NaN(), Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}.Validate(), "learning_rate must be finite"},
		{"adam Inf lr", AdamParams{LearningRate: math.Inf(1), Beta1: 0.9, Beta2: 0.95}.Validate(), "learning_rate must be finite"},
		{"adam negative lr", OptimStepRequest{AdamParams: AdamParams{LearningRate: -1e-4, Beta1: 0.9, Beta2: 0.95}}.Validate(), "learning_rate must not be negative"},
		{"adam beta1 1", AdamParams{LearningRate: 1e-4, Beta1: 1, Beta2: 0.95}.Validate(), "beta1 must be in [0, 1)"},
		{"adam beta2 2", AdamParams{LearningRate: 1e-4, Beta1: 0.9, Beta2: 2}.Validate(), "beta2"},
		{"adam negative wd", AdamParams{LearningRate: 1e-4, WeightDecay: -1}.Validate(), "weight_decay"},
		{"adam negative clip", AdamParams{LearningRate: 1e-4, GradClipNorm: -1}.Validate(), "grad_clip_norm"},

		{"lora ok", NewLoraConfig(8).Validate(), ""},
		{"lora rank 0", NewLoraConfig(0).Validate(), "rank must be positive"},
		{"lora all false", LoraConfig{Rank: 8}.Validate(), "all false"},
		{"lora negative seed", func() error { c := NewLoraConfig(8); c.Seed = ptr(int64(-1)); return c.Validate() }(), "seed"},
		{"create_model no base", CreateModelRequest{LoraConfig: NewLoraConfig(8)}.Validate(), "base_model is empty"},
		{"create_model ok", CreateModelRequest{BaseModel: "Qwen/Qwen3-8B", LoraConfig: NewLoraConfig(8)}.Validate(), ""},

		{"save ok", SaveWeightsRequest{Path: "step-1"}.Validate(), ""},
		{"save no name", SaveWeightsRequest{}.Validate(), "name is empty"},
		{"save ttl 0", SaveWeightsRequest{Path: "a", TTLSeconds: ptr(int64(0))}.Validate(), "ttl_seconds"},
		{"sampler save both", SaveWeightsForSamplerRequest{Path: "a", SamplingSessionSeqID: ptr(int64(0))}.Validate(), "exactly one"},
		{"sampler save neither", SaveWeightsForSamplerRequest{}.Validate(), "exactly one"},
		{"sampler save unnamed ok", SaveWeightsForSamplerRequest{SamplingSessionSeqID: ptr(int64(0))}.Validate(), ""},
		{"load no path", LoadWeightsRequest{}.Validate(), "path is empty"},
		{"session no id", CreateSessionResponse{}.Validate(), "no session_id"},
		{"response bad stop", SampleResponse{Sequences: []SampledSequence{{StopReason: "eos"}}}.Validate(), "unknown stop_reason"},
		{"response logprob count", SampleResponse{Sequences: []SampledSequence{{StopReason: StopReasonStop, Tokens: []int{1}, Logprobs: []float64{}}}}.Validate(), "0 logprobs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantMsg == "" {
				assert.NoError(t, tc.err)
				return
			}
			require.Error(t, tc.err)
			assert.ErrorIs(t, tc.err, ErrValidation)
			var e *Error
			require.True(t, errors.As(tc.err, &e))
			assert.True(t, IsUserError(tc.err))
			assert.Contains(t, tc.err.Error(), tc.wantMsg)
		})
	}
}
