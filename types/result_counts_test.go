package types

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSampleResponseCheckAgainst(t *testing.T) {
	req := SampleRequest{NumSamples: 2, Prompt: ModelInputFromInts([]int{1, 2, 3})}
	two := []SampledSequence{{StopReason: StopReasonStop}, {StopReason: StopReasonLength}}
	assert.NoError(t, SampleResponse{Sequences: two}.CheckAgainst(req, "r1"))

	err := SampleResponse{Sequences: two[:1]}.CheckAgainst(req, "r1")
	assert.ErrorIs(t, err, ErrValidation)
	assert.Contains(t, err.Error(), "1 sequences for num_samples=2")
	assert.Equal(t, "r1", err.(*Error).RequestID)

	req.PromptLogprobs = true
	assert.ErrorIs(t, SampleResponse{Sequences: two}.CheckAgainst(req, "r1"), ErrValidation, "requested prompt logprobs are missing")
	assert.ErrorIs(t, SampleResponse{Sequences: two, PromptLogprobs: NullableFloats{1}}.CheckAgainst(req, "r1"), ErrValidation)
	assert.NoError(t, SampleResponse{Sequences: two, PromptLogprobs: NullableFloats{0, 1, 2}}.CheckAgainst(req, "r1"))
}

func TestForwardBackwardOutputCheckCount(t *testing.T) {
	o := ForwardBackwardOutput{LossFnOutputs: []LossFnOutput{{}, {}}}
	assert.NoError(t, o.CheckCount("forward", 2, "r"))
	err := o.CheckCount("forward", 3, "r")
	assert.ErrorIs(t, err, ErrValidation)
	assert.Equal(t, "r", err.(*Error).RequestID)
	assert.ErrorIs(t, ForwardBackwardOutput{}.CheckCount("forward", 1, "r"), ErrValidation)
}
