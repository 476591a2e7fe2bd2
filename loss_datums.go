package tinkex

import "github.com/tinkex-go/tinkex/types"

// Typed training data for the built-in losses; see types.CrossEntropyDatum
// for the shifting rule they share (one entry per token, the first
// dropped). Use NewDatum for custom inputs.

// MetricLossSum is the metric key of the summed loss (ForwardBackwardOutput.Loss).
const MetricLossSum = types.MetricLossSum

// CrossEntropyDatum builds a LossCrossEntropy datum from a token sequence
// and per-token weights (nil: all 1).
func CrossEntropyDatum(tokens []int, weights []float32) (Datum, error) {
	return types.CrossEntropyDatum(tokens, weights)
}

// ImportanceSamplingDatum builds a LossImportanceSampling datum from a token
// sequence and per-token sampler logprobs and advantages.
func ImportanceSamplingDatum(tokens []int, logprobs, advantages []float32) (Datum, error) {
	return types.ImportanceSamplingDatum(tokens, logprobs, advantages)
}

// PPODatum builds a LossPPO datum (inputs as ImportanceSamplingDatum).
func PPODatum(tokens []int, logprobs, advantages []float32) (Datum, error) {
	return types.PPODatum(tokens, logprobs, advantages)
}

// CISPODatum builds a LossCISPO datum (inputs as ImportanceSamplingDatum).
func CISPODatum(tokens []int, logprobs, advantages []float32) (Datum, error) {
	return types.CISPODatum(tokens, logprobs, advantages)
}

// DRODatum builds a LossDRO datum (inputs as ImportanceSamplingDatum).
func DRODatum(tokens []int, logprobs, advantages []float32) (Datum, error) {
	return types.DRODatum(tokens, logprobs, advantages)
}
