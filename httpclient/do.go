package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex/internal/uuid"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Do sends req, retrying per its Policy and its Call's row of the retry
// layers table (see Call), and returns the last response.
//
// On success (2xx) it decodes the body with req.Into, if set, and returns the
// response. On failure it returns a *types.Error; when the failure was an
// HTTP status, the returned *Response is non-nil too and holds that last
// response (status, headers, body), so callers such as the future poller can
// inspect it. A bare 400 that the pool's budget turns into a connection
// error (ErrProxyRejected) is not an HTTP status failure: its Response is
// nil. Every call ends in a response or an error: cancellation of ctx
// ends any attempt or backoff at once with a KindCanceled error.
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	method := req.Method
	if method == "" {
		method = http.MethodPost
	}
	op := req.Op
	if op == "" {
		op = strings.TrimPrefix(req.Path, "/api/v1/")
	}
	body, ctype, err := encodeBody(req)
	if err != nil {
		return nil, &types.Error{Kind: types.KindValidation, Op: op, Method: method, Path: req.Path,
			Message: "cannot encode request body", Err: err}
	}
	p := req.Policy
	row := LayersOf(req.Call)
	co := CallOptionsFrom(ctx)
	if err := co.validate(op); err != nil {
		return nil, err
	}
	maxRetries := c.maxRetries
	if row.HTTPRetries != ClientDefault {
		maxRetries = row.HTTPRetries
	}
	if p.MaxRetries != nil {
		maxRetries = *p.MaxRetries
	} else if co.MaxRetries != nil {
		maxRetries = *co.MaxRetries
	}
	timeout := c.timeout
	if row.ReadTimeout > 0 {
		timeout = row.ReadTimeout
	}
	if p.Timeout > 0 {
		timeout = p.Timeout
	} else if co.Timeout > 0 {
		timeout = co.Timeout
	}
	var url string
	if len(req.Query) > 0 {
		url = c.baseURL + req.Path + "?" + req.Query.Encode()
	} else {
		url = c.url(req.Path)
	}
	call := &call{c: c, reqCopy: *req, op: op, method: method, url: url, body: body, ctype: ctype,
		timeout: timeout, readTimeout: c.readTimeoutValue(timeout), pool: c.pool(p.Pool),
		maxRetries: maxRetries, retryPolicy: p.Retry, backoff: p.Backoff, callHeader: co.Header,
		noBilling: p.NoBillingPause || row.NoBillingPause, noProxy: p.NoProxyRejection}
	call.req = &call.reqCopy
	if call.retryPolicy == nil {
		call.retryPolicy = DefaultRetryPolicy
	}
	if call.backoff == nil {
		call.backoff = c.backoff
	}
	idem := method != http.MethodGet && !p.NoIdempotencyKey
	call.begin(p.Pool)

	first := c.clock.Now()
	for resend := 0; ; resend++ {
		if idem {
			var buf [len(idempotencyPrefix) + 36]byte
			key := string(uuid.Append(append(buf[:0], idempotencyPrefix...)))
			if resend == 0 {
				// The first sequence's value lives in the call; a resend gets
				// a slice of its own, since the earlier attempts' header maps
				// still point at this one.
				call.idemFirst[0] = key
				call.idem = call.idemFirst[:]
			} else {
				call.idem = []string{key}
			}
		}
		resp, last, resendable, e := call.sequence(ctx)
		if e == nil {
			call.succeed(resp)
			return resp, nil
		}
		if !resendable || row.Resend == nil || !row.Resend(last) {
			return resp, call.fail(call.retries, e)
		}
		delay := c.resendBackoff(resend)
		left := c.resendBudget - c.clock.Now().Sub(first)
		if left <= 0 {
			return resp, call.fail(call.retries, e)
		}
		delay = min(delay, left)
		call.retries++
		c.emitCallRetry(call, last, resend+1, delay)
		if err := c.sleep(ctx, delay); err != nil {
			return nil, call.fail(call.retries, c.canceled(call, err))
		}
	}
}

// sequence is one attempt sequence of the HTTP layer under one idempotency
// key. On failure it returns the error and the last outcome, resendable
// when the second layer may send the call again (not after cancellation,
// an oversize body or an undecodable success).
func (cl *call) sequence(ctx context.Context) (*Response, Outcome, bool, *types.Error) {
	c, p := cl.c, cl.req.Policy
	retries, billing := 0, 0 // of this sequence: x-stainless-retry-count is their sum
	for {
		if err := ctx.Err(); err != nil {
			return nil, Outcome{}, false, c.canceled(cl, err)
		}
		if e := cl.renewCredential(ctx); e != nil {
			if ctx.Err() != nil {
				return nil, Outcome{}, false, c.canceled(cl, ctx.Err())
			}
			return nil, Outcome{Err: e}, types.IsRetryable(e), e
		}
		cl.attempts++
		out, resp := cl.attempt(ctx, retries+billing)
		if out.Err != nil && ctx.Err() != nil {
			return nil, Outcome{}, false, c.canceled(cl, ctx.Err())
		}
		if out.Err == nil && out.StatusCode >= 200 && out.StatusCode < 300 {
			if !cl.noProxy {
				c.proxy.give(cl.poolKind)
			}
			resp.Retries = cl.retries
			if cl.req.Into != nil {
				if err := cl.req.Into.Decode(resp.ContentType(), resp.Body); err != nil {
					e := cl.error(out, types.KindValidation)
					e.Message = "cannot decode response body"
					e.Err = types.RedactError(err, cl.secrets()...) // its text may quote what the server sent
					return resp, Outcome{}, false, e
				}
			}
			return resp, Outcome{}, false, nil
		}
		if errors.Is(out.Err, errBodyTooLarge) {
			return nil, Outcome{}, false, cl.error(out, types.KindValidation)
		}

		var delay time.Duration
		switch {
		case out.StatusCode == http.StatusPaymentRequired && !cl.noBilling && c.billing.pause(c.clock.Now()):
			billing++
			cl.retries++
			delay = c.billingInterval
		case retries < cl.maxRetries && cl.retryPolicy(out):
			delay = cl.backoff(retries, out, c.clock.Now())
			retries++
			cl.retries++
		default:
			if out.StatusCode == http.StatusTooManyRequests && !p.NoRateLimitReport {
				c.reportRateLimited(out, cl.backoff, retries)
			}
			if cl.proxyRejection(out) {
				// A connection error from here on, for the second layer and
				// the caller alike, with no response to inspect.
				e := cl.error(out, types.KindConnection)
				e.Err = ErrProxyRejected
				return nil, Outcome{Attempt: out.Attempt, Err: ErrProxyRejected}, true, e
			}
			e := cl.error(out, out.Kind())
			if resp != nil {
				resp.Retries = cl.retries
			}
			return resp, out, true, e
		}
		if out.StatusCode == http.StatusTooManyRequests && !p.NoRateLimitReport {
			c.reportRateLimited(out, func(int, Outcome, time.Time) time.Duration { return delay }, retries)
		}
		c.emitRetry(cl, out, delay)
		if err := c.sleep(ctx, delay); err != nil {
			return nil, Outcome{}, false, c.canceled(cl, err)
		}
	}
}

// reportRateLimited tells the config's limiter about a 429.
func (c *Client) reportRateLimited(out Outcome, backoff Backoff, retry int) {
	if c.observer == nil {
		return
	}
	d, ok := RetryAfter(out.Header, c.clock.Now())
	if !ok || d <= 0 || d > MaxRetryAfter {
		d = backoff(retry, out, c.clock.Now())
	}
	c.observer.ReportRateLimited(d)
}

func (c *Client) canceled(call *call, cause error) *types.Error {
	e := types.CanceledError(call.op, cause)
	e.Method, e.Path, e.Attempts = call.method, call.req.Path, call.attempts
	return e
}

// call is the state of one Do.
type call struct {
	c   *Client
	req *Request // &reqCopy
	// reqCopy is the caller's Request, copied so that it need not escape
	// (callers build it on their stack).
	reqCopy Request
	op      string
	method  string
	url     string
	body    []byte
	ctype   string
	idem    []string // X-Idempotency-Key value, nil when not sent
	// idemFirst holds the first sequence's X-Idempotency-Key value.
	idemFirst [1]string
	timeout   time.Duration
	// readTimeout is the x-stainless-read-timeout value.
	readTimeout []string
	callHeader  http.Header // CallOptions.Header, under the request's own headers
	pool        *http.Client
	attempts    int
	// retries counts every retry of the call: HTTP layer, billing pause
	// and second layer.
	retries     int
	maxRetries  int
	noBilling   bool // a 402 fails at once (Policy.NoBillingPause, the call's row)
	noProxy     bool // a bare 400 stays a 400 (Policy.NoProxyRejection)
	retryPolicy RetryPolicy
	backoff     Backoff
	// span state (see begin); poolKind also names the pool whose bare-400
	// budget the call spends and refills
	poolKind      Pool
	started       time.Time
	stopOn, excOn bool
}

var errBodyTooLarge = errors.New("response body exceeds the configured cap")

// idempotencyPrefix starts every X-Idempotency-Key.
const idempotencyPrefix = "tinkex-go-retry-"

// Read-only header values shared by every request.
var (
	jsonValue     = []string{ContentTypeJSON}
	protobufValue = []string{ContentTypeProtobuf}
	retryCounts   = func() [][]string {
		v := make([][]string, DefaultMaxRetries+1)
		for i := range v {
			v[i] = []string{strconv.Itoa(i)}
		}
		return v
	}()
)

func retryCountValue(n int) []string {
	if n < len(retryCounts) {
		return retryCounts[n]
	}
	return []string{strconv.Itoa(n)}
}

// readTimeoutValue is the x-stainless-read-timeout header for d; the
// client's default timeout's value is computed once.
func (c *Client) readTimeoutValue(d time.Duration) []string {
	if d == c.timeout {
		return c.defaultReadTimeout
	}
	if v, ok := readTimeoutValues.Load(d); ok {
		return v.([]string)
	}
	v := []string{strconv.FormatFloat(d.Seconds(), 'f', -1, 64)}
	if readTimeoutCount.Add(1) <= maxCachedReadTimeouts {
		readTimeoutValues.Store(d, v)
	}
	return v
}

// readTimeoutValues caches x-stainless-read-timeout values (read-only
// slices) of the timeouts in use, for at most maxCachedReadTimeouts durations.
var (
	readTimeoutValues sync.Map // time.Duration → []string
	readTimeoutCount  atomic.Int32
)

// maxCachedReadTimeouts bounds readTimeoutValues: the timeouts in use fit
// many times over.
const maxCachedReadTimeouts = 64

// attempt sends one HTTP request. It returns the outcome and, when a response
// arrived, the Response.
func (cl *call) attempt(ctx context.Context, retryCount int) (Outcome, *Response) {
	out := Outcome{Attempt: cl.attempts}
	// The attempt's own timeout needs a context of its own only when the
	// caller's deadline is later (or absent).
	actx := ctx
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > cl.timeout {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, cl.timeout)
		defer cancel()
	}
	var rd io.Reader
	if cl.body != nil {
		rd = bytes.NewReader(cl.body)
	}
	hreq, err := http.NewRequestWithContext(actx, cl.method, cl.url, rd)
	if err != nil {
		out.Err = cl.scrubError(err)
		return out, nil
	}
	// The header map shares its value slices with the client's base headers,
	// the request's headers and package-level constants: net/http never
	// modifies a request's header values, and neither does tinkex.
	// On tinkex's own pools tinkex's own names are in their wire form (see
	// ownKeys); the base headers already are.
	form, key := 0, http.CanonicalHeaderKey
	if cl.c.httpClient == nil {
		form, key = 1, wireKey
	}
	h := make(http.Header, len(cl.c.header)+len(cl.callHeader)+len(cl.req.Header)+7)
	for k, vs := range cl.c.header {
		h[k] = vs
	}
	for k, vs := range cl.callHeader {
		h[key(k)] = vs
	}
	h[keyAPIKey[form]] = cl.c.credential.Load().header
	for k, vs := range cl.req.Header {
		h[key(k)] = vs
	}
	h[keyRetryCount[form]] = retryCountValue(retryCount)
	h[keyReadTimeout[form]] = cl.readTimeout
	if cl.idem != nil {
		h["X-Idempotency-Key"] = cl.idem
	}
	switch cl.req.Accept {
	case "", ContentTypeJSON:
		h["Accept"] = jsonValue
	case ContentTypeProtobuf:
		h["Accept"] = protobufValue
	default:
		h["Accept"] = []string{cl.req.Accept}
	}
	switch {
	case cl.method == http.MethodGet:
		// The SDK drops its default Content-Type on GET only.
	case cl.body == nil:
		h["Content-Type"] = jsonValue // the SDK's default header, also on a bodiless POST or DELETE
	default:
		switch cl.ctype {
		case ContentTypeJSON:
			h["Content-Type"] = jsonValue
		case ContentTypeProtobuf:
			h["Content-Type"] = protobufValue
		default:
			h["Content-Type"] = []string{cl.ctype}
		}
		if cl.req.ContentEncoding != "" {
			h["Content-Encoding"] = []string{cl.req.ContentEncoding}
		}
	}
	hreq.Header = h // NewRequestWithContext set GetBody for the *bytes.Reader

	hresp, err := cl.send(hreq)
	if err != nil {
		err = cl.scrubError(err) // net/http quotes a malformed status or header line
		out.Err = err
		out.Timeout = actx.Err() != nil && ctx.Err() == nil || isTimeout(err) && ctx.Err() == nil
		return out, nil
	}
	defer hresp.Body.Close()
	out.StatusCode = hresp.StatusCode
	out.Header = hresp.Header
	body, err := readCapped(hresp.Body, hresp.ContentLength, cl.c.maxBody)
	if err != nil {
		// A body cut short is a transport failure (retryable); an oversize
		// one is not.
		out.Err = cl.scrubError(err)
		if !errors.Is(err, errBodyTooLarge) {
			out.StatusCode = 0
			out.Timeout = actx.Err() != nil && ctx.Err() == nil
		}
		return out, nil
	}
	out.Body = body
	return out, &Response{StatusCode: hresp.StatusCode, Header: hresp.Header, Body: body, Attempts: cl.attempts}
}

// send sends one request. On tinkex's own pools it goes straight to the
// transport: net/http's Client would only clone the header map (for
// redirects, which tinkex never follows: a 3xx comes back as the response
// either way) and wrap errors in a *url.Error, which send does too. A
// user-supplied client (WithHTTPClient) gets the request through its Do,
// with its jar and timeout.
func (cl *call) send(hreq *http.Request) (*http.Response, error) {
	if cl.c.httpClient != nil {
		return cl.pool.Do(hreq)
	}
	resp, err := cl.pool.Transport.RoundTrip(hreq)
	if err != nil {
		return nil, &neturl.Error{Op: urlErrorOp(hreq.Method), URL: cl.url, Err: err}
	}
	return resp, nil
}

// urlErrorOp is net/http's Op of a *url.Error: the method, capitalized.
func urlErrorOp(method string) string {
	switch method {
	case http.MethodPost:
		return "Post"
	case http.MethodGet:
		return "Get"
	case "":
		return "Get"
	}
	if len(method) > 1 && method[0] >= 'A' && method[0] <= 'Z' {
		return method[:1] + strings.ToLower(method[1:])
	}
	return method
}

// error builds the final *types.Error of a failed call.
func (cl *call) error(out Outcome, kind types.Kind) *types.Error {
	e := &types.Error{
		Kind:       kind,
		Op:         cl.op,
		Method:     cl.method,
		Path:       cl.req.Path,
		StatusCode: out.StatusCode,
		Attempts:   cl.attempts,
	}
	if out.Err != nil {
		e.Err = out.Err
		if why := permanentFailure(out.Err); why != "" {
			e.Message = cl.scrub(why + " (not retried)")
		}
		if errors.Is(out.Err, errBodyTooLarge) {
			e.Message = "response body exceeds the cap of " + strconv.FormatInt(cl.c.maxBody, 10) + " bytes (see WithMaxResponseBytes)"
			e.Err = nil
		}
	} else {
		e.Category = out.Category()
		e.Message = errorMessage(out.Body, cl.secrets()...)
		if isRedirect(out.StatusCode) {
			e.Message = cl.redirectMessage(out)
		}
		e.RequestID = cl.scrub(firstHeader(out.Header, "x-request-id", "request-id"))
		if v, ok := out.ShouldRetryHeader(); ok && !v {
			e.NoRetry = true
		}
		if d, ok := RetryAfter(out.Header, cl.c.clock.Now()); ok && d > 0 {
			e.RetryAfter = d
		}
	}
	return e
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

func encodeBody(req *Request) ([]byte, string, error) {
	if req.RawBody != nil {
		ct := req.ContentType
		if ct == "" {
			ct = ContentTypeJSON
		}
		return req.RawBody, ct, nil
	}
	if req.Body == nil {
		return nil, "", nil
	}
	if a, ok := req.Body.(JSONAppender); ok {
		b, err := a.AppendJSON(nil)
		if err != nil {
			return nil, "", err
		}
		return b, ContentTypeJSON, nil
	}
	b, err := json.Marshal(req.Body)
	if err != nil {
		return nil, "", err
	}
	return b, ContentTypeJSON, nil
}

// JSONAppender is a request Body that writes its own JSON in one pass
// (types.SampleRequest: the asample body). AppendJSON must append exactly
// what json.Marshal would write.
type JSONAppender interface {
	AppendJSON(b []byte) ([]byte, error)
}

// Telemetry.

// The request span is kept in the call (no Span object, no closure): on the
// hot path, where usually only the exception event has a listener, a
// successful request then builds nothing.

func (cl *call) begin(p Pool) {
	bus := cl.c.bus
	cl.poolKind = p
	startOn := bus.Enabled(telemetry.HTTPRequestStart)
	cl.stopOn, cl.excOn = bus.Enabled(telemetry.HTTPRequestStop), bus.Enabled(telemetry.HTTPRequestError)
	if !startOn && !cl.stopOn && !cl.excOn {
		return
	}
	cl.started = bus.Now()
	if startOn {
		bus.Execute(telemetry.HTTPRequestStart, map[string]float64{telemetry.MeasureSystemTime: float64(cl.started.UnixNano()) / 1e9}, cl.metadata())
	}
}

func (cl *call) metadata() map[string]any {
	md := map[string]any{
		telemetry.KeyConfig:  cl.c.fingerprint,
		telemetry.KeyBaseURL: cl.c.baseURL,
		telemetry.KeyPool:    cl.poolKind.String(),
		telemetry.KeyMethod:  cl.method,
		telemetry.KeyPath:    cl.req.Path,
		telemetry.KeyOp:      cl.op,
	}
	if id := cl.c.session.Load(); id != nil {
		md[telemetry.KeySessionID] = *id
	}
	return md
}

func (cl *call) succeed(resp *Response) {
	if !cl.stopOn {
		return
	}
	md := cl.metadata()
	md[telemetry.KeyStatus] = resp.StatusCode
	cl.c.bus.Execute(telemetry.HTTPRequestStop, map[string]float64{
		telemetry.MeasureDuration:   cl.c.bus.Now().Sub(cl.started).Seconds(),
		telemetry.MeasureRetryCount: float64(resp.Retries),
		"attempts":                  float64(resp.Attempts),
	}, md)
}

func (cl *call) fail(retries int, e *types.Error) *types.Error {
	if !cl.excOn {
		return e
	}
	md := cl.metadata()
	md[telemetry.KeyStatus] = e.StatusCode
	md[telemetry.KeyKind] = e.Kind.String()
	md[telemetry.KeyError] = e.Error()
	cl.c.bus.Execute(telemetry.HTTPRequestError, map[string]float64{
		telemetry.MeasureDuration:   cl.c.bus.Now().Sub(cl.started).Seconds(),
		telemetry.MeasureRetryCount: float64(retries),
		"attempts":                  float64(cl.attempts),
	}, md)
	return e
}

// emitRetry reports a retry of the HTTP layer (tinkex.http.retry), before
// its backoff sleep of delay.
func (c *Client) emitRetry(cl *call, out Outcome, delay time.Duration) {
	if !c.bus.Enabled(telemetry.HTTPRetry) {
		return
	}
	c.bus.Execute(telemetry.HTTPRetry, map[string]float64{
		telemetry.MeasureAttempt: float64(out.Attempt),
		telemetry.MeasureDelay:   delay.Seconds(),
	}, cl.retryMetadata(out))
}

// emitCallRetry reports a resend of the second layer (tinkex.call.retry):
// resend is its 1-based number, delay the backoff before it.
func (c *Client) emitCallRetry(cl *call, out Outcome, resend int, delay time.Duration) {
	if !c.bus.Enabled(telemetry.CallRetry) {
		return
	}
	c.bus.Execute(telemetry.CallRetry, map[string]float64{
		telemetry.MeasureAttempt: float64(resend),
		telemetry.MeasureDelay:   delay.Seconds(),
		"attempts":               float64(cl.attempts),
	}, cl.retryMetadata(out))
}

// retryMetadata is the metadata of both retry events: the span's start
// metadata plus the failed attempt's status, kind and error.
func (cl *call) retryMetadata(out Outcome) map[string]any {
	md := cl.metadata()
	md[telemetry.KeyStatus] = out.StatusCode
	md[telemetry.KeyKind] = out.Kind().String()
	if out.Err != nil {
		md[telemetry.KeyError] = out.Err.Error() // scrubbed as it arrived (scrubError)
	}
	return md
}
