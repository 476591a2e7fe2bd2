package tinkex

import "github.com/tinkex-go/tinkex/actors"

// CustomLossFn computes a loss and its gradient with respect to each
// datum's logprobs, for TrainingClient.ForwardBackwardCustom.
type CustomLossFn = actors.CustomLossFn

// CustomLoss is what a CustomLossFn returns: the loss, the gradients and
// optional metrics.
type CustomLoss = actors.CustomLoss

// MetricLinearLossSum is where ForwardBackwardCustom keeps the server's
// loss of its linear pass.
const MetricLinearLossSum = actors.MetricLinearLossSum
