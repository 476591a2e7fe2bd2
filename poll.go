package tinkex

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Poll settings (reference §3.5, spec BEHAVIOR.md polling column).
const (
	// PollTimeout bounds one retrieve_future request; the server long-polls.
	PollTimeout = 45 * time.Second
)

// PollBackoff is the wait before re-polling after a 429, a 5xx or a
// transport failure: min(Initial·2^n, Max) shortened by up to 25 % jitter,
// where n counts consecutive such failures. The zero value means the
// defaults (1 s, 30 s).
//
// It also keeps a server that does not long-poll from turning polling into
// a tight loop: a try_again answered in less than TryAgainFloor (the server
// did not hold the request) is followed by min(TryAgainInitial·2^m,
// TryAgainMax) shortened by up to 25 % jitter, m counting consecutive such
// answers; a try_again the server held at least TryAgainFloor is re-polled
// at once, as the Python SDK does. Zero values mean the defaults (50 ms,
// 10 ms, 1 s); a negative TryAgainFloor turns the guard off.
type PollBackoff struct {
	Initial time.Duration
	Max     time.Duration

	TryAgainFloor   time.Duration
	TryAgainInitial time.Duration
	TryAgainMax     time.Duration
}

// tryAgainDelay is the wait after the (n+1)th consecutive quick try_again,
// and whether the poll came back quickly at all (took < the floor).
func (b PollBackoff) tryAgainDelay(n int, took time.Duration) (time.Duration, bool) {
	floor := b.TryAgainFloor
	if floor == 0 {
		floor = 50 * time.Millisecond
	}
	if floor < 0 || took >= floor {
		return 0, false
	}
	return expBackoff(b.TryAgainInitial, 10*time.Millisecond, b.TryAgainMax, time.Second, n), true
}

// Backoff is the wait before the (retry+1)th consecutive re-poll after a
// failure: httpclient.ExponentialBackoff from Initial to Max. A 429's
// Retry-After does not stretch it: BEHAVIOR's polling column and the SDK
// back a poll off min(2^n, 30) s whatever the server hints.
func (b PollBackoff) Backoff() httpclient.Backoff {
	return func(retry int, _ httpclient.Outcome, _ time.Time) time.Duration {
		return expBackoff(b.Initial, time.Second, b.Max, 30*time.Second, retry)
	}
}

// expBackoff is httpclient.ExponentialBackoff (min(initial·2^n, max)
// shortened by up to 25 % jitter), with the defaults standing in for
// values <= 0: the poller and the HTTP layer share one backoff formula.
func expBackoff(initial, defInitial, max, defMax time.Duration, n int) time.Duration {
	if initial <= 0 {
		initial = defInitial
	}
	if max <= 0 {
		max = defMax
	}
	return httpclient.ExponentialBackoff(initial, max, rand.Float64)(n, httpclient.Outcome{}, time.Time{})
}

// poller polls retrieve_future for one config.
type poller struct {
	http     *httpclient.Client
	bus      *telemetry.Bus
	backoff  PollBackoff
	sleep    func(ctx context.Context, d time.Duration) error
	inflight *limiter.Budget // in-flight response bytes (complete_metadata)
	meta     func() map[string]any
	logger   *slog.Logger // with service (the client's name) added per line
	service  string
	clock    clock.Clock
	deadline time.Duration // default poll deadline; 0: none
}

// queueWarnEvery is how often a poll that stays paused logs its state.
const queueWarnEvery = 60 * time.Second

// pollSpec describes one future to poll.
type pollSpec struct {
	op          string // tinkex operation, for errors and telemetry
	requestType string // X-Tinker-Request-Type
	requestID   string
	proto       bool // ask for a protobuf result
	training    bool // queue-state wording
	roundtrip   time.Duration
	deadline    time.Duration // 0: none
	// Telemetry metadata of this future (built only when an event is emitted).
	samplerID, modelID string
	seq                int64
	hasSeq             bool
	onQueue            func(QueueState, string)
}

// pollResult is a completed future's raw result.
type pollResult struct {
	contentType string
	body        []byte
	permit      *limiter.Grant // in-flight bytes held for a complete_metadata result
}

// poll long-polls until the future completes, fails, or ctx ends. The
// returned permit (if any) must be released once the body is decoded.
func (p *poller) poll(ctx context.Context, s pollSpec) (res pollResult, err error) {
	if s.deadline == 0 {
		s.deadline = p.deadline
	}
	if s.deadline > 0 {
		var stop func()
		ctx, stop = p.withDeadline(ctx, s.deadline)
		defer stop()
	}
	defer func() {
		if err != nil {
			res.permit.Release()
			res.permit = nil
			if errors.Is(context.Cause(ctx), errPollDeadline) && types.KindOf(err) == types.KindCanceled {
				err = &Error{Kind: types.KindTimeout, Op: s.op, RequestID: s.requestID,
					Message: "no result within the poll deadline of " + s.deadline.String()}
				p.emit(telemetry.FutureTimeout, s, nil, map[string]any{telemetry.KeyKind: "timeout"})
			}
		}
	}()
	accept := httpclient.ContentTypeJSON
	if s.proto {
		accept = httpclient.ContentTypeProtobuf
	}
	reqType, ok := requestTypeValues[s.requestType]
	if !ok {
		reqType = []string{s.requestType}
	}
	// The body is encoded once per allow_metadata_only value, and one
	// header map serves every iteration (Do copies it per attempt).
	body, err := retrieveFutureBody(s.requestID, true)
	if err != nil {
		return res, &Error{Kind: types.KindValidation, Op: s.op, RequestID: s.requestID,
			Message: "cannot encode the retrieve_future body", Err: err}
	}
	h := http.Header{
		"X-Tinker-Request-Type":    reqType,
		"X-Stainless-Raw-Response": rawValue,
		// on every first poll, as the SDK sends it
		"X-Tinker-Create-Promise-Roundtrip-Time": {strconv.FormatFloat(s.roundtrip.Seconds(), 'f', -1, 64)},
	}
	st := &pollState{p: p, s: s, allowMeta: true, backoff: p.backoff.Backoff(), req: httpclient.Request{
		Op:      s.op,
		Path:    "/api/v1/retrieve_future",
		RawBody: body,
		Accept:  accept,
		Header:  h,
		// A poll's 429 backs this poll off only: the config's shared
		// backoff is set by submits (BEHAVIOR's polling column; the SDK's
		// _sample_backoff_until is set by asample alone). A bare 400 meets
		// the polling column's own rule, not the pool's budget.
		Policy: httpclient.Policy{MaxRetries: &noRetries, Timeout: PollTimeout,
			Pool: httpclient.PoolFutures, Retry: httpclient.NoAutoRetryPolicy, NoRateLimitReport: true,
			NoProxyRejection: true},
	}}
	for iter := 0; ; iter++ {
		sent := p.clock.Now()
		h["X-Tinker-Request-Iteration"] = iterationValue(iter)
		if iter == 1 {
			delete(h, "X-Tinker-Create-Promise-Roundtrip-Time")
		}
		resp, err := p.http.Do(ctx, &st.req)
		var delay time.Duration
		var done bool
		if err == nil {
			delay, done, err = st.answered(ctx, resp, sent)
		} else {
			delay, done, err = st.failed(resp, err, iter)
		}
		if done {
			return st.res, err
		}
		if delay > 0 {
			if err := p.sleep(ctx, delay); err != nil {
				return st.res, types.CanceledError(s.op, context.Cause(ctx))
			}
		}
	}
}

// pollState is one poll's loop state, owned by the polling goroutine.
type pollState struct {
	p         *poller
	s         pollSpec
	req       httpclient.Request
	res       pollResult // the permit is held here from complete_metadata on
	allowMeta bool
	backoff   httpclient.Backoff

	backoffs    int // consecutive failures waited out with the backoff
	badRequests int // consecutive empty-bodied 400s
	quick       int // consecutive try_agains the server did not hold
	lastState   QueueState
	lastWarn    time.Time
}

// answered handles a 2xx retrieve_future: a result ends the poll (done,
// nil error), a failed future or a bad body ends it with an error, a
// try_again or complete_metadata polls again after delay.
func (st *pollState) answered(ctx context.Context, resp *httpclient.Response, sent time.Time) (delay time.Duration, done bool, err error) {
	p, s := st.p, st.s
	if httpclient.IsProtobuf(resp.ContentType()) {
		st.res.contentType, st.res.body = resp.ContentType(), resp.Body
		return 0, true, nil
	}
	fb, perr := types.ParseFutureBody(resp.Body)
	if perr != nil {
		var e *Error
		if errors.As(perr, &e) {
			e.Op, e.RequestID = s.op, s.requestID
		}
		return 0, true, perr
	}
	switch fb.Kind {
	case types.FutureTryAgain:
		st.backoffs, st.badRequests = 0, 0
		st.lastState = p.queueState(s, st.lastState, fb.TryAgain.QueueState, fb.TryAgain.QueueStateReason, &st.lastWarn)
		d, fast := p.backoff.tryAgainDelay(st.quick, p.clock.Now().Sub(sent))
		if !fast {
			st.quick = 0
			return 0, false, nil
		}
		st.quick++
		return d, false, nil
	case types.FutureCompleteMetadata:
		if !st.allowMeta {
			return 0, true, &Error{Kind: types.KindValidation, Op: s.op, RequestID: s.requestID,
				Message: "server sent complete_metadata after allow_metadata_only was turned off"}
		}
		st.allowMeta = false
		if st.req.RawBody, err = retrieveFutureBody(s.requestID, false); err != nil {
			return 0, true, &Error{Kind: types.KindValidation, Op: s.op, RequestID: s.requestID,
				Message: "cannot encode the retrieve_future body", Err: err}
		}
		permit, aerr := p.inflight.Acquire(ctx, fb.Metadata.ResponsePayloadSize)
		if aerr != nil {
			return 0, true, aerr
		}
		st.res.permit = permit
		return 0, false, nil
	case types.FutureFailed:
		e := fb.Error.Err(s.op, s.requestID)
		e.Message = p.http.ScrubShort(e.Message)
		p.emit(telemetry.FutureRequestFailed, s, nil, map[string]any{
			telemetry.KeyCategory: string(e.Category), telemetry.KeyError: e.Message})
		return 0, true, e
	default:
		st.res.contentType, st.res.body = resp.ContentType(), fb.Result
		return 0, true, nil
	}
}

// failed handles a retrieve_future that failed, as httpclient.PollPolicy
// (the polling column of the truth table) decides: poll again after the
// backoff or at once, or end the poll with an error.
func (st *pollState) failed(resp *httpclient.Response, err error, iter int) (delay time.Duration, done bool, _ error) {
	p, s := st.p, st.s
	var e *Error
	if !errors.As(err, &e) || e.Kind == types.KindCanceled || e.Kind == types.KindValidation {
		return 0, true, withRequestID(err, s.requestID)
	}
	out := httpclient.Outcome{Err: err}
	if resp != nil {
		out = httpclient.Outcome{StatusCode: resp.StatusCode, Header: resp.Header, Body: resp.Body}
	}
	switch httpclient.PollPolicy(out, st.badRequests) {
	case httpclient.PollBackoff:
		if out.StatusCode == 0 { // transport failure or attempt timeout
			p.emit(telemetry.FutureConnectionError, s, nil, map[string]any{telemetry.KeyError: e.Error(), telemetry.KeyKind: e.Kind.String()})
		} else {
			p.emit(telemetry.FutureAPIError, s, map[string]float64{}, map[string]any{telemetry.KeyStatus: out.StatusCode, telemetry.KeyKind: e.Kind.String()})
		}
		delay = st.backoff(st.backoffs, out, p.clock.Now())
		st.backoffs++
		return delay, false, nil
	case httpclient.PollNow:
		if out.StatusCode == http.StatusRequestTimeout {
			st.backoffs, st.badRequests = 0, 0
			if ta, ok := parseQueueBody(out.Body); ok {
				st.lastState = p.queueState(s, st.lastState, ta.QueueState, ta.QueueStateReason, &st.lastWarn)
			}
			return 0, false, nil
		}
		st.badRequests++
		p.emit(telemetry.FutureAPIError, s, nil, map[string]any{telemetry.KeyStatus: out.StatusCode, telemetry.KeyKind: e.Kind.String()})
		return 0, false, nil
	case httpclient.PollExpired:
		return 0, true, &Error{Kind: types.KindPromiseExpired, Op: s.op, Method: e.Method, Path: e.Path,
			StatusCode: out.StatusCode, RequestID: s.requestID, Attempts: iter + 1,
			Message: "the server no longer has this future (promise expired); resubmit the request"}
	default:
		if v, ok := out.ShouldRetryHeader(); !ok || v {
			p.emit(telemetry.FutureAPIError, s, nil, map[string]any{telemetry.KeyStatus: out.StatusCode, telemetry.KeyKind: e.Kind.String()})
		}
		return 0, true, withRequestID(err, s.requestID)
	}
}

var errPollDeadline = errors.New("tinkex: poll deadline exceeded")

// withDeadline returns ctx canceled with errPollDeadline once d has passed
// on the poller's clock (the injected one, so tests drive it), and the
// function that releases it. The timer's goroutine ends with the poll.
func (p *poller) withDeadline(ctx context.Context, d time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	t := p.clock.NewTimer(d)
	go func() {
		select {
		case <-t.C():
			cancel(errPollDeadline)
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		t.Stop()
		cancel(nil)
	}
}

// retrieveFutureBody is the JSON of types.RetrieveFutureRequest: built by
// hand for the usual request id (printable ASCII, nothing to escape),
// through encoding/json otherwise.
func retrieveFutureBody(id string, allowMeta bool) ([]byte, error) {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return json.Marshal(types.RetrieveFutureRequest{RequestID: id, AllowMetadataOnly: allowMeta})
		}
	}
	const head, metaTrue, metaFalse = `{"request_id":"`, `","allow_metadata_only":true}`, `","allow_metadata_only":false}`
	b := make([]byte, 0, len(head)+len(id)+len(metaFalse))
	b = append(append(b, head...), id...)
	if allowMeta {
		return append(b, metaTrue...), nil
	}
	return append(b, metaFalse...), nil
}

// noRetries is the HTTP-layer retry count of every poll (read-only).
var noRetries = 0

// Read-only header values of polls.
var (
	rawValue        = []string{"raw"}
	iterationValues = func() [][]string {
		v := make([][]string, 16)
		for i := range v {
			v[i] = []string{strconv.Itoa(i)}
		}
		return v
	}()
)

// requestTypeValues are the X-Tinker-Request-Type values tinkex sends.
var requestTypeValues = func() map[string][]string {
	m := map[string][]string{}
	for _, t := range []string{"CreateModel", "LoadWeights", "Forward", "ForwardBackward", "OptimStep",
		"SaveWeights", "SaveWeightsForSampler", "Sample", "UnloadModel"} {
		m[t] = []string{t}
	}
	return m
}()

func iterationValue(i int) []string {
	if i < len(iterationValues) {
		return iterationValues[i]
	}
	return []string{strconv.Itoa(i)}
}

func withRequestID(err error, id string) error {
	var e *Error
	if errors.As(err, &e) && e.RequestID == "" {
		e.RequestID = id
	}
	return err
}

func parseQueueBody(b []byte) (*types.TryAgainResponse, bool) {
	if len(b) == 0 {
		return nil, false
	}
	fb, err := types.ParseFutureBody(b)
	if err != nil {
		return nil, false
	}
	if fb.Kind == types.FutureTryAgain {
		return fb.TryAgain, true
	}
	// A 408 body may carry just {queue_state, queue_state_reason}.
	var ta types.TryAgainResponse
	if fb.Kind == types.FutureResult && json.Unmarshal(fb.Result, &ta) == nil && ta.QueueState != "" {
		return &ta, true
	}
	return nil, false
}

// queueState records a reported state, emits a telemetry event when it
// changed, and logs a warning while the request stays paused, at most once
// per queueWarnEvery.
func (p *poller) queueState(s pollSpec, last, now QueueState, reason string, lastWarn *time.Time) QueueState {
	if now == "" {
		now = QueueStateActive
	}
	reason = p.http.ScrubShort(reason)
	if s.onQueue != nil {
		s.onQueue(now, reason)
	}
	if reason == "" {
		reason = types.DefaultQueueStateReason(now, s.training)
	}
	if now != last {
		p.emit(telemetry.QueueStateChange, s, nil, map[string]any{
			telemetry.KeyQueueState: string(now), telemetry.KeyReason: reason, "previous": string(last)})
	}
	if now != QueueStateActive && p.logger != nil {
		if t := p.clock.Now(); lastWarn.IsZero() || t.Sub(*lastWarn) >= queueWarnEvery {
			*lastWarn = t
			p.logger.Warn("tinkex: "+s.op+" is waiting: "+reason, "service", p.service, "queue_state", string(now), "request_id", s.requestID)
		}
	}
	return now
}

func (p *poller) emit(name string, s pollSpec, m map[string]float64, md map[string]any) {
	if !p.bus.Enabled(name) {
		return
	}
	all := map[string]any{}
	if p.meta != nil {
		for k, v := range p.meta() {
			all[k] = v
		}
	}
	if s.samplerID != "" {
		all[telemetry.KeySamplerID] = s.samplerID
	}
	if s.modelID != "" {
		all[telemetry.KeyModelID] = s.modelID
	}
	if s.hasSeq {
		all[telemetry.KeySeqID] = s.seq
	}
	for k, v := range md {
		all[k] = v
	}
	all[telemetry.KeyRequestID] = s.requestID
	all[telemetry.KeyOp] = s.op
	p.bus.Execute(name, m, all)
}
