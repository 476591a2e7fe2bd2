package tinkex

import "github.com/tinkex-go/tinkex/types"

// Wire types, re-exported from package types so users write tinkex.Datum.
type (
	ModelInput                    = types.ModelInput
	Chunk                         = types.Chunk
	EncodedTextChunk              = types.EncodedTextChunk
	ImageChunk                    = types.ImageChunk
	ImageAssetPointerChunk        = types.ImageAssetPointerChunk
	DmelChunk                     = types.DmelChunk
	Datum                         = types.Datum
	TensorData                    = types.TensorData
	DType                         = types.DType
	LossFnType                    = types.LossFnType
	AdamParams                    = types.AdamParams
	LoraConfig                    = types.LoraConfig
	SamplingParams                = types.SamplingParams
	Stop                          = types.Stop
	SampleResponse                = types.SampleResponse
	SampledSequence               = types.SampledSequence
	StopReason                    = types.StopReason
	NullableFloats                = types.NullableFloats
	TokenLogprob                  = types.TokenLogprob
	ForwardBackwardOutput         = types.ForwardBackwardOutput
	LossFnOutput                  = types.LossFnOutput
	OptimStepResponse             = types.OptimStepResponse
	SaveWeightsResponse           = types.SaveWeightsResponse
	SaveWeightsForSamplerResponse = types.SaveWeightsForSamplerResponse
	LoadWeightsResponse           = types.LoadWeightsResponse
	GetInfoResponse               = types.GetInfoResponse
	UnloadModelResponse           = types.UnloadModelResponse
	WeightsInfoResponse           = types.WeightsInfoResponse
	ServerCapabilities            = types.ServerCapabilities
	ClientConfig                  = types.ClientConfigResponse
	TrainingRun                   = types.TrainingRun
	TrainingRunsResponse          = types.TrainingRunsResponse
	Checkpoint                    = types.Checkpoint
	CheckpointsListResponse       = types.CheckpointsListResponse
	GetSamplerResponse            = types.GetSamplerResponse
	QueueState                    = types.QueueState
)

// Loss functions.
const (
	LossCrossEntropy       = types.LossCrossEntropy
	LossImportanceSampling = types.LossImportanceSampling
	LossPPO                = types.LossPPO
	LossCISPO              = types.LossCISPO
	LossDRO                = types.LossDRO
)

// Tensor dtypes.
const (
	DTypeInt64   = types.DTypeInt64
	DTypeFloat32 = types.DTypeFloat32
)

// Stop reasons of a sampled sequence.
const (
	StopReasonStop   = types.StopReasonStop
	StopReasonLength = types.StopReasonLength
)

// Queue states reported while a future waits.
const (
	QueueStateActive          = types.QueueStateActive
	QueueStatePausedCapacity  = types.QueueStatePausedCapacity
	QueueStatePausedRateLimit = types.QueueStatePausedRateLimit
	QueueStateUnknown         = types.QueueStateUnknown
)

// ModelInputFromInts returns a ModelInput of one text chunk.
func ModelInputFromInts(tokens []int) ModelInput { return types.ModelInputFromInts(tokens) }

// NewDatum builds a Datum from plain Go slices (see types.NewDatum).
func NewDatum(input ModelInput, lossFnInputs map[string]any) (Datum, error) {
	return types.NewDatum(input, lossFnInputs)
}

// DefaultAdamParams returns the SDK's Adam defaults.
func DefaultAdamParams() AdamParams { return types.DefaultAdamParams() }

// DefaultSamplingParams returns temperature 1, top_k -1, top_p 1.
func DefaultSamplingParams() SamplingParams { return types.DefaultSamplingParams() }

// StopStrings stops sampling at any of s.
func StopStrings(s ...string) Stop { return types.StopStrings(s...) }

// StopTokens stops sampling at any of the token ids t.
func StopTokens(t ...int) Stop { return types.StopTokens(t...) }
