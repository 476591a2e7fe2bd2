package types

// Typed accessors for ForwardBackwardOutput, so callers need not know the
// metric and output key conventions.

// MetricLossSum is the metric key of the summed loss.
const MetricLossSum = "loss:sum"

// Loss returns the batch's summed loss (metric "loss:sum") and whether the
// server reported it.
func (o *ForwardBackwardOutput) Loss() (float64, bool) {
	if o == nil {
		return 0, false
	}
	v, ok := o.Metrics[MetricLossSum]
	return v, ok
}

// Logprobs returns datum i's per-target logprobs (output "logprobs"), or
// nil, false when i is out of range or the output is missing.
func (o *ForwardBackwardOutput) Logprobs(i int) ([]float64, bool) {
	return o.Output(i, "logprobs")
}

// AllLogprobs returns every datum's logprobs in datum order; an entry is
// nil where the output is missing.
func (o *ForwardBackwardOutput) AllLogprobs() [][]float64 {
	if o == nil {
		return nil
	}
	out := make([][]float64, len(o.LossFnOutputs))
	for i := range o.LossFnOutputs {
		out[i], _ = o.Logprobs(i)
	}
	return out
}

// Output returns datum i's loss function output key as float64 values (a
// sparse output is expanded to dense), or nil, false when i is out of
// range, the key is missing or the tensor is malformed.
func (o *ForwardBackwardOutput) Output(i int, key string) ([]float64, bool) {
	if o == nil || i < 0 || i >= len(o.LossFnOutputs) {
		return nil, false
	}
	t, ok := o.LossFnOutputs[i][key]
	if !ok {
		return nil, false
	}
	d, err := t.Dense()
	if err != nil {
		return nil, false
	}
	return d.Float64s(), true
}
