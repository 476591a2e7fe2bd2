package types

import (
	"maps"
	"slices"
)

// Typed constructors for the built-in losses. Each takes one whole token
// sequence and per-token values aligned with it (entry i belongs to
// tokens[i]) and builds the next-token-prediction datum the loss needs:
// the model input is tokens[:n-1], target_tokens is tokens[1:], and every
// per-token input drops its first entry, so all inputs have shape [n-1]
// and line up with target_tokens. This is the cookbook's
// datum_from_tokens_weights rule. The result is validated (Datum.Validate);
// a sequence shorter than 2 tokens, a per-token slice of the wrong length,
// or a value Datum.Validate refuses is a KindValidation error naming the
// constructor. For any other combination of inputs use NewDatum.

// CrossEntropyDatum builds a datum for LossCrossEntropy: target_tokens and
// weights. nil weights means weight 1 on every target; otherwise weights
// must have len(tokens) entries (weights[0] is dropped: the first token is
// never predicted), each finite and >= 0, typically 0 on the prompt and 1
// on the completion.
func CrossEntropyDatum(tokens []int, weights []float32) (Datum, error) {
	const op = "cross_entropy_datum"
	if weights == nil {
		weights = make([]float32, len(tokens))
		for i := range weights {
			weights[i] = 1
		}
	}
	return shiftedDatum(op, tokens, map[string][]float32{"weights": weights})
}

// ImportanceSamplingDatum builds a datum for LossImportanceSampling:
// target_tokens, logprobs (the sampler's logprob of each token, which the
// loss uses as the behaviour policy) and advantages. logprobs and
// advantages have len(tokens) entries; put 0 on prompt positions.
func ImportanceSamplingDatum(tokens []int, logprobs, advantages []float32) (Datum, error) {
	return policyDatum("importance_sampling_datum", tokens, logprobs, advantages)
}

// PPODatum builds a datum for LossPPO, with the inputs of
// ImportanceSamplingDatum. Clip thresholds go in the loss config
// ("clip_low_threshold", "clip_high_threshold").
func PPODatum(tokens []int, logprobs, advantages []float32) (Datum, error) {
	return policyDatum("ppo_datum", tokens, logprobs, advantages)
}

// CISPODatum builds a datum for LossCISPO, with the inputs of
// ImportanceSamplingDatum.
func CISPODatum(tokens []int, logprobs, advantages []float32) (Datum, error) {
	return policyDatum("cispo_datum", tokens, logprobs, advantages)
}

// DRODatum builds a datum for LossDRO with the policy-loss inputs
// (target_tokens, logprobs, advantages). The service's DRO inputs are not
// documented publicly; these are the ones the other policy losses take.
func DRODatum(tokens []int, logprobs, advantages []float32) (Datum, error) {
	return policyDatum("dro_datum", tokens, logprobs, advantages)
}

func policyDatum(op string, tokens []int, logprobs, advantages []float32) (Datum, error) {
	return shiftedDatum(op, tokens, map[string][]float32{"logprobs": logprobs, "advantages": advantages})
}

// shiftedDatum builds input tokens[:n-1], target_tokens tokens[1:] and each
// per-token input shifted the same way, then validates.
func shiftedDatum(op string, tokens []int, perToken map[string][]float32) (Datum, error) {
	n := len(tokens)
	if n < 2 {
		return Datum{}, ValidationError(op, "need at least 2 tokens (an input and a target), got %d", n)
	}
	targets := make([]int64, n-1)
	for i, t := range tokens[1:] {
		targets[i] = int64(t)
	}
	inputs := map[string]TensorData{"target_tokens": Int64Tensor(targets, int64(n-1))}
	for _, key := range slices.Sorted(maps.Keys(perToken)) {
		v := perToken[key]
		if len(v) != n {
			return Datum{}, ValidationError(op, "%s has %d entries but tokens has %d; give one per token", key, len(v), n)
		}
		inputs[key] = Float32Tensor(append([]float32(nil), v[1:]...), int64(n-1))
	}
	d := Datum{ModelInput: ModelInputFromInts(tokens[:n-1]), LossFnInputs: inputs}
	if err := d.Validate(); err != nil {
		return Datum{}, Wrap(op, err, "invalid datum")
	}
	return d, nil
}
