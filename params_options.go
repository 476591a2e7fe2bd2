package tinkex

import "github.com/tinkex-go/tinkex/types"

// Parameter structs are built with a constructor and functional options
// that start from the SDK's defaults; see types.NewSamplingParams for the
// rule.
type (
	// SamplingParamsOption sets one field of NewSamplingParams' result.
	SamplingParamsOption = types.SamplingParamsOption
	// AdamOption sets one field of NewAdamParams' result.
	AdamOption = types.AdamOption
)

// NewSamplingParams returns the default sampling params (temperature 1,
// top_k -1, top_p 1) with opts applied.
func NewSamplingParams(opts ...SamplingParamsOption) SamplingParams {
	return types.NewSamplingParams(opts...)
}

// WithMaxTokens caps the sampled tokens (at least 1).
func WithMaxTokens(n int) SamplingParamsOption { return types.WithMaxTokens(n) }

// WithSamplingSeed makes sampling reproducible (>= 0).
func WithSamplingSeed(seed int64) SamplingParamsOption { return types.WithSamplingSeed(seed) }

// WithTemperature sets the temperature (>= 0; 0 is greedy).
func WithTemperature(t float64) SamplingParamsOption { return types.WithTemperature(t) }

// WithTopK keeps the k most likely tokens (-1: no limit).
func WithTopK(k int) SamplingParamsOption { return types.WithTopK(k) }

// WithTopP keeps the smallest token set of probability p, in (0, 1].
func WithTopP(p float64) SamplingParamsOption { return types.WithTopP(p) }

// WithStop stops sampling at any of the given strings or token ids.
func WithStop(s Stop) SamplingParamsOption { return types.WithStop(s) }

// NewAdamParams returns the default Adam params with opts applied.
func NewAdamParams(opts ...AdamOption) AdamParams { return types.NewAdamParams(opts...) }

// WithLearningRate sets Adam's learning rate (>= 0).
func WithLearningRate(lr float64) AdamOption { return types.WithLearningRate(lr) }

// WithBetas sets Adam's beta1 and beta2, each in [0, 1).
func WithBetas(beta1, beta2 float64) AdamOption { return types.WithBetas(beta1, beta2) }

// WithEps sets Adam's epsilon (>= 0).
func WithEps(eps float64) AdamOption { return types.WithEps(eps) }

// WithWeightDecay sets decoupled weight decay (>= 0).
func WithWeightDecay(wd float64) AdamOption { return types.WithWeightDecay(wd) }

// WithGradClipNorm clips the gradient norm (0: no clipping).
func WithGradClipNorm(n float64) AdamOption { return types.WithGradClipNorm(n) }
