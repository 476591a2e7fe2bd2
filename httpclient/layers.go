package httpclient

import (
	"math"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// Call names one row of spec/BEHAVIOR.md's "Retry layers per call" table.
// A Request with a Call gets that row's HTTP-layer retries (unless its
// Policy names MaxRetries) and, where the row says so, the second layer:
// once the HTTP layer has given up on a retryable failure, the whole
// attempt sequence is sent again with a new X-Idempotency-Key,
// x-stainless-retry-count from 0 and the same body (so the same seq_id),
// after min(2^k, 30) s shortened by up to 25 % jitter, for at most
// SecondLayerBudget since the first attempt, and never past the caller's
// context (which the runtime's stop cancels). A Request without a Call is
// one attempt sequence under its Policy alone.
type Call uint8

// The rows of the table. The zero value is "no row".
const (
	CallNone Call = iota
	// CallCreate: create_session, create_model, create_sampling_session
	// (the SDK does not wrap them in execute_with_retries).
	CallCreate
	// CallTrainingSubmit: forward_backward, forward, optim_step, load_weights.
	CallTrainingSubmit
	// CallSave: save_weights, save_weights_for_sampler (no HTTP-layer retries).
	CallSave
	// CallRead: get_info, REST reads, weights_info, get_server_capabilities,
	// unload_model.
	CallRead
	// CallSample: asample. No HTTP-layer retries; the second layer resends
	// what SecondLayerRetryable does except a 429, which the sampler's own
	// loop answers with the config's shared backoff.
	CallSample
	// CallClientConfig: client/config, and auth/token at start-up.
	CallClientConfig
	// CallAuthRefresh: auth/token refreshing a JWT, in the background or on
	// demand. The SDK's refresh calls the endpoint directly, outside
	// execute_with_retries: the HTTP layer alone, no billing pause; a
	// failed refresh is tried again 60 s later.
	CallAuthRefresh
	// CallDynamicConfig: client/dynamic_config (fetched at start-up only).
	CallDynamicConfig
	// CallHeartbeat: session_heartbeat (failures are logged by the caller).
	CallHeartbeat
	// CallTelemetry: server telemetry batches (the batcher re-sends a kept
	// batch every second).
	CallTelemetry
)

// Layers is one row of the table.
type Layers struct {
	// HTTPRetries is the HTTP layer's retry count; ClientDefault means the
	// client's (10 unless WithMaxRetries says otherwise).
	HTTPRetries int
	// Resend reports whether the second layer sends a failed attempt
	// sequence again; nil means no second layer.
	Resend func(o Outcome) bool
	// ReadTimeout, when set, bounds each attempt (x-stainless-read-timeout).
	ReadTimeout time.Duration
	// NoBillingPause: a 402 fails at once (the SDK pauses only calls of
	// execute_with_retries, polls and sample submits).
	NoBillingPause bool
}

// ClientDefault in Layers.HTTPRetries stands for the client's retry count.
const ClientDefault = -1

// SecondLayerBudget bounds the second layer of one call: no resend starts
// later than this after the call's first attempt, and the last backoff is
// cut to end at it.
const SecondLayerBudget = 5 * time.Minute

// TelemetryReadTimeout is the per-attempt timeout of telemetry batches.
const TelemetryReadTimeout = 5 * time.Second

// layers is the table of spec/BEHAVIOR.md, in one place.
var layers = [...]Layers{
	CallNone:           {HTTPRetries: ClientDefault},
	CallCreate:         {HTTPRetries: ClientDefault},
	CallTrainingSubmit: {HTTPRetries: ClientDefault, Resend: SecondLayerRetryable},
	CallSave:           {HTTPRetries: 0, Resend: SecondLayerRetryable},
	CallRead:           {HTTPRetries: ClientDefault, Resend: SecondLayerRetryable},
	CallSample:         {HTTPRetries: 0, Resend: sampleResend},
	CallClientConfig:   {HTTPRetries: ClientDefault, Resend: SecondLayerRetryable},
	CallAuthRefresh:    {HTTPRetries: ClientDefault, NoBillingPause: true},
	CallDynamicConfig:  {HTTPRetries: 0, Resend: SecondLayerRetryable},
	CallHeartbeat:      {HTTPRetries: 0, NoBillingPause: true},
	CallTelemetry:      {HTTPRetries: 0, ReadTimeout: TelemetryReadTimeout, NoBillingPause: true},
}

// LayersOf returns the row of call.
func LayersOf(call Call) Layers {
	if int(call) < len(layers) {
		return layers[call]
	}
	return layers[CallNone]
}

// SecondLayerRetryable is the second layer's rule: x-should-retry decides
// when sent; otherwise transport failures and timeouts (a bare empty-body
// 400 that the pool's budget turned into a connection error included, see
// ProxyRejectionBudget), 408, 429 and 5xx are sent again. User errors —
// other 4xx (a bare 400 once the budget is spent among them), 409
// included, and a body with category "user" — and validation failures
// never are.
func SecondLayerRetryable(o Outcome) bool {
	if v, ok := o.ShouldRetryHeader(); ok {
		return v
	}
	switch o.Kind() {
	case types.KindConnection, types.KindTimeout, types.KindRateLimited, types.KindServer:
		return true
	}
	return false
}

// sampleResend is the asample row's second layer: what
// SecondLayerRetryable resends, except a 429, which the sampler's own loop
// answers with the config's shared backoff (the SDK's holder-wide
// _sample_backoff_until) before it sends the sample again.
func sampleResend(o Outcome) bool {
	return o.Kind() != types.KindRateLimited && SecondLayerRetryable(o)
}

// SecondLayerBackoff is the wait before resend k+1 (k resends taken):
// min(2^k, 30) s shortened by up to 25 % by jitter, a value in [0, 1).
func SecondLayerBackoff(k int, jitter float64) time.Duration {
	d := math.Min(math.Pow(2, float64(k)), 30) * float64(time.Second)
	return time.Duration(d * (1 - 0.25*jitter))
}
