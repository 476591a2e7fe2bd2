package tinkex

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tinkex-go/tinkex/actors"
	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/telemetry"
)

// ServiceClient options.

// WithAPIKey sets the credential ("tml-…" or a JWT "eyJ…"); default $TINKER_API_KEY.
func WithAPIKey(key string) ServiceOption { return actors.WithAPIKey(key) }

// WithBaseURL sets the server; default $TINKER_BASE_URL or the production URL.
func WithBaseURL(u string) ServiceOption { return actors.WithBaseURL(u) }

// WithProjectID sets the session's project; default $TINKER_PROJECT_ID.
func WithProjectID(id string) ServiceOption { return actors.WithProjectID(id) }

// WithTags sets the session tags; default $TINKER_TAGS (comma-separated).
func WithTags(tags ...string) ServiceOption { return actors.WithTags(tags...) }

// WithUserMetadata attaches metadata to the session and its models.
func WithUserMetadata(md map[string]string) ServiceOption { return actors.WithUserMetadata(md) }

// WithMaxRetries sets the HTTP layer's retry count (default 10; 0 allowed).
func WithMaxRetries(n int) ServiceOption { return actors.WithMaxRetries(n) }

// WithCallRetryBudget bounds the second retry layer of every call (default
// 5 minutes, the Python SDK's; 0 turns it off). See docs/protocol.md.
func WithCallRetryBudget(d time.Duration) ServiceOption { return actors.WithCallRetryBudget(d) }

// WithHTTPClient sends all requests through hc (through a copy that never
// follows redirects; a 3xx fails the call with a KindUser error).
func WithHTTPClient(hc *http.Client) ServiceOption { return actors.WithHTTPClient(hc) }

// WithTelemetry turns server-side telemetry on or off (default on unless
// TINKER_TELEMETRY=0).
func WithTelemetry(enabled bool) ServiceOption { return actors.WithTelemetry(enabled) }

// WithName names the client in the supervision tree (service:<name>).
func WithName(name string) ServiceOption { return actors.WithName(name) }

// Runtime options.

// WithLogger routes tinkex's and protoactor's logs, and tinkex's telemetry
// events at their levels, to l (default silent, or stderr at the level
// $TINKER_LOG names: debug, info or warning).
func WithLogger(l *slog.Logger) RuntimeOption { return actors.WithLogger(l) }

// WithEventLogs chooses whether the runtime's logger logs telemetry events
// (default true); turn it off when you attach telemetry.AttachLogger yourself.
func WithEventLogs(on bool) RuntimeOption { return actors.WithEventLogs(on) }

// WithTelemetryBus uses bus for all telemetry events.
func WithTelemetryBus(bus *telemetry.Bus) RuntimeOption { return actors.WithTelemetryBus(bus) }

// WithPrometheus registers tinkex's metrics on reg.
func WithPrometheus(reg prometheus.Registerer) RuntimeOption { return actors.WithPrometheus(reg) }

// WithServiceIntensity sets each ServiceClient supervisor's restart
// intensity (default 3 restarts in 5 s).
func WithServiceIntensity(n int, period time.Duration) RuntimeOption {
	return actors.WithServiceIntensity(n, period)
}

// WithClock sets the runtime's time source (default clock.Real): restart
// windows, rate-limit backoffs, retry and poll backoffs and deadlines,
// heartbeats and telemetry timestamps. Implement clock.Clock, or use
// clock.NewFake in tests to drive tinkex's waits without sleeping.
func WithClock(c clock.Clock) RuntimeOption { return actors.WithClock(c) }

// WithPollBackoff sets the backoff of future polling after errors.
func WithPollBackoff(b PollBackoff) RuntimeOption { return actors.WithPollBackoff(b) }

// LoRA options.

// WithRank sets the LoRA rank (default 32).
func WithRank(rank int) LoRAOption { return actors.WithRank(rank) }

// WithSeed seeds the adapter's initialization.
func WithSeed(seed int64) LoRAOption { return actors.WithSeed(seed) }

// WithTrainMLP chooses whether MLP weights are trained (default true).
func WithTrainMLP(on bool) LoRAOption { return actors.WithTrainMLP(on) }

// WithTrainAttn chooses whether attention weights are trained (default true).
func WithTrainAttn(on bool) LoRAOption { return actors.WithTrainAttn(on) }

// WithTrainUnembed chooses whether the unembedding is trained (default true).
func WithTrainUnembed(on bool) LoRAOption { return actors.WithTrainUnembed(on) }

// Sampling options.

// WithModelPath samples from saved sampler weights (tinker:// path).
func WithModelPath(path string) SamplingOption { return actors.WithModelPath(path) }

// WithBaseModel samples from a base model.
func WithBaseModel(model string) SamplingOption { return actors.WithBaseModel(model) }

// WithPromptLogprobs asks Sample for prompt logprobs.
func WithPromptLogprobs() SampleOption { return actors.WithPromptLogprobs() }

// WithTopkPromptLogprobs asks Sample for the top k tokens at every prompt position.
func WithTopkPromptLogprobs(k int) SampleOption { return actors.WithTopkPromptLogprobs(k) }

// Save options.

// WithTTL makes a checkpoint expire after d.
func WithTTL(d time.Duration) SaveOption { return actors.WithTTL(d) }

// WithOverwrite replaces an existing checkpoint of the same name.
func WithOverwrite() SaveOption { return actors.WithOverwrite() }
