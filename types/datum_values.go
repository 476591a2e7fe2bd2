package types

import (
	"math"
	"sort"
)

// Value rules of loss function inputs, checked before anything is sent
// (a NaN weight poisons the model on the server: every later optim_step
// fails). NaN is refused in every float input; ±Inf in the inputs that
// scale the loss; a negative value in weights and target_tokens.
var (
	finiteInputs      = map[string]bool{"weights": true, "advantages": true, "logprobs": true}
	nonNegativeInputs = map[string]bool{"weights": true, "target_tokens": true}
)

// validateValues returns a KindValidation error naming the input, the
// index of the offending stored value and the rule it breaks. With
// signedWeights, negative weights are allowed.
func (d Datum) validateValues(signedWeights bool) error {
	const op = "datum"
	keys := make([]string, 0, len(d.LossFnInputs))
	for k := range d.LossFnInputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t := d.LossFnInputs[k]
		nonNegative := nonNegativeInputs[k] && !(signedWeights && k == "weights")
		where := "loss_fn_inputs[%q][%d]"
		if t.IsSparse() {
			where = "loss_fn_inputs[%q] stored value %d"
		}
		for i, v := range t.Float32s {
			f := float64(v)
			switch {
			case math.IsNaN(f):
				return ValidationError(op, where+" is NaN; loss function inputs must be numbers", k, i)
			case math.IsInf(f, 0) && finiteInputs[k]:
				return ValidationError(op, where+" is %v; %s must be finite", k, i, f, k)
			case f < 0 && nonNegative:
				return ValidationError(op, where+" is %v; %s must not be negative", k, i, f, k)
			}
		}
		if nonNegative {
			for i, v := range t.Int64s {
				if v < 0 {
					return ValidationError(op, where+" is %d; %s must not be negative", k, i, v, k)
				}
			}
		}
	}
	return nil
}
