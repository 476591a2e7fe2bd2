package types

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewSamplingParamsStartsFromDefaults(t *testing.T) {
	assert.Equal(t, DefaultSamplingParams(), NewSamplingParams())
	require.NoError(t, NewSamplingParams().Validate())
	p := NewSamplingParams(WithMaxTokens(16), WithSamplingSeed(7), WithTemperature(0), WithTopK(40), WithTopP(0.9),
		WithStop(StopStrings("\n")))
	require.NoError(t, p.Validate())
	require.NotNil(t, p.MaxTokens)
	require.NotNil(t, p.Seed)
	assert.Equal(t, 16, *p.MaxTokens)
	assert.Equal(t, int64(7), *p.Seed)
	assert.Equal(t, SamplingParams{MaxTokens: p.MaxTokens, Seed: p.Seed, Temperature: 0, TopK: 40, TopP: 0.9,
		Stop: StopStrings("\n")}, p)
	b, err := p.MarshalJSON()
	require.NoError(t, err)
	assert.JSONEq(t, `{"max_tokens":16,"seed":7,"stop":["\n"],"temperature":0,"top_k":40,"top_p":0.9}`, string(b))

	assert.ErrorIs(t, NewSamplingParams(WithMaxTokens(0)).Validate(), ErrValidation)
	assert.ErrorIs(t, NewSamplingParams(WithTopP(0)).Validate(), ErrValidation)
	assert.ErrorIs(t, SamplingParams{}.Validate(), ErrValidation, "the zero value is not the defaults")
}

func TestNewAdamParamsStartsFromDefaults(t *testing.T) {
	assert.Equal(t, DefaultAdamParams(), NewAdamParams())
	p := NewAdamParams(WithLearningRate(3e-4), WithBetas(0.8, 0.99), WithEps(1e-8), WithWeightDecay(0.01), WithGradClipNorm(1))
	assert.Equal(t, AdamParams{LearningRate: 3e-4, Beta1: 0.8, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.01, GradClipNorm: 1}, p)
	require.NoError(t, p.Validate())
	assert.ErrorIs(t, NewAdamParams(WithBetas(1, 0.9)).Validate(), ErrValidation)
}
