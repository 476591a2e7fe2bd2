package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tinkex-go/tinkex/internal/uuid"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Do sends req, retrying per its Policy, and returns the last response.
//
// On success (2xx) it decodes the body with req.Into, if set, and returns the
// response. On failure it returns a *types.Error; when the failure was an
// HTTP status, the returned *Response is non-nil too and holds that last
// response (status, headers, body), so callers such as the future poller can
// inspect it. Every call ends in a response or an error: cancellation of ctx
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
	co := CallOptionsFrom(ctx)
	if err := co.validate(op); err != nil {
		return nil, err
	}
	maxRetries := c.maxRetries
	if p.MaxRetries != nil {
		maxRetries = *p.MaxRetries
	} else if co.MaxRetries != nil {
		maxRetries = *co.MaxRetries
	}
	timeout := c.timeout
	if p.Timeout > 0 {
		timeout = p.Timeout
	} else if co.Timeout > 0 {
		timeout = co.Timeout
	}
	retryPolicy := p.Retry
	if retryPolicy == nil {
		retryPolicy = DefaultRetryPolicy
	}
	backoff := p.Backoff
	if backoff == nil {
		backoff = c.backoff
	}
	url := c.baseURL + req.Path
	if len(req.Query) > 0 {
		url += "?" + req.Query.Encode()
	}
	var idem []string
	if method != http.MethodGet && !p.NoIdempotencyKey {
		var buf [len(idempotencyPrefix) + 36]byte
		idem = []string{string(uuid.Append(append(buf[:0], idempotencyPrefix...)))}
	}

	call := &call{c: c, req: req, op: op, method: method, url: url, body: body, ctype: ctype,
		idem: idem, timeout: timeout, readTimeout: c.readTimeoutValue(timeout), pool: c.pool(p.Pool), callHeader: co.Header}
	call.begin(p.Pool)

	retries, billingRetries := 0, 0
	for {
		if err := ctx.Err(); err != nil {
			return nil, call.fail(retries+billingRetries, c.canceled(call, err))
		}
		call.attempts++
		out, resp := call.attempt(ctx, retries+billingRetries)
		if out.Err != nil && ctx.Err() != nil {
			return nil, call.fail(retries+billingRetries, c.canceled(call, ctx.Err()))
		}
		if out.Err == nil && out.StatusCode >= 200 && out.StatusCode < 300 {
			resp.Retries = retries + billingRetries
			if req.Into != nil {
				if err := req.Into.Decode(resp.ContentType(), resp.Body); err != nil {
					e := call.error(out, types.KindValidation)
					e.Message = "cannot decode response body"
					e.Err = err
					return resp, call.fail(resp.Retries, e)
				}
			}
			call.succeed(resp)
			return resp, nil
		}
		if errors.Is(out.Err, errBodyTooLarge) {
			e := call.error(out, types.KindValidation)
			return nil, call.fail(retries+billingRetries, e)
		}

		var delay time.Duration
		switch {
		case out.StatusCode == http.StatusPaymentRequired && !p.NoBillingPause && c.billing.pause(c.clock.Now()):
			billingRetries++
			delay = c.billingInterval
		case retries < maxRetries && retryPolicy(out):
			delay = backoff(retries, out, c.clock.Now())
			retries++
		default:
			if out.StatusCode == http.StatusTooManyRequests && !p.NoRateLimitReport {
				c.reportRateLimited(out, backoff, retries)
			}
			e := call.error(out, out.Kind())
			if resp != nil {
				resp.Retries = retries + billingRetries
			}
			return resp, call.fail(retries+billingRetries, e)
		}
		if out.StatusCode == http.StatusTooManyRequests && !p.NoRateLimitReport {
			c.reportRateLimited(out, func(int, Outcome, time.Time) time.Duration { return delay }, retries)
		}
		c.emitRetry(call, out, delay)
		if err := c.sleep(ctx, delay); err != nil {
			return nil, call.fail(retries+billingRetries, c.canceled(call, err))
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
	c       *Client
	req     *Request
	op      string
	method  string
	url     string
	body    []byte
	ctype   string
	idem    []string // X-Idempotency-Key value, nil when not sent
	timeout time.Duration
	// readTimeout is the x-stainless-read-timeout value.
	readTimeout []string
	callHeader  http.Header // CallOptions.Header, under the request's own headers
	pool        *http.Client
	attempts    int
	// span state (see begin)
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
	return []string{strconv.FormatFloat(d.Seconds(), 'f', -1, 64)}
}

// attempt sends one HTTP request. It returns the outcome and, when a response
// arrived, the Response.
func (cl *call) attempt(ctx context.Context, retryCount int) (Outcome, *Response) {
	out := Outcome{Attempt: cl.attempts}
	actx, cancel := context.WithTimeout(ctx, cl.timeout)
	defer cancel()
	var rd io.Reader
	if cl.body != nil {
		rd = bytes.NewReader(cl.body)
	}
	hreq, err := http.NewRequestWithContext(actx, cl.method, cl.url, rd)
	if err != nil {
		out.Err = err
		return out, nil
	}
	// The header map shares its value slices with the client's base headers,
	// the request's headers and package-level constants: net/http never
	// modifies a request's header values, and neither does tinkex.
	h := make(http.Header, len(cl.c.header)+len(cl.callHeader)+len(cl.req.Header)+7)
	for k, vs := range cl.c.header {
		h[k] = vs
	}
	for k, vs := range cl.callHeader {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	h["X-Api-Key"] = *cl.c.credential.Load()
	for k, vs := range cl.req.Header {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	h["X-Stainless-Retry-Count"] = retryCountValue(retryCount)
	h["X-Stainless-Read-Timeout"] = cl.readTimeout
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
	if cl.body != nil && cl.method != http.MethodGet {
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

	hresp, err := cl.pool.Do(hreq)
	if err != nil {
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
		out.Err = err
		if !errors.Is(err, errBodyTooLarge) {
			out.StatusCode = 0
			out.Timeout = actx.Err() != nil && ctx.Err() == nil
		}
		return out, nil
	}
	out.Body = body
	return out, &Response{StatusCode: hresp.StatusCode, Header: hresp.Header, Body: body, Attempts: cl.attempts}
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
			e.Message = cl.c.Scrub(why + " (not retried)")
		}
		if errors.Is(out.Err, errBodyTooLarge) {
			e.Message = "response body exceeds the cap of " + strconv.FormatInt(cl.c.maxBody, 10) + " bytes (see WithMaxResponseBytes)"
			e.Err = nil
		}
	} else {
		e.Category = out.Category()
		e.Message = errorMessage(out.Body, cl.c.secrets()...)
		if isRedirect(out.StatusCode) {
			e.Message = cl.c.redirectMessage(out)
		}
		e.RequestID = cl.c.Scrub(firstHeader(out.Header, "x-request-id", "request-id"))
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
	b, err := json.Marshal(req.Body)
	if err != nil {
		return nil, "", err
	}
	return b, ContentTypeJSON, nil
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
	return map[string]any{
		telemetry.KeyConfig:  cl.c.fingerprint,
		telemetry.KeyBaseURL: cl.c.baseURL,
		telemetry.KeyPool:    cl.poolKind.String(),
		telemetry.KeyMethod:  cl.method,
		telemetry.KeyPath:    cl.req.Path,
		telemetry.KeyOp:      cl.op,
	}
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

func (c *Client) emitRetry(cl *call, out Outcome, delay time.Duration) {
	if !c.bus.Enabled(telemetry.HTTPRetry) {
		return
	}
	md := map[string]any{
		telemetry.KeyConfig:  c.fingerprint,
		telemetry.KeyBaseURL: c.baseURL,
		telemetry.KeyMethod:  cl.method,
		telemetry.KeyPath:    cl.req.Path,
		telemetry.KeyOp:      cl.op,
		telemetry.KeyStatus:  out.StatusCode,
		telemetry.KeyKind:    out.Kind().String(),
	}
	if out.Err != nil {
		md[telemetry.KeyError] = c.Scrub(out.Err.Error())
	}
	c.bus.Execute(telemetry.HTTPRetry, map[string]float64{
		telemetry.MeasureAttempt: float64(out.Attempt),
		telemetry.MeasureDelay:   delay.Seconds(),
	}, md)
}
