package tinkex

import (
	"context"
	"math"

	"github.com/tinkex-go/tinkex/types"
)

// CustomLossFn computes a loss the server does not know from each datum's
// per-target logprobs (logprobs[i] has one value per target token of
// data[i]). It returns the loss, its gradient with respect to every
// logprob (Gradients[i][k] = dLoss/dlogprobs[i][k], same shape as
// logprobs) and optional metrics. A non-nil error aborts the call before
// the backward pass is sent.
type CustomLossFn func(data []Datum, logprobs [][]float64) (CustomLoss, error)

// CustomLoss is what a CustomLossFn returns.
type CustomLoss struct {
	Loss      float64
	Gradients [][]float64
	Metrics   map[string]float64
}

// MetricLinearLossSum is the metric under which ForwardBackwardCustom keeps
// the server's loss:sum of the linear pass (sum of gradient x logprob).
const MetricLinearLossSum = "linear_loss:sum"

// ForwardBackwardCustom trains on a loss computed in Go, with the SDK's
// forward_backward_custom semantics:
//
//  1. Forward with LossCrossEntropy to get each datum's logprobs (a datum
//     without weights is sent with zero weights);
//  2. fn computes the loss and its gradient with respect to those logprobs;
//  3. ForwardBackward with LossCrossEntropy, the same target_tokens and
//     weights = -gradient: the cross-entropy loss -sum(weights x logprobs)
//     is then sum(gradient x logprobs), whose gradient with respect to the
//     logprobs is the one fn returned, so the model's gradients are those
//     of fn's loss.
//
// The result is the backward pass's output with fn's metrics merged in;
// its "loss:sum" is fn's Loss, and the server's value of the linear loss
// is kept as "linear_loss:sum". Data may carry only target_tokens and
// weights (the SDK's rule). Unlike ForwardBackward it blocks until both
// passes are done, so an OptimStep called after it is queued after its
// backward pass. Bad input, a gradient of the wrong shape or a non-finite
// one fail it with a KindValidation error before the backward pass is
// sent; fn's error is returned wrapped, with its kind (KindValidation when
// it is not a *types.Error).
func (t *TrainingClient) ForwardBackwardCustom(ctx context.Context, data []Datum, fn CustomLossFn, opts ...ForwardBackwardOption) (*ForwardBackwardOutput, error) {
	const op = "forward_backward_custom"
	if fn == nil {
		return nil, types.ValidationError(op, "no loss function given")
	}
	if len(data) == 0 {
		return nil, types.ValidationError(op, "no data provided")
	}
	o := forwardBackwardOpts(opts)
	fwdData := make([]Datum, len(data))
	targets := make([]TensorData, len(data))
	for i, d := range data {
		for k := range d.LossFnInputs {
			if k != "target_tokens" && k != "weights" {
				return nil, types.ValidationError(op, "datum %d: loss_fn_inputs[%q]: a custom loss takes only target_tokens and weights", i, k)
			}
		}
		tt, ok := d.LossFnInputs["target_tokens"]
		if !ok {
			return nil, types.ValidationError(op, "datum %d: target_tokens is required", i)
		}
		dense, err := tt.Dense()
		if err != nil {
			return nil, types.Wrap(op, err, "datum %d: target_tokens", i)
		}
		targets[i] = dense
		w, ok := d.LossFnInputs["weights"]
		if !ok {
			w = types.Float32Tensor(make([]float32, dense.Len()), dense.Shape...)
		}
		fwdData[i] = Datum{ModelInput: d.ModelInput,
			LossFnInputs: map[string]TensorData{"target_tokens": tt, "weights": w}}
	}
	fwd, err := t.forwardBackward(ctx, fwdData, LossCrossEntropy, o, true).Result(ctx)
	if err != nil {
		return nil, err
	}
	logprobs := fwd.AllLogprobs()
	if len(logprobs) != len(data) {
		return nil, types.ValidationError(op, "forward returned %d outputs for %d datums", len(logprobs), len(data))
	}
	for i, lp := range logprobs {
		if lp == nil || len(lp) != targets[i].Len() {
			return nil, types.ValidationError(op, "forward output %d has %d logprobs for %d targets", i, len(lp), targets[i].Len())
		}
	}
	res, err := fn(data, logprobs)
	if err != nil {
		return nil, types.Wrap(op, err, "loss function")
	}
	if len(res.Gradients) != len(data) {
		return nil, types.ValidationError(op, "the loss function returned %d gradients for %d datums", len(res.Gradients), len(data))
	}
	linear := make([]Datum, len(data))
	for i, g := range res.Gradients {
		if len(g) != len(logprobs[i]) {
			return nil, types.ValidationError(op, "gradient %d has %d values for %d logprobs", i, len(g), len(logprobs[i]))
		}
		w := make([]float32, len(g))
		for k, v := range g {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, types.ValidationError(op, "gradient %d[%d] is %v; gradients must be finite", i, k, v)
			}
			w[k] = float32(-v)
		}
		linear[i] = Datum{ModelInput: data[i].ModelInput, LossFnInputs: map[string]TensorData{
			"target_tokens": targets[i], "weights": types.Float32Tensor(w, targets[i].Shape...)}}
	}
	lo := o
	lo.signedWeights = true
	out, err := t.forwardBackward(ctx, linear, LossCrossEntropy, lo, false).Result(ctx)
	if err != nil {
		return nil, err
	}
	merged := *out
	merged.Metrics = make(map[string]float64, len(out.Metrics)+len(res.Metrics)+1)
	for k, v := range out.Metrics {
		merged.Metrics[k] = v
	}
	if v, ok := out.Metrics[types.MetricLossSum]; ok {
		merged.Metrics[MetricLinearLossSum] = v
	}
	merged.Metrics[types.MetricLossSum] = res.Loss
	for k, v := range res.Metrics {
		merged.Metrics[k] = v
	}
	return &merged, nil
}
