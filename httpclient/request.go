package httpclient

import (
	"net/http"
	"net/url"
	"time"
)

// Pool names a connection pool. Requests of different pools never share
// connections, so one kind of traffic cannot starve another.
type Pool uint8

// The pool kinds.
const (
	PoolTraining  Pool = iota // training submits, REST reads, create_* calls
	PoolSession               // client/config, create_session, heartbeats
	PoolSampling              // asample submits
	PoolFutures               // retrieve_future long polls
	PoolTelemetry             // server telemetry batches
	numPools
)

var poolNames = [...]string{"training", "session", "sampling", "futures", "telemetry"}

// String returns the pool's name, as used in telemetry.
func (p Pool) String() string {
	if int(p) < len(poolNames) {
		return poolNames[p]
	}
	return "unknown"
}

// Request describes one logical call: Do sends it once and then retries it
// according to Policy.
type Request struct {
	// Op names the tinkex operation for errors and telemetry, e.g. "create_session".
	Op string
	// Method is the HTTP method; empty means POST.
	Method string
	// Path is appended to the base URL, e.g. "/api/v1/create_session".
	Path string
	// Query is added to the URL when non-empty.
	Query url.Values
	// Body is encoded as JSON unless RawBody is set. Nil sends no body.
	Body any
	// RawBody, when non-nil, is sent as is with ContentType.
	RawBody []byte
	// ContentType of RawBody; defaults to application/json.
	ContentType string
	// ContentEncoding, if set, is sent as Content-Encoding (e.g. "zstd").
	ContentEncoding string
	// Accept overrides the Accept header (default application/json).
	Accept string
	// Header holds extra headers for this request (e.g. X-Tinker-Request-Type).
	Header http.Header
	// Secrets are credentials this request sends besides the client's (a
	// weights access token in Header): like the key, they are scrubbed from
	// everything the request's failure reports (its error, request id and
	// events).
	Secrets []string
	// Call is the request's row of the retry layers table (HTTP-layer
	// retries, second layer); CallNone means Policy alone decides.
	Call Call
	// Policy says how to retry; the zero value means DefaultPolicy.
	Policy Policy
	// Into, when set, decodes a 2xx response body. A decode failure becomes a
	// KindValidation error.
	Into Decoder
}

// Policy is one row of the retry truth table for one call.
type Policy struct {
	// MaxRetries is the number of retries after the first attempt. Nil means
	// the Call's row (the client's default, 10 unless configured, for most
	// rows); point to 0 for none.
	MaxRetries *int
	// Timeout bounds each attempt, 0 means the Call's row or the client's
	// default (60 s).
	Timeout time.Duration
	// Pool selects the connection pool.
	Pool Pool
	// Retry decides whether an attempt's outcome is retried; nil means
	// DefaultRetryPolicy.
	Retry RetryPolicy
	// Backoff computes the wait before a retry; nil means the client's
	// backoff (DefaultBackoff unless configured).
	Backoff Backoff
	// NoBillingPause turns off the 402 billing pause for this call.
	NoBillingPause bool
	// NoIdempotencyKey omits X-Idempotency-Key (it is never sent on GET).
	NoIdempotencyKey bool
	// NoRateLimitReport keeps 429s of this call from the RateLimitObserver:
	// the caller owns the backoff (sampling sets its own, longer one).
	NoRateLimitReport bool
	// NoProxyRejection keeps a bare 400 of this call a 400: the pool's
	// budget (ProxyRejectionBudget) is neither spent nor refilled by it.
	// Future polls set it: BEHAVIOR's polling column gives a bare 400 its
	// own rule (a few immediate re-polls, then an error).
	NoProxyRejection bool
}

// Retries returns a pointer to n, for Policy.MaxRetries.
func Retries(n int) *int { return &n }

// Response is the last HTTP response of a call.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// Attempts is how many HTTP attempts the call made.
	Attempts int
	// Retries is Attempts-1 plus billing-pause retries.
	Retries int
}

// ContentType returns the response's media type.
func (r *Response) ContentType() string { return r.Header.Get("Content-Type") }
