package tinkertest

import (
	"net"
	"time"
)

// Option configures a Server.
type Option func(*config)

// BaseModel is a model the fake serves (get_server_capabilities, create_model,
// create_sampling_session).
type BaseModel struct {
	Name             string
	MaxContextLength int
	Arch             string
}

// DefaultModels are served unless WithModels replaces them.
var DefaultModels = []BaseModel{
	{Name: "meta-llama/Llama-3.2-1B", MaxContextLength: 32768, Arch: "llama"},
	{Name: "meta-llama/Llama-3.1-8B", MaxContextLength: 32768, Arch: "llama"},
	{Name: "Qwen/Qwen3-8B", MaxContextLength: 32768, Arch: "qwen3"},
	{Name: "Qwen/Qwen3-30B-A3B", MaxContextLength: 32768, Arch: "qwen3_moe"},
}

type config struct {
	keys             map[string]bool // nil: any well-formed key
	jwtTTL           time.Duration   // 0: JWT mode off
	hold             time.Duration
	serviceTime      map[string]time.Duration
	clientConfig     map[string]any
	noDynamicConfig  bool
	refreshInterval  int
	completeMetadata bool
	completedTTL     time.Duration
	retrievedTTL     time.Duration
	logLimit         int
	telemetryLimit   int
	models           []BaseModel
	listener         net.Listener
	now              func() time.Time
	rateLimits       []RateLimit
	tls              bool
	sessionMessages  map[string]string
	archive          ArchiveOptions
	maxPageSize      int
	tracePending     int
	traceFailure     string
}

func defaultConfig() config {
	return config{
		hold:            time.Second,
		serviceTime:     map[string]time.Duration{},
		refreshInterval: 300,
		completedTTL:    10 * time.Minute,
		retrievedTTL:    30 * time.Second,
		logLimit:        100_000,
		telemetryLimit:  10_000,
		models:          DefaultModels,
		now:             time.Now,
		tracePending:    1,
	}
}

// WithKeys restricts the accepted credentials to keys (each still of the
// form tml-… or eyJ…). Without it any well-formed key is accepted.
func WithKeys(keys ...string) Option {
	return func(c *config) {
		c.keys = map[string]bool{}
		for _, k := range keys {
			c.keys[k] = true
		}
	}
}

// WithJWT turns on JWT auth: client/config answers pjwt_auth_enabled=true,
// auth/token exchanges a key for a JWT valid for ttl, and every other
// authenticated endpoint then requires that JWT in X-API-Key (401 "Invalid
// JWT" otherwise, and once it has expired).
func WithJWT(ttl time.Duration) Option { return func(c *config) { c.jwtTTL = ttl } }

// WithLongPollHold sets how long retrieve_future holds a poll for a future
// that is not done before answering try_again (default 1 s).
func WithLongPollHold(d time.Duration) Option { return func(c *config) { c.hold = d } }

// WithServiceTime makes work submitted to endpoint (e.g. "asample",
// "forward_backward") take d before its future completes (default 0: done
// as soon as its turn comes).
func WithServiceTime(endpoint string, d time.Duration) Option {
	return func(c *config) { c.serviceTime[endpoint] = d }
}

// WithClientConfig sets fields of the client/config answer (overriding the
// defaults, e.g. "proto_compress_fwdbwd": true, "fwdbwd_max_chunk_len": 4).
func WithClientConfig(fields map[string]any) Option {
	return func(c *config) { c.clientConfig = fields }
}

// WithoutDynamicConfig makes client/dynamic_config answer 404, which clients
// must treat as "use defaults".
func WithoutDynamicConfig() Option { return func(c *config) { c.noDynamicConfig = true } }

// WithRefreshInterval sets refresh_interval_sec in client/dynamic_config.
func WithRefreshInterval(sec int) Option { return func(c *config) { c.refreshInterval = sec } }

// WithCompleteMetadata makes retrieve_future answer a finished future with
// {"status":"complete_metadata","response_payload_size":n} when the poll
// sets allow_metadata_only=true; the payload comes on the next poll.
func WithCompleteMetadata() Option { return func(c *config) { c.completeMetadata = true } }

// WithFutureTTL sets how long a finished future is kept: completed for
// results never retrieved, retrieved after its result was delivered. After
// that retrieve_future answers 410 (promise expired).
func WithFutureTTL(completed, retrieved time.Duration) Option {
	return func(c *config) { c.completedTTL, c.retrievedTTL = completed, retrieved }
}

// WithLogLimit caps the request log (default 100,000 entries); older entries
// are dropped and counted (DroppedRequests).
func WithLogLimit(n int) Option { return func(c *config) { c.logLimit = n } }

// WithModels replaces the served base models.
func WithModels(models ...BaseModel) Option { return func(c *config) { c.models = models } }

// WithListener serves on l instead of a new 127.0.0.1 port (for
// cmd/tinkerfake). The server closes l on Close.
func WithListener(l net.Listener) Option { return func(c *config) { c.listener = l } }

// WithNow injects the clock used for JWT expiry, rate limits, timestamps and
// future TTLs (not for long-poll holds or service times, which are real
// waits).
func WithNow(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithRateLimit adds a server-side token bucket per key (see RateLimit).
func WithRateLimit(rl RateLimit) Option {
	return func(c *config) { c.rateLimits = append(c.rateLimits, rl) }
}

// WithTLS serves HTTPS with HTTP/2 (as the production service does) on a
// self-signed certificate; use Server.Client() or its transport to trust it.
// Under HTTP/2 the Reset, DropResponse and Truncate faults reset the stream
// instead of the connection.
func WithTLS() Option { return func(c *config) { c.tls = true } }

// WithSessionMessages makes create_session answer with info_message,
// warning_message and error_message (empty ones are omitted), which clients
// log at info, warning and error level.
func WithSessionMessages(info, warning, errMsg string) Option {
	return func(c *config) {
		c.sessionMessages = map[string]string{}
		for k, v := range map[string]string{"info_message": info, "warning_message": warning, "error_message": errMsg} {
			if v != "" {
				c.sessionMessages[k] = v
			}
		}
	}
}

// WithMaxPageSize caps the page of every REST list (training runs, user and
// per-run checkpoints, sessions) at n items, as a real server caps limit;
// the cursor says what was served. A per-run checkpoint list without limit
// is not paged unless this is set.
func WithMaxPageSize(n int) Option { return func(c *config) { c.maxPageSize = n } }

// WithTraceExport makes a session's trace export answer "pending" to the
// first pending polls (default 1), then "ready" with a URL on the archive
// host, or "failed" with failure when it is not empty.
func WithTraceExport(pending int, failure string) Option {
	return func(c *config) { c.tracePending, c.traceFailure = pending, failure }
}
