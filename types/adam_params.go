package types

import (
	"encoding/json"
	"math"
)

// AdamParams are the optimizer settings of one optim_step. Every field is
// always sent. Build them with NewAdamParams and options (WithLearningRate,
// …), which start from DefaultAdamParams.
type AdamParams struct {
	LearningRate float64 `json:"learning_rate"`
	Beta1        float64 `json:"beta1"`
	Beta2        float64 `json:"beta2"`
	Eps          float64 `json:"eps"`
	WeightDecay  float64 `json:"weight_decay"`   // decoupled (AdamW-style)
	GradClipNorm float64 `json:"grad_clip_norm"` // 0 means no clipping
}

// DefaultAdamParams returns the SDK defaults: learning rate 1e-4, betas 0.9
// and 0.95, eps 1e-12, no weight decay, no clipping.
func DefaultAdamParams() AdamParams {
	return AdamParams{LearningRate: 1e-4, Beta1: 0.9, Beta2: 0.95, Eps: 1e-12}
}

// MarshalJSON writes every field as the Python SDK writes floats ("0.0",
// "1e-05"; see pyFloat), so the optim_step body reads as the SDK's.
func (p AdamParams) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		LearningRate pyFloat `json:"learning_rate"`
		Beta1        pyFloat `json:"beta1"`
		Beta2        pyFloat `json:"beta2"`
		Eps          pyFloat `json:"eps"`
		WeightDecay  pyFloat `json:"weight_decay"`
		GradClipNorm pyFloat `json:"grad_clip_norm"`
	}{pyFloat(p.LearningRate), pyFloat(p.Beta1), pyFloat(p.Beta2), pyFloat(p.Eps), pyFloat(p.WeightDecay), pyFloat(p.GradClipNorm)})
}

// UnmarshalJSON fills fields missing from the JSON with DefaultAdamParams.
func (p *AdamParams) UnmarshalJSON(b []byte) error {
	type wire AdamParams
	w := wire(DefaultAdamParams())
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*p = AdamParams(w)
	return nil
}

// Validate returns a KindValidation error unless every field is finite, the
// learning rate, eps, weight decay and clip norm are not negative, and both
// betas are in [0, 1).
func (p AdamParams) Validate() error {
	const op = "optim_step"
	fields := []struct {
		name string
		v    float64
	}{
		{"learning_rate", p.LearningRate}, {"beta1", p.Beta1}, {"beta2", p.Beta2},
		{"eps", p.Eps}, {"weight_decay", p.WeightDecay}, {"grad_clip_norm", p.GradClipNorm},
	}
	for _, f := range fields {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return ValidationError(op, "adam %s must be finite, got %v", f.name, f.v)
		}
		if f.v < 0 {
			return ValidationError(op, "adam %s must not be negative, got %v", f.name, f.v)
		}
	}
	if p.Beta1 >= 1 {
		return ValidationError(op, "adam beta1 must be in [0, 1), got %v", p.Beta1)
	}
	if p.Beta2 >= 1 {
		return ValidationError(op, "adam beta2 must be in [0, 1), got %v", p.Beta2)
	}
	return nil
}
