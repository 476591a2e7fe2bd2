package httpclient

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Defaults of the HTTP layer (reference §4.1).
const (
	DefaultMaxRetries       = 10
	DefaultTimeout          = 60 * time.Second
	DefaultMaxResponseBytes = 256 << 20
)

// RateLimitObserver is told about every 429 a Client sees, with the delay
// the server asked for (or the computed backoff when it named none). The
// per-config limiter implements it, so one 429 backs off the whole config.
type RateLimitObserver interface {
	ReportRateLimited(retryAfter time.Duration)
}

// Client sends requests for one config: one base URL and one API key. It
// is safe for concurrent use. Its String and LogValue never show the key.
type Client struct {
	baseURL string
	apiKey  string
	// credential is the X-API-Key value sent: the API key, or the JWT it
	// was exchanged for (SetCredential), with when it needs renewing. Read
	// per attempt, lock-free.
	credential  atomic.Pointer[credential]
	renewer     CredentialRenewer // WithCredentialRenewer; nil: none
	fingerprint string
	// session is the session id HTTP events carry once the client's
	// session exists (SetEventSession); nil before.
	session atomic.Pointer[string]

	transports *Transports
	// lease holds this client's pools of transports, resolved in New (nil
	// with httpClient).
	lease      *Lease
	httpClient *http.Client // user-supplied; overrides transports when set
	bus        *telemetry.Bus
	clock      clock.Clock
	sleep      func(ctx context.Context, d time.Duration) error
	observer   RateLimitObserver
	jitter     func() float64 // in [0, 1): the second layer's backoff jitter
	// resendBackoff and resendBudget are the second layer's backoff and
	// budget (SecondLayerBackoff and SecondLayerBudget unless configured).
	resendBackoff func(resend int) time.Duration
	resendBudget  time.Duration
	budgetSet     bool // WithCallRetryBudget was given (0 then means off)

	maxRetries      int
	timeout         time.Duration
	backoff         Backoff
	maxBody         int64
	header          http.Header
	extraSecrets    []string // WithSecret
	billingInterval time.Duration
	billing         billingPause
	proxy           proxyBudget // the bare-400 budget of each pool
	// defaultReadTimeout is the x-stainless-read-timeout value of timeout.
	defaultReadTimeout []string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes every pool use hc instead of tinkex's own transports.
// New uses a copy of hc whose CheckRedirect refuses every redirect (hc
// itself is not modified), so a user's client cannot send the key to
// another origin either.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.httpClient = hc } }

// WithTransports shares a set of connection pools between Clients.
func WithTransports(t *Transports) Option { return func(c *Client) { c.transports = t } }

// WithTelemetry sets the bus that receives request spans and retry events.
func WithTelemetry(b *telemetry.Bus) Option { return func(c *Client) { c.bus = b } }

// WithClock sets the clock for backoff timers and the billing window.
func WithClock(cl clock.Clock) Option { return func(c *Client) { c.clock = cl } }

// WithMaxRetries sets the default number of retries (0 allowed). Negative
// values are rejected by New.
func WithMaxRetries(n int) Option { return func(c *Client) { c.maxRetries = n } }

// WithTimeout sets the default per-attempt timeout.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithBackoff replaces DefaultBackoff for calls whose Policy names none.
func WithBackoff(b Backoff) Option { return func(c *Client) { c.backoff = b } }

// WithMaxResponseBytes caps response bodies; a larger body fails the call
// with a KindValidation error.
func WithMaxResponseBytes(n int64) Option { return func(c *Client) { c.maxBody = n } }

// WithHeader adds a header to every request.
func WithHeader(key, value string) Option { return func(c *Client) { c.header.Add(key, value) } }

// WithRateLimitObserver registers the config's limiter for 429 reports.
func WithRateLimitObserver(o RateLimitObserver) Option { return func(c *Client) { c.observer = o } }

// WithBillingPause sets the 402 retry interval and pause window.
func WithBillingPause(interval, window time.Duration) Option {
	return func(c *Client) { c.billingInterval, c.billing.window = interval, window }
}

// SetBillingWindow sets how long a billing incident's 402s are waited out
// (from its first 402) before they fail: a server's client config
// (billing_exception_max_pause_duration_sec) sets it once the client knows
// it. A window <= 0 is ignored.
func (c *Client) SetBillingWindow(window time.Duration) {
	if window <= 0 {
		return
	}
	c.billing.mu.Lock()
	c.billing.window = window
	c.billing.mu.Unlock()
}

// SetEventSession names the session the client's requests belong to: its
// HTTP events carry it (telemetry.KeySessionID) from then on, so a
// session's server telemetry reports its own requests and no other
// session's of the same config.
func (c *Client) SetEventSession(id string) {
	if id == "" {
		c.session.Store(nil)
		return
	}
	c.session.Store(&id)
}

// BillingWindow returns the billing pause window in use.
func (c *Client) BillingWindow() time.Duration {
	c.billing.mu.Lock()
	defer c.billing.mu.Unlock()
	return c.billing.window
}

// withSleep replaces the backoff sleep (tests record delays without waiting).
func withSleep(f func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = f }
}

// WithSecondLayer replaces the second retry layer's backoff (nil keeps
// SecondLayerBackoff with jitter) and budget (0 keeps SecondLayerBudget).
// Tests use it to make the layer short; production code keeps the
// defaults, which are the Python SDK's.
func WithSecondLayer(backoff func(resend int) time.Duration, budget time.Duration) Option {
	return func(c *Client) { c.resendBackoff, c.resendBudget = backoff, budget }
}

// WithCallRetryBudget bounds the second retry layer of each call: no
// resend starts later than d after the call's first attempt. 0 turns the
// second layer off (a call fails once its HTTP layer gives up); the default
// is SecondLayerBudget, the Python SDK's.
func WithCallRetryBudget(d time.Duration) Option {
	return func(c *Client) { c.resendBudget, c.budgetSet = max(d, 0), true }
}

// withJitter replaces the second layer's jitter source (tests).
func withJitter(f func() float64) Option { return func(c *Client) { c.jitter = f } }

// New returns a Client for baseURL and apiKey. It validates both and returns
// a KindValidation *types.Error for a malformed URL, a missing or malformed
// key, or a negative retry count.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	norm, err := types.NormalizeBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	if err := types.ValidateAPIKey(apiKey); err != nil {
		return nil, err
	}
	c := &Client{
		baseURL:         norm,
		apiKey:          apiKey,
		fingerprint:     types.ConfigFingerprint(norm, apiKey),
		maxRetries:      DefaultMaxRetries,
		timeout:         DefaultTimeout,
		maxBody:         DefaultMaxResponseBytes,
		header:          http.Header{},
		billingInterval: BillingRetryInterval,
		billing:         billingPause{window: BillingPauseWindow},
	}
	for _, o := range opts {
		o(c)
	}
	if c.maxRetries < 0 {
		return nil, types.ValidationError("httpclient", "max retries must be >= 0, got %d", c.maxRetries)
	}
	if c.timeout <= 0 {
		return nil, types.ValidationError("httpclient", "timeout must be > 0, got %s", c.timeout)
	}
	if c.maxBody <= 0 {
		return nil, types.ValidationError("httpclient", "max response bytes must be > 0, got %d", c.maxBody)
	}
	c.clock = clock.Or(c.clock)
	if c.backoff == nil {
		c.backoff = DefaultBackoff
	}
	if c.transports == nil {
		c.transports = NewTransports(nil)
	}
	if c.httpClient != nil {
		c.httpClient = PinOrigin(c.httpClient)
	} else {
		c.lease = c.transports.Acquire(norm)
	}
	if c.sleep == nil {
		c.sleep = c.clockSleep
	}
	if c.jitter == nil {
		c.jitter = rand.Float64
	}
	if c.resendBackoff == nil {
		c.resendBackoff = func(k int) time.Duration { return SecondLayerBackoff(k, c.jitter()) }
	}
	if c.resendBudget <= 0 && !c.budgetSet {
		c.resendBudget = SecondLayerBudget
	}
	c.header = baseHeaders(c.header, c.httpClient == nil)
	c.credential.Store(&credential{header: []string{apiKey}})
	c.defaultReadTimeout = []string{strconv.FormatFloat(c.timeout.Seconds(), 'f', -1, 64)}
	return c, nil
}

// BaseURL returns the normalized base URL.
func (c *Client) BaseURL() string { return c.baseURL }

// Fingerprint returns the config fingerprint (never the key).
func (c *Client) Fingerprint() string { return c.fingerprint }

// String describes the client without its key.
func (c *Client) String() string {
	return fmt.Sprintf("httpclient.Client{base_url=%s config=%s}", c.baseURL, c.fingerprint)
}

// GoString is String, so %#v never prints the key either.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb, so no verb (%d, %x, %t...) makes
// fmt print the fields, the key among them.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue keeps the key out of slog output.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.baseURL), slog.String("config", c.fingerprint))
}

// CloseIdleConnections is called when the client is done: with a
// user-supplied *http.Client it closes that client's idle connections;
// otherwise it releases the client's lease on its base URL's pools (see
// Transports), which closes their idle connections unless another Client
// of the same Transports still holds them. It never touches the pools of
// another base URL, nor connections another Client is using. Requests sent
// afterwards still work.
func (c *Client) CloseIdleConnections() {
	if c.httpClient != nil {
		c.httpClient.CloseIdleConnections()
		return
	}
	c.lease.Release()
}

func (c *Client) pool(p Pool) *http.Client {
	if c.httpClient != nil {
		return c.httpClient
	}
	return c.lease.Client(p)
}

// url returns the request URL of path: baseURL+path, built once per base
// URL and path in the process (see urlCache).
func (c *Client) url(path string) string {
	k := urlKey{c.baseURL, path}
	if m := urlCache.m.Load(); m != nil {
		if u, ok := (*m)[k]; ok {
			return u
		}
	}
	u := c.baseURL + path
	urlCache.mu.Lock()
	defer urlCache.mu.Unlock()
	var old map[urlKey]string
	if p := urlCache.m.Load(); p != nil {
		old = *p
	}
	if len(old) >= maxCachedRequestURLs {
		return u
	}
	m := make(map[urlKey]string, len(old)+1)
	maps.Copy(m, old)
	m[k] = u
	urlCache.m.Store(&m)
	return u
}

// urlCache holds the request URLs in use, shared by every Client of the
// process (rather than a cache per Client, which an idle client paid for):
// a copy-on-write map, so a hit is one atomic load and one lookup with no
// lock and no allocation. It stops growing at maxCachedRequestURLs entries
// (REST paths carry ids); a URL not cached is built per request.
var urlCache struct {
	mu sync.Mutex // serializes inserts
	m  atomic.Pointer[map[urlKey]string]
}

type urlKey struct{ baseURL, path string }

// maxCachedRequestURLs bounds urlCache: the fixed endpoints of many base
// URLs fit in it many times over.
const maxCachedRequestURLs = 1024

func (c *Client) clockSleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
