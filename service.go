package tinkex

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/actors"
	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Flow-control budgets of one ServiceClient (reference §4.4).
const (
	inflightResponseBytes = 50 << 20   // complete_metadata results held at once
	fwdbwdDispatchBytes   = 50_000_000 // forward_backward chunks being submitted
)

// ServiceClient is a connection to one Tinker server with one API key: it
// owns a session (created on construction, kept alive by heartbeats) and
// creates TrainingClients and SamplingClients. In the supervision tree it is
// the rest_for_one supervisor service:<name>, whose first child is the
// session actor and whose other children are its training and sampling
// clients.
//
// All methods are safe for concurrent use. Close stops it; work still queued
// then fails with ErrClientStopped. String and LogValue never show the key.
type ServiceClient struct {
	rt          *Runtime
	cfg         resolvedConfig
	name        string
	http        *httpclient.Client
	lim         *limiter.Limiter
	poller      *poller
	inflight    *limiter.Budget
	fwdbwdBytes *limiter.Budget
	jwt         *jwtAuth // JWT auth, made by establish when the server config enables it (nil before and without)
	// modelSeq and samplingSeq are the registry's durable counters of this
	// client's model_seq_id and sampling_session_seq_id, looked up on first
	// use (see seqCounter).
	modelSeq    atomic.Pointer[registry.Counter]
	samplingSeq atomic.Pointer[registry.Counter]
	supPID      *actor.PID // the service:<name> supervisor, once started (see subtree)

	session sessionState

	bgMu sync.Mutex     // guards bgRun, the start of background work, stopped's setting and closed
	bg   sync.WaitGroup // background work Close waits for
	// bgRun is the context of long-running background work (the JWT
	// refresh loop and refreshes), made on first use and canceled by Close.
	bgRun *bgContext
	life  *lifetime // calls bound with bind; Close cancels and waits for them

	stopped atomic.Bool
	inTree  atomic.Bool   // the subtree is a child of the clients supervisor
	closed  chan struct{} // made by the first Close, closed when it returns (guarded by bgMu)

	mu        sync.Mutex
	children  []supervisor.Spec          // training and sampling actors, in start order
	trainings map[string]*TrainingClient // nil until the first
	samplings map[string]*SamplingClient // nil until the first
}

var errClientStopped = errors.New("tinkex: client stopped")

// Name returns the client's name (service:<name> in the tree).
func (s *ServiceClient) Name() string { return s.name }

// BaseURL returns the normalized base URL.
func (s *ServiceClient) BaseURL() string { return s.cfg.baseURL }

// Fingerprint identifies the {base URL, API key} config without the key.
func (s *ServiceClient) Fingerprint() string { return s.cfg.fingerprint }

// SessionID returns the server session id ("" before it exists).
func (s *ServiceClient) SessionID() string { return s.session.id() }

// ClientConfig returns the server-driven client configuration (defaults
// until the session has fetched it).
func (s *ServiceClient) ClientConfig() types.ClientConfigResponse { return s.session.clientConfig() }

// LimiterStats returns a snapshot of the rate limiter this client shares
// with every client of its config (normalized base URL and API key): the
// 429 backoff left, dispatch slots and bytes in use, waiters, bursts. It
// reads without waiting and is safe to call at any time, also after Close.
func (s *ServiceClient) LimiterStats() limiter.Stats { return s.lim.Stats() }

// HeartbeatStats returns how many heartbeats succeeded and failed.
func (s *ServiceClient) HeartbeatStats() (ok, failed int64) {
	return s.session.heartbeatsOK.Load(), s.session.heartbeatsFailed.Load()
}

// String describes the client without its key.
func (s *ServiceClient) String() string {
	return fmt.Sprintf("tinkex.ServiceClient{name=%s base_url=%s config=%s}", s.name, s.cfg.baseURL, s.cfg.fingerprint)
}

// GoString is String.
func (s *ServiceClient) GoString() string { return s.String() }

// Format prints String for every verb, so no verb (%d, %x, %t...) makes
// fmt print the fields, the key among them.
func (s *ServiceClient) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.String()) }

// LogValue keeps the key out of slog output.
func (s *ServiceClient) LogValue() slog.Value { return s.cfg.LogValue() }

// NewServiceClient creates a ServiceClient on the runtime and its session on
// the server. Options override the environment (TINKER_API_KEY,
// TINKER_BASE_URL, TINKER_PROJECT_ID, TINKER_TAGS, TINKER_TELEMETRY). It
// fails with KindValidation for a bad configuration (nothing is sent), with
// the server's error if the session cannot be created, and with
// KindClientStopped if the runtime is stopped.
func (rt *Runtime) NewServiceClient(ctx context.Context, opts ...ServiceOption) (*ServiceClient, error) {
	cfg, err := resolve(opts, rt.env)
	if err != nil {
		return nil, err
	}
	key, err := registry.NewKey(cfg.baseURL, cfg.apiKey)
	if err != nil {
		return nil, err
	}
	name, err := rt.reserveName(cfg)
	if err != nil {
		return nil, err
	}
	svc, err := rt.newService(ctx, cfg, key, name)
	if err != nil {
		rt.releaseName(name, nil)
		return nil, err
	}
	rt.releaseName(name, svc)
	err = svc.start(ctx)
	if err == nil && rt.stopped.Load() {
		// Stop ran while this client was starting and did not see it.
		err = &Error{Kind: types.KindClientStopped, Op: "new_service_client", Message: "the runtime was stopped"}
	}
	if err != nil {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = svc.Close(closeCtx)
		return nil, err
	}
	return svc, nil
}

func (rt *Runtime) newService(ctx context.Context, cfg resolvedConfig, key registry.Key, name string) (*ServiceClient, error) {
	lim, err := rt.registry.Limiter(ctx, key)
	if err != nil {
		return nil, err
	}
	s := &ServiceClient{rt: rt, cfg: cfg, name: name, lim: lim, life: newLifetime()}
	hopts := []httpclient.Option{
		httpclient.WithCredentialRenewer((*jwtRenewer)(s)), // no allocation: s itself
		httpclient.WithTransports(rt.transports),
		httpclient.WithTelemetry(rt.bus),
		httpclient.WithClock(rt.clock),
		httpclient.WithMaxRetries(cfg.maxRetries),
		httpclient.WithRateLimitObserver(limiterObserver{lim}),
	}
	if cfg.retryBudget != nil {
		hopts = append(hopts, httpclient.WithCallRetryBudget(*cfg.retryBudget))
	}
	if cfg.httpClient != nil {
		hopts = append(hopts, httpclient.WithHTTPClient(cfg.httpClient))
	}
	for k, vs := range cfg.headers {
		for _, v := range vs {
			hopts = append(hopts, httpclient.WithHeader(k, v))
		}
	}
	for _, sec := range cfg.secrets {
		hopts = append(hopts, httpclient.WithSecret(sec))
	}
	if rt.maxResponseBytes > 0 {
		hopts = append(hopts, httpclient.WithMaxResponseBytes(rt.maxResponseBytes))
	}
	hopts = append(hopts, rt.httpOpts...)
	hc, err := httpclient.New(cfg.baseURL, cfg.apiKey, hopts...)
	if err != nil {
		return nil, err
	}
	inflight, err := limiter.NewBudget(inflightResponseBytes)
	if err != nil {
		return nil, err
	}
	fwdbwd, err := limiter.NewBudget(fwdbwdDispatchBytes)
	if err != nil {
		return nil, err
	}
	s.http, s.inflight, s.fwdbwdBytes = hc, inflight, fwdbwd
	s.session.init()
	s.poller = &poller{http: hc, bus: rt.bus, backoff: rt.pollBackoff, sleep: rt.sleep, inflight: inflight,
		logger: rt.logger, service: name, clock: rt.clock, deadline: rt.pollDeadline,
		meta: func() map[string]any {
			return map[string]any{telemetry.KeyConfig: s.cfg.fingerprint, telemetry.KeyBaseURL: s.cfg.baseURL,
				telemetry.KeySessionID: s.SessionID()}
		}}
	return s, nil
}

// limiterObserver adapts the limiter to the HTTP layer's 429 reports.
type limiterObserver struct{ l *limiter.Limiter }

func (o limiterObserver) ReportRateLimited(d time.Duration) { o.l.ReportRateLimited(d) }

// start adds the service subtree under the clients supervisor and waits for
// the session.
func (s *ServiceClient) start(ctx context.Context) error {
	pid, err := s.rt.clients.StartChild(ctx, s.spec())
	if err != nil {
		return supervisorError(err)
	}
	s.supPID = pid
	s.inTree.Store(true)
	select {
	case <-s.session.readyChan():
		return s.session.err()
	case <-ctx.Done():
		return types.CanceledError("create_session", context.Cause(ctx))
	}
}

// servicePrefix starts the ID of a ServiceClient's subtree.
const servicePrefix = "service:"

// spec is the service subtree's spec under the clients supervisor. It is
// permanent: when the subtree gives up (its restart intensity exceeded) the
// clients supervisor restarts it, as OTP restarts a permanent child that
// exited with shutdown. Close terminates and deletes it.
func (s *ServiceClient) spec() supervisor.Spec {
	return supervisor.SubFunc(servicePrefix+s.name, supervisor.RestForOne, s.childSpecs,
		supervisor.WithIntensity(s.rt.serviceIntensity, s.rt.servicePeriod))
}

// childSpecs is the subtree's init: the session first, then every training
// and sampling client created so far, so a restart of the whole subtree
// brings them all back.
func (s *ServiceClient) childSpecs() []supervisor.Spec {
	s.mu.Lock()
	defer s.mu.Unlock()
	specs := []supervisor.Spec{actors.SessionSpec(sessionOwner{s})}
	return append(specs, s.children...)
}

// goBackground runs f on a goroutine that Close waits for. It reports false
// (and does not run f) once the client is stopping.
func (s *ServiceClient) goBackground(f func()) bool {
	if !s.enterBackground() {
		return false
	}
	go func() {
		defer s.bg.Done()
		f()
	}()
	return true
}

// bgContext is a context with its cancel function.
type bgContext struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// goBackgroundCtx is goBackground for work that runs until Close: f gets a
// context Close cancels.
func (s *ServiceClient) goBackgroundCtx(f func(ctx context.Context)) bool {
	s.bgMu.Lock()
	if s.bgRun == nil {
		ctx, cancel := context.WithCancel(context.Background())
		s.bgRun = &bgContext{ctx: ctx, cancel: cancel}
	}
	ctx := s.bgRun.ctx
	s.bgMu.Unlock()
	// Once Close has set stopped (under bgMu), goBackground refuses; before
	// that, Close's cancel (also under bgMu) will see bgRun.
	return s.goBackground(func() { f(ctx) })
}

// enterBackground registers background work that Close waits for (the
// caller ends it with s.bg.Done). It reports false, registering nothing,
// once the client is stopping.
func (s *ServiceClient) enterBackground() bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.stopped.Load() {
		return false
	}
	s.bg.Add(1)
	return true
}

// bind returns a context that ends when ctx ends or the client stops, and
// registers the call so Close waits for it to end (see lifetime). The
// returned function must be called when the call is over. Once the client
// is closed the context is already canceled with errClientStopped.
func (s *ServiceClient) bind(ctx context.Context) (context.Context, func()) {
	return s.life.bind(ctx)
}

// stoppedError is the error of work refused or abandoned because the client
// stopped.
func (s *ServiceClient) stoppedError(op string) error {
	return &Error{Kind: types.KindClientStopped, Op: op,
		Message: "the client was closed before this operation completed", Err: errClientStopped}
}

// translateStop turns a cancellation caused by Close into ErrClientStopped.
func (s *ServiceClient) translateStop(ctx context.Context, op string, err error) error {
	if err != nil && types.KindOf(err) == types.KindCanceled && errors.Is(context.Cause(ctx), errClientStopped) {
		return s.stoppedError(op)
	}
	return err
}

// submitFuture POSTs a future-returning request on the training pool and
// returns the future's request id and the submit's round trip.
func (s *ServiceClient) submitFuture(ctx context.Context, op string, req *httpclient.Request) (string, time.Duration, error) {
	var fut types.UntypedAPIFuture
	req.Op = op
	req.Into = futureInto(&fut)
	req.Policy.Pool = httpclient.PoolTraining
	start := s.rt.clock.Now()
	resp, err := s.http.Do(ctx, req)
	if err != nil {
		return "", 0, err
	}
	// The refusals below keep the 2xx status: the submit reached the server,
	// so its seq_id is not lost (seqLost).
	if fut.RequestID == "" {
		return "", 0, &Error{Kind: types.KindValidation, Op: op, Path: req.Path, StatusCode: resp.StatusCode,
			Message: "server answered without a request_id"}
	}
	if err := checkServerID(s.http, op, "request_id", fut.RequestID); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.StatusCode = resp.StatusCode
		}
		return "", 0, err
	}
	return fut.RequestID, s.rt.clock.Now().Sub(start), nil
}

// addChild records spec as part of the subtree and starts it.
func (s *ServiceClient) addChild(ctx context.Context, spec supervisor.Spec) (*actor.PID, error) {
	s.mu.Lock()
	s.children = append(s.children, spec)
	s.mu.Unlock()
	pid, err := s.subtree().StartChild(ctx, spec)
	if err != nil {
		err = supervisorError(err)
		s.mu.Lock()
		for i, c := range s.children {
			if c.ID == spec.ID {
				s.children = append(s.children[:i], s.children[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
	}
	return pid, err
}

// subtree returns a handle on the client's service:<name> supervisor.
func (s *ServiceClient) subtree() *supervisor.Supervisor {
	return supervisor.Ref(s.rt.system, s.supPID)
}

// counterPrefix is the prefix of the client's registry counters,
// "service:<name>/".
func (s *ServiceClient) counterPrefix() string { return "service:" + s.name + "/" }

// nextSamplingSeq numbers the next sampling session the service creates.
func (s *ServiceClient) nextSamplingSeq() int64 {
	return s.seqCounter(&s.samplingSeq, "sampling_session_seq_id").Next()
}

// nextModelSeq takes the next model_seq_id of the client.
func (s *ServiceClient) nextModelSeq() int64 { return s.seqCounter(&s.modelSeq, "model_seq_id").Next() }

// seqCounter returns the registry counter name of this client, caching it
// in p; the sequence outlives restarts of the client's subtree.
func (s *ServiceClient) seqCounter(p *atomic.Pointer[registry.Counter], name string) *registry.Counter {
	if c := p.Load(); c != nil {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := p.Load(); c != nil {
		return c
	}
	c := s.counterLocked(name, 0)
	if !s.stopped.Load() {
		p.Store(c)
	}
	return c
}

// counterLocked returns the registry counter name of this client, starting
// at first. Once the client is stopped it returns a counter of its own
// instead: Close drops the client's counters from the registry (after it
// took s.mu, which the caller holds), and one made later would outlive it
// and hand its sequence to the next client of the same name. The call that
// asked fails anyway. The caller holds s.mu.
func (s *ServiceClient) counterLocked(name string, first int64) *registry.Counter {
	if s.stopped.Load() {
		return new(registry.Counter)
	}
	return s.rt.registry.Counter(s.counterPrefix()+name, first)
}

// counter is counterLocked for a caller that does not hold s.mu.
func (s *ServiceClient) counter(name string, first int64) *registry.Counter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counterLocked(name, first)
}

// startTrainingClient creates the TrainingClient of modelID and its actor.
func (s *ServiceClient) startTrainingClient(ctx context.Context, modelID, baseModel string, firstSeq int64) (*TrainingClient, error) {
	tc := &TrainingClient{
		svc: s, http: s.http, poller: s.poller, bus: s.rt.bus,
		fwdbwd: s.fwdbwdBytes, config: s.cfg.fingerprint, baseURL: s.cfg.baseURL,
		modelID: modelID, baseModel: baseModel,
		seq: s.counter("training:"+modelID+"/seq_id", firstSeq),
	}
	spec := actors.TrainingSpec(trainingOwner{tc})
	pid, err := s.addChild(ctx, spec)
	if err != nil {
		return nil, err
	}
	tc.pid.Store(pid)
	s.mu.Lock()
	if s.trainings == nil {
		s.trainings = map[string]*TrainingClient{}
	}
	s.trainings[modelID] = tc
	s.mu.Unlock()
	return tc, nil
}

// startSamplingClient creates the SamplingClient of samplerID and its actor.
func (s *ServiceClient) startSamplingClient(ctx context.Context, samplerID, baseModel, modelPath string) (*SamplingClient, error) {
	s.mu.Lock()
	if sc, ok := s.samplings[samplerID]; ok {
		s.mu.Unlock()
		return sc, nil
	}
	s.mu.Unlock()
	sc := &SamplingClient{
		svc: s, http: s.http, poller: s.poller, bus: s.rt.bus, clock: s.rt.clock,
		config: s.cfg.fingerprint, baseURL: s.cfg.baseURL,
		samplerID: samplerID, baseModel: baseModel, modelPath: modelPath,
		seq: s.counter("sampling:"+samplerID+"/seq_id", 0),
		lim: s.lim,
	}
	spec := actors.SamplingSpec(samplingOwner{sc})
	pid, err := s.addChild(ctx, spec)
	if err != nil {
		return nil, err
	}
	sc.pid.Store(pid)
	s.mu.Lock()
	if s.samplings == nil {
		s.samplings = map[string]*SamplingClient{}
	}
	s.samplings[samplerID] = sc
	s.mu.Unlock()
	return sc, nil
}

// Close stops the client: its subtree stops in reverse start order, queued
// training operations fail with ErrClientStopped, every call in flight
// (samples, polls, GetInfo, Unload, REST reads, create_*) ends with
// ErrClientStopped, heartbeats stop and server telemetry is flushed. It
// waits for all of that or for ctx: once it has returned, the client sends
// no request. Later calls fail with ErrClientStopped and send nothing.
// Closing twice is harmless.
func (s *ServiceClient) Close(ctx context.Context) error {
	s.bgMu.Lock()
	first := !s.stopped.Load()
	if first {
		s.stopped.Store(true)
		s.closed = make(chan struct{})
	}
	closed := s.closed
	s.bgMu.Unlock()
	if !first {
		select {
		case <-closed:
			return nil
		case <-ctx.Done():
			return types.CanceledError("close", context.Cause(ctx))
		}
	}
	defer close(closed)
	s.mu.Lock()
	for _, tc := range s.trainings {
		tc.stopped.Store(true)
	}
	for _, sc := range s.samplings {
		sc.stopped.Store(true)
	}
	trainings := make([]*TrainingClient, 0, len(s.trainings))
	for _, tc := range s.trainings {
		trainings = append(trainings, tc)
	}
	s.mu.Unlock()

	s.life.stop()
	s.bgMu.Lock()
	if s.bgRun != nil {
		s.bgRun.cancel()
	}
	s.bgMu.Unlock()
	s.session.stopRun()
	var errs []error
	if s.inTree.Swap(false) {
		id := "service:" + s.name
		if err := s.rt.clients.TerminateChild(ctx, id); err != nil && !errors.Is(err, supervisor.ErrNotFound) && !errors.Is(err, supervisor.ErrStopped) {
			errs = append(errs, supervisorError(err))
		}
		if err := s.rt.clients.DeleteChild(ctx, id); err != nil && !errors.Is(err, supervisor.ErrNotFound) && !errors.Is(err, supervisor.ErrStopped) {
			errs = append(errs, supervisorError(err))
		}
	}
	for _, tc := range trainings {
		tc.failQueued(s.stoppedError)
	}
	waited := make(chan struct{})
	go func() {
		s.bg.Wait()
		<-s.life.calls.drained
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		errs = append(errs, types.CanceledError("close", context.Cause(ctx)))
	}
	if err := s.session.closeTelemetry(ctx); err != nil {
		errs = append(errs, err)
	}
	s.http.CloseIdleConnections()
	s.rt.forget(s)
	s.rt.registry.DropCounters(s.counterPrefix())
	return errors.Join(errs...)
}
