package types

import "encoding/json"

// LossFnOutput is the loss function's per-datum output, keyed by name (e.g.
// "logprobs").
type LossFnOutput = map[string]TensorData

// ForwardBackwardOutput is the result of forward or forward_backward:
// per-datum outputs in datum order, and metrics keyed "name:reduction"
// (e.g. "loss:sum"); see CombineForwardBackwardOutputs.
type ForwardBackwardOutput struct {
	LossFnOutputType string             `json:"loss_fn_output_type"`
	LossFnOutputs    []LossFnOutput     `json:"loss_fn_outputs"`
	Metrics          map[string]float64 `json:"metrics"`
}

// MarshalJSON sends nil outputs and metrics as [] and {}.
func (o ForwardBackwardOutput) MarshalJSON() ([]byte, error) {
	type wire ForwardBackwardOutput
	w := wire(o)
	w.LossFnOutputs = nonNil(w.LossFnOutputs)
	if w.Metrics == nil {
		w.Metrics = map[string]float64{}
	}
	return json.Marshal(w)
}
