package tinkex

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Sampling flow-control constants (reference §4.5).
const (
	// bytesPerToken is the dispatch cost estimate of one prompt token.
	bytesPerToken = 10
	// maxPromiseExpiredResubmits is how many times one Sample call resubmits
	// after its future expired (HTTP 410 on retrieve_future).
	maxPromiseExpiredResubmits = 1
)

// SampleOption adjusts one Sample call.
type SampleOption func(*sampleOptions)

type sampleOptions struct {
	promptLogprobs bool
	topk           int
}

// WithPromptLogprobs asks for the logprob of every prompt token.
func WithPromptLogprobs() SampleOption { return func(o *sampleOptions) { o.promptLogprobs = true } }

// WithTopkPromptLogprobs asks for the k most likely tokens at every prompt
// position.
func WithTopkPromptLogprobs(k int) SampleOption { return func(o *sampleOptions) { o.topk = k } }

// SamplingClient samples from one sampling session (a base model or saved
// weights). Sample runs entirely on the caller's goroutine: limiter wait,
// submit, poll, decode — no actor mailbox is involved — so any number of
// goroutines may sample concurrently. Its actor, sampling:<sampler_id> in
// the tree, owns the session's lifecycle; a crash of that actor does not
// disturb calls in flight.
type SamplingClient struct {
	svc       *ServiceClient // lifetime (bind, background work) and stop errors
	http      *httpclient.Client
	poller    *poller
	bus       *telemetry.Bus
	clock     clock.Clock
	config    string // the config's fingerprint, for events
	baseURL   string // the config's base URL, for events
	samplerID string
	baseModel string
	modelPath string
	seq       *registry.Counter // next seq_id; durable across actor restarts
	lim       *limiter.Limiter
	stopped   atomic.Bool
	pid       atomic.Pointer[actor.PID]
}

// SamplerID returns the sampling session id ("<session>:sample:<n>").
func (s *SamplingClient) SamplerID() string { return s.samplerID }

// BaseModel returns the base model the session was created for, if known.
func (s *SamplingClient) BaseModel() string { return s.baseModel }

// ModelPath returns the tinker:// weights path the session samples from, if any.
func (s *SamplingClient) ModelPath() string { return s.modelPath }

// Sample draws numSamples completions of prompt. It blocks until the result
// arrives or ctx ends, and returns a *types.Error otherwise: KindValidation
// for bad input (nothing is sent), KindServer for a 5xx that outlasted the
// second retry layer (asample has no HTTP-layer retries; the second layer
// sends a 5xx, 408, timeout or transport failure again, see
// spec/BEHAVIOR.md "Retry layers per call"), KindRequestFailed when the
// server failed the request, KindCanceled when ctx ended, KindClientStopped
// after Close. A 429 is not an error: it sets the config's shared backoff,
// and the call waits it out and resubmits, unless the server answered
// x-should-retry: false (then it is returned, KindRateLimited). Every
// resubmission of one sample (after a 429, an expired future, or a
// second-layer resend) keeps the sample's seq_id and carries a new
// idempotency key.
func (s *SamplingClient) Sample(ctx context.Context, prompt ModelInput, numSamples int, params SamplingParams, opts ...SampleOption) (*SampleResponse, error) {
	return s.sample(ctx, s.sampleRequest(prompt, numSamples, params, opts))
}

func (s *SamplingClient) sampleRequest(prompt ModelInput, numSamples int, params SamplingParams, opts []SampleOption) types.SampleRequest {
	var o sampleOptions
	if len(opts) > 0 {
		o = collectSampleOptions(opts)
	}
	return types.SampleRequest{
		SamplingSessionID:  s.samplerID,
		NumSamples:         numSamples,
		Prompt:             prompt,
		SamplingParams:     params,
		PromptLogprobs:     o.promptLogprobs,
		TopkPromptLogprobs: o.topk,
	}
}

// collectSampleOptions applies opts (kept out of Sample, where the
// options would otherwise be allocated on every call).
func collectSampleOptions(opts []SampleOption) sampleOptions {
	var o sampleOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// SampleAsync starts Sample in the background and returns its future. The
// call is bound to ctx and to the client's lifetime. Bad input fails the
// future at once (it is already complete on return) and sends nothing, as
// for every call that returns a Future.
func (s *SamplingClient) SampleAsync(ctx context.Context, prompt ModelInput, numSamples int, params SamplingParams, opts ...SampleOption) *Future[*SampleResponse] {
	req := s.sampleRequest(prompt, numSamples, params, opts)
	if err := req.Validate(); err != nil {
		return Resolved[*SampleResponse](nil, err)
	}
	f := newOpFuture[*SampleResponse]("sample")
	if !s.svc.goBackground(func() {
		f.complete(s.sample(ctx, req))
	}) {
		f.fail(s.svc.stoppedError("sample"))
	}
	return f
}

// ComputeLogprobs returns the logprob of every prompt token; the first is
// NaN (it has no context). It samples one token with prompt logprobs on.
func (s *SamplingClient) ComputeLogprobs(ctx context.Context, prompt ModelInput) (NullableFloats, error) {
	return s.computeLogprobs(ctx, s.logprobsRequest(prompt))
}

func (s *SamplingClient) logprobsRequest(prompt ModelInput) types.SampleRequest {
	return types.SampleRequest{SamplingSessionID: s.samplerID, NumSamples: 1, Prompt: prompt,
		SamplingParams: types.NewSamplingParams(types.WithMaxTokens(1)), PromptLogprobs: true}
}

func (s *SamplingClient) computeLogprobs(ctx context.Context, req types.SampleRequest) (NullableFloats, error) {
	resp, err := s.sample(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.PromptLogprobs, nil
}

// ComputeLogprobsAsync starts ComputeLogprobs in the background; bad input
// fails the future at once, as in SampleAsync.
func (s *SamplingClient) ComputeLogprobsAsync(ctx context.Context, prompt ModelInput) *Future[NullableFloats] {
	req := s.logprobsRequest(prompt)
	if err := req.Validate(); err != nil {
		return Resolved[NullableFloats](nil, err)
	}
	f := newOpFuture[NullableFloats]("compute_logprobs")
	if !s.svc.goBackground(func() { f.complete(s.computeLogprobs(ctx, req)) }) {
		f.fail(s.svc.stoppedError("compute_logprobs"))
	}
	return f
}

func (s *SamplingClient) sample(ctx context.Context, req types.SampleRequest) (resp *SampleResponse, err error) {
	const op = "sample"
	if s.stopped.Load() || s.svc.stopped.Load() {
		return nil, s.svc.stoppedError(op)
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	cost := promptCost(req.Prompt)
	// The span is kept in locals: when (as usual) only failures have a
	// listener, a successful sample builds no telemetry at all.
	spanSeq := int64(-1) // the sample's seq_id for its span's end, once taken (sampling seq_ids start at 0)
	bus := s.bus
	if startOn, stopOn, excOn := bus.Enabled(telemetry.SamplingSampleStart), bus.Enabled(telemetry.SamplingSampleStop),
		bus.Enabled(telemetry.SamplingSampleException); startOn || stopOn || excOn {
		began := bus.Now()
		if startOn {
			bus.Execute(telemetry.SamplingSampleStart,
				map[string]float64{telemetry.MeasureSystemTime: float64(began.UnixNano()) / 1e9}, s.spanMeta())
		}
		defer func() { s.endSpan(began, stopOn, excOn, spanSeq, resp, err) }()
	}
	ctx, stop := s.svc.bind(ctx)
	defer stop()

	// One sample, one seq_id: every resubmission of it (after a 429, a 410
	// or a second-layer resend) keeps it, under a new idempotency key.
	req.SeqID = s.seq.Next()
	spanSeq = req.SeqID
	expired := 0
	for {
		reqID, seq, trip, err := s.submit(ctx, &req, cost)
		if err != nil {
			return nil, s.svc.translateStop(ctx, op, err)
		}
		res, err := s.poller.poll(ctx, pollSpec{
			op: op, requestType: "Sample", requestID: reqID, proto: true, roundtrip: trip,
			samplerID: s.samplerID, seq: seq, hasSeq: true,
		})
		if err != nil {
			if errors.Is(err, ErrPromiseExpired) && expired < maxPromiseExpiredResubmits {
				expired++
				continue
			}
			return nil, s.svc.translateStop(ctx, op, err)
		}
		out, err := decodeSampleResponse(res.contentType, res.body)
		res.permit.Release()
		if err == nil {
			err = out.CheckAgainst(req, reqID)
		}
		if err != nil {
			return nil, withRequestID(err, reqID)
		}
		return out, nil
	}
}

// submit dispatches one asample under the config's limiter, waiting out and
// resubmitting after 429s with the same seq_id. It returns the future's
// request id, the seq_id it was sent with and the accepted submit's round
// trip.
func (s *SamplingClient) submit(ctx context.Context, req *types.SampleRequest, cost int64) (string, int64, time.Duration, error) {
	permit, err := s.lim.Acquire(ctx, cost)
	for {
		if err != nil {
			return "", 0, 0, err
		}
		start := s.clock.Now()
		var fut types.UntypedAPIFuture
		_, err = s.http.Do(ctx, &httpclient.Request{
			Op:     "sample",
			Path:   "/api/v1/asample",
			Call:   httpclient.CallSample,
			Body:   req,
			Header: backpressureHeader,
			Policy: httpclient.Policy{Pool: httpclient.PoolSampling, Retry: httpclient.NoAutoRetryPolicy, NoRateLimitReport: true},
			Into:   futureInto(&fut),
		})
		if e := rateLimited(err); e != nil {
			// The sampling 429 rule (limiter.SamplingBackoffFor): report the
			// config's backoff, give the slot and bytes back while it lasts,
			// and take new ones for the resubmission; unless the server
			// answered x-should-retry: false (it overrides the status, as in
			// every column of BEHAVIOR's truth table): then the sample is not
			// sent again, but the config is still rate limited for the others.
			d := limiter.SamplingBackoffFor(e.RetryAfter, cost)
			if !e.NoRetry {
				permit, err = s.lim.BackOff(ctx, permit, d)
				continue
			}
			s.lim.ReportRateLimited(d)
		}
		// The slot and bytes are for the submit phase only; they are given
		// back before the poll.
		permit.Release()
		if err != nil {
			return "", req.SeqID, 0, err
		}
		if fut.RequestID == "" {
			return "", req.SeqID, 0, &Error{Kind: types.KindValidation, Op: "sample", Path: "/api/v1/asample",
				Message: "server answered asample without a request_id"}
		}
		if err := checkServerID(s.http, "sample", "request_id", fut.RequestID); err != nil {
			return "", req.SeqID, 0, err
		}
		return fut.RequestID, req.SeqID, s.clock.Now().Sub(start), nil
	}
}

// rateLimited returns err's *Error when it is a 429 (KindRateLimited), nil
// otherwise. A nil err costs nothing.
func rateLimited(err error) *Error {
	var e *Error
	if err != nil && errors.As(err, &e) && e.Kind == types.KindRateLimited {
		return e
	}
	return nil
}

// backpressureHeader is sent on every asample; it is shared read-only.
var backpressureHeader = http.Header{"X-Tinker-Sampling-Backpressure": {"1"}}

// endSpan emits the sample span's stop or exception event, if listened to,
// with the sample's seq_id when it took one (seq >= 0).
func (s *SamplingClient) endSpan(began time.Time, stopOn, excOn bool, seq int64, resp *SampleResponse, err error) {
	bus := s.bus
	switch {
	case err == nil && stopOn:
		bus.Execute(telemetry.SamplingSampleStop, map[string]float64{
			telemetry.MeasureDuration: bus.Now().Sub(began).Seconds(), "sequences": float64(len(resp.Sequences)),
		}, s.endMeta(seq))
	case err != nil && excOn:
		md := errorKindMeta(s.endMeta(seq), err)
		md[telemetry.KeyError] = err.Error()
		bus.Execute(telemetry.SamplingSampleException, map[string]float64{
			telemetry.MeasureDuration: bus.Now().Sub(began).Seconds(),
		}, md)
	}
}

// endMeta is the span's metadata and the sample's seq_id, once taken.
func (s *SamplingClient) endMeta(seq int64) map[string]any {
	md := s.spanMeta()
	if seq >= 0 {
		md[telemetry.KeySeqID] = seq
	}
	return md
}

func (s *SamplingClient) spanMeta() map[string]any {
	return map[string]any{
		telemetry.KeyConfig:    s.config,
		telemetry.KeyBaseURL:   s.baseURL,
		telemetry.KeySessionID: s.svc.SessionID(),
		telemetry.KeySamplerID: s.samplerID,
	}
}

// promptCost estimates a prompt's dispatch bytes: 10 per text token, the
// raw size of images and dmel chunks, the location length of pointers.
func promptCost(m ModelInput) int64 {
	var n int64
	for _, c := range m.Chunks {
		switch c := c.(type) {
		case EncodedTextChunk:
			n += int64(len(c.Tokens)) * bytesPerToken
		case *EncodedTextChunk:
			n += int64(len(c.Tokens)) * bytesPerToken
		case ImageChunk:
			n += int64(len(c.Data))
		case *ImageChunk:
			n += int64(len(c.Data))
		case ImageAssetPointerChunk:
			n += int64(len(c.Location))
		case *ImageAssetPointerChunk:
			n += int64(len(c.Location))
		case DmelChunk:
			n += int64(len(c.Dmel))
		case *DmelChunk:
			n += int64(len(c.Dmel))
		}
	}
	return n
}
