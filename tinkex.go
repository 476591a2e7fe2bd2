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
	"context"

	"github.com/tinkex-go/tinkex/actors"
	"github.com/tinkex-go/tinkex/types"
)

// Version is the version of tinkex.
const Version = types.Version

// The runtime and its clients.
type (
	// Runtime is one tinkex application: actor system and supervision tree.
	Runtime = actors.Runtime
	// RuntimeOption configures Start.
	RuntimeOption = actors.RuntimeOption
	// ServiceClient talks to one server with one API key.
	ServiceClient = actors.ServiceClient
	// ServiceOption configures a ServiceClient.
	ServiceOption = actors.ServiceOption
	// TrainingClient trains one LoRA model.
	TrainingClient = actors.TrainingClient
	// SamplingClient samples from one sampling session.
	SamplingClient = actors.SamplingClient
	// RestClient manages training runs, checkpoints and sessions.
	RestClient = actors.RestClient
	// LoRAOption adjusts CreateLoRATrainingClient.
	LoRAOption = actors.LoRAOption
	// SamplingOption selects what CreateSamplingClient samples from.
	SamplingOption = actors.SamplingOption
	// SampleOption adjusts one Sample call.
	SampleOption = actors.SampleOption
	// SaveOption adjusts a save.
	SaveOption = actors.SaveOption
	// PollBackoff is the backoff of future polling.
	PollBackoff = actors.PollBackoff
)

// Future is the result of a background operation.
type Future[T any] = actors.Future[T]

// Start starts a runtime. Stop it with Runtime.Stop.
func Start(ctx context.Context, opts ...RuntimeOption) (*Runtime, error) {
	return actors.Start(ctx, opts...)
}
