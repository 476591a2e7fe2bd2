package types

// LossFnType names a server-side loss function.
type LossFnType string

// The loss functions the service knows.
const (
	LossCrossEntropy       LossFnType = "cross_entropy"
	LossImportanceSampling LossFnType = "importance_sampling"
	LossPPO                LossFnType = "ppo"
	LossCISPO              LossFnType = "cispo"
	LossDRO                LossFnType = "dro"
)

// KnownLossFnTypes lists every LossFnType constant.
var KnownLossFnTypes = []LossFnType{LossCrossEntropy, LossImportanceSampling, LossPPO, LossCISPO, LossDRO}

// Known reports whether l is one of KnownLossFnTypes.
func (l LossFnType) Known() bool {
	for _, k := range KnownLossFnTypes {
		if l == k {
			return true
		}
	}
	return false
}

// Validate returns a KindValidation error unless l is known.
func (l LossFnType) Validate() error {
	if !l.Known() {
		return ValidationError("loss_fn", "unknown loss function %q (known: cross_entropy, importance_sampling, ppo, cispo, dro)", string(l))
	}
	return nil
}
