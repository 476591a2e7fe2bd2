package tinkex

import (
	"context"

	"github.com/tinkex-go/tinkex/actors"
)

// ForwardBackwardOption adjusts one Forward, ForwardBackward or
// ForwardBackwardCustom call.
type ForwardBackwardOption = actors.ForwardBackwardOption

// WithLossFnConfig sets the loss function's config (e.g. PPO clip
// thresholds); values must be finite.
func WithLossFnConfig(cfg map[string]float64) ForwardBackwardOption {
	return actors.WithLossFnConfig(cfg)
}

// Awaitable is any *Future, whatever its value type.
type Awaitable = actors.Awaitable

// AwaitAll waits for every future and returns their values in order, or
// the first error to arrive (the SDK's gather); see actors.AwaitAll.
func AwaitAll[T any](ctx context.Context, futures ...*Future[T]) ([]T, error) {
	return actors.AwaitAll(ctx, futures...)
}

// WaitAll waits for futures of mixed types and returns nil or the first
// error to arrive; see actors.WaitAll.
func WaitAll(ctx context.Context, futures ...Awaitable) error { return actors.WaitAll(ctx, futures...) }
