package types

// The one rule for optional parameters: build parameter structs with a
// constructor and functional options, which start from the SDK's defaults
// (NewSamplingParams, NewAdamParams), as LoRA settings (LoRAOption), saves
// (SaveOption) and Sample calls (SampleOption) already are. Every option
// left out keeps its default, and an option's value is checked by the
// struct's Validate when the call is made (bad values fail that call with
// a KindValidation error; nothing is sent). The structs stay exported so
// code can read them and set fields directly; their zero values are not
// meaningful defaults (SamplingParams{} has top_p 0, which is refused).

// SamplingParamsOption sets one field of NewSamplingParams' result.
type SamplingParamsOption func(*SamplingParams)

// NewSamplingParams returns DefaultSamplingParams (temperature 1, top_k -1,
// top_p 1, no max_tokens, seed or stop) with opts applied in order.
func NewSamplingParams(opts ...SamplingParamsOption) SamplingParams {
	p := DefaultSamplingParams()
	for _, o := range opts {
		if o != nil {
			o(&p)
		}
	}
	return p
}

// WithMaxTokens caps the sampled tokens (at least 1).
func WithMaxTokens(n int) SamplingParamsOption {
	return func(p *SamplingParams) { p.MaxTokens = &n }
}

// WithSamplingSeed makes sampling reproducible (>= 0).
func WithSamplingSeed(seed int64) SamplingParamsOption {
	return func(p *SamplingParams) { p.Seed = &seed }
}

// WithTemperature sets the temperature (>= 0; 0 is greedy).
func WithTemperature(t float64) SamplingParamsOption {
	return func(p *SamplingParams) { p.Temperature = t }
}

// WithTopK keeps the k most likely tokens (-1: no limit).
func WithTopK(k int) SamplingParamsOption { return func(p *SamplingParams) { p.TopK = k } }

// WithTopP keeps the smallest token set of probability p, in (0, 1].
func WithTopP(topP float64) SamplingParamsOption {
	return func(p *SamplingParams) { p.TopP = topP }
}

// WithStop stops sampling at any of the given strings or token ids (see
// StopStrings and StopTokens).
func WithStop(s Stop) SamplingParamsOption { return func(p *SamplingParams) { p.Stop = s } }

// AdamOption sets one field of NewAdamParams' result.
type AdamOption func(*AdamParams)

// NewAdamParams returns DefaultAdamParams (learning rate 1e-4, betas 0.9
// and 0.95, eps 1e-12, no weight decay, no clipping) with opts applied.
func NewAdamParams(opts ...AdamOption) AdamParams {
	p := DefaultAdamParams()
	for _, o := range opts {
		if o != nil {
			o(&p)
		}
	}
	return p
}

// WithLearningRate sets the learning rate (>= 0).
func WithLearningRate(lr float64) AdamOption { return func(p *AdamParams) { p.LearningRate = lr } }

// WithBetas sets Adam's beta1 and beta2, each in [0, 1).
func WithBetas(beta1, beta2 float64) AdamOption {
	return func(p *AdamParams) { p.Beta1, p.Beta2 = beta1, beta2 }
}

// WithEps sets Adam's epsilon (>= 0).
func WithEps(eps float64) AdamOption { return func(p *AdamParams) { p.Eps = eps } }

// WithWeightDecay sets decoupled (AdamW-style) weight decay (>= 0).
func WithWeightDecay(wd float64) AdamOption { return func(p *AdamParams) { p.WeightDecay = wd } }

// WithGradClipNorm clips the gradient norm (0: no clipping).
func WithGradClipNorm(n float64) AdamOption { return func(p *AdamParams) { p.GradClipNorm = n } }
