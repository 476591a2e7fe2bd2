// Package tinkex is a Go client runtime for the Tinker fine-tuning API:
// train and sample LoRA models over HTTP.
//
// Start a Runtime once, create a ServiceClient per {server, API key}, and
// from it TrainingClients and SamplingClients:
//
//	rt, err := tinkex.Start(ctx)
//	defer rt.Stop(ctx)
//	svc, err := rt.NewServiceClient(ctx, tinkex.WithAPIKey(key))
//	tc, err := svc.CreateLoRATrainingClient(ctx, "Qwen/Qwen3-8B")
//	fb := tc.ForwardBackward(ctx, data, tinkex.LossCrossEntropy)
//	opt := tc.OptimStep(ctx, tinkex.DefaultAdamParams())
//	out, err := fb.Result(ctx)
//
// Each client is an actor in a supervision tree with Erlang/OTP semantics
// (see package supervisor): a crashed client restarts without losing its
// seq_ids, its callers get a typed error instead of waiting forever, and a
// config that is rate limited (HTTP 429) backs off alone, never delaying
// another config's requests.
//
// Errors are *Error values; test their kind with errors.Is against the Err*
// sentinels, or with IsUserError and IsRetryable. Telemetry events are
// emitted on Runtime.Telemetry(); see docs/telemetry.md.
package tinkex

import (
	"github.com/tinkex-go/tinkex/types"
)

// Version is the version of tinkex.
const Version = types.Version
