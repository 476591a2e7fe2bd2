package tinkex

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/internal/uuid"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Session timing (reference §3.3).
const (
	DefaultHeartbeatInterval = 10 * time.Second
	heartbeatTimeout         = 10 * time.Second
	heartbeatWarnAfter       = 120 * time.Second
	dynamicConfigTimeout     = 10 * time.Second
)

// sessionState is the part of a ServiceClient's session that outlives the
// session actor: the id, the server config, the telemetry batcher.
type sessionState struct {
	ready chan struct{} // closed once established or failed (then closedChan); read with readyChan

	mu        sync.Mutex
	done      bool
	sessionID string
	cfg       types.ClientConfigResponse
	failure   error
	batcher   *telemetry.Batcher
	detach    func()
	run       *sessionRun // the current Session actor instance's

	heartbeatsOK     atomic.Int64
	heartbeatsFailed atomic.Int64
}

func (st *sessionState) init() {
	st.ready = make(chan struct{})
	st.cfg = types.DefaultClientConfig()
}

// readyChan returns the channel closed once the session is established or
// failed.
func (st *sessionState) readyChan() <-chan struct{} {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.ready
}

// closedChan is a closed channel, shared by every finished session.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (st *sessionState) id() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sessionID
}

func (st *sessionState) clientConfig() types.ClientConfigResponse {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.cfg
}

func (st *sessionState) established() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.done && st.failure == nil
}

func (st *sessionState) err() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.failure
}

func (st *sessionState) finish(id string, cfg types.ClientConfigResponse, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return
	}
	st.done, st.sessionID, st.cfg, st.failure = true, id, cfg, err
	close(st.ready)
	st.ready = closedChan // the client's own channel is garbage from now on
}

func (st *sessionState) setRun(r *sessionRun) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.run = r
}

// stopRun stops the current run (its actor instance stops it too, when the
// subtree is terminated; stopping twice is harmless).
func (st *sessionState) stopRun() {
	st.mu.Lock()
	r := st.run
	st.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

func (st *sessionState) closeTelemetry(ctx context.Context) error {
	st.mu.Lock()
	b, detach := st.batcher, st.detach
	st.batcher, st.detach = nil, nil
	st.mu.Unlock()
	if detach != nil {
		detach()
	}
	if b == nil {
		return nil
	}
	b.SessionEnd() // as the SDK's SESSION_END, on every close (see docs/protocol.md)
	return b.Close(ctx)
}

// sessionOwner is the ServiceClient side of its Session actor (package
// actors): each instance runs the session (see sessionRun) and ends that run
// when it stops or restarts.
type sessionOwner struct{ s *ServiceClient }

func (o sessionOwner) SessionID() string { return o.s.SessionID() }

func (o sessionOwner) Run() func() {
	r := &sessionRun{s: o.s}
	o.s.session.setRun(r)
	if !o.s.goBackground(r.start) {
		return nil
	}
	return r.stop
}

// sessionRun is one Session actor instance's run of the session: the
// start-up on a background goroutine (once per ServiceClient: a restarted
// instance reuses the session), then a heartbeat every interval. Between
// heartbeats a clock.AfterFunc timer waits, so an idle session holds no
// goroutine; each heartbeat runs on the timer's goroutine, as background
// work Close waits for, and arms the next one when it is done. The start-up
// and each heartbeat get a context of their own, canceled when they end or
// the run stops (by its actor instance, or by Close): the run keeps no
// long-lived context, whose children map would stay allocated.
type sessionRun struct {
	s *ServiceClient

	mu     sync.Mutex // guards timer, cancel and over
	timer  clock.Timer
	cancel context.CancelFunc // the start-up or heartbeat in flight
	over   bool               // stop was called: no more start-up, heartbeat or timer

	// Owned by the heartbeat in flight: one runs at a time, and the next is
	// armed only after it.
	sessionID    string
	failingSince time.Time
	warned       bool
}

// begin returns the context of the next start-up or heartbeat; false once
// the run is over. end must be called when it is done.
func (r *sessionRun) begin() (context.Context, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.over {
		return nil, false
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	return ctx, true
}

func (r *sessionRun) end() {
	r.mu.Lock()
	cancel := r.cancel
	r.cancel = nil
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (r *sessionRun) start() {
	s := r.s
	if !s.session.established() {
		ctx, ok := r.begin()
		if !ok {
			return
		}
		id, cfg, err := s.establish(ctx)
		canceled := ctx.Err() != nil
		r.end()
		if err != nil {
			if !canceled {
				s.session.finish("", cfg, err)
			}
			return
		}
		s.http.SetEventSession(id)
		s.startTelemetry(id)
		s.session.finish(id, cfg, nil)
	}
	r.sessionID = s.session.id()
	if !s.cfg.noSession {
		r.arm() // a client WithoutSession has nothing to keep alive
	}
}

// arm schedules the next heartbeat, unless the run is over.
func (r *sessionRun) arm() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.over {
		r.timer = clock.AfterFunc(r.s.rt.clock, r.s.rt.heartbeatInterval, r.beat)
	}
}

// stop ends the run: the start-up or heartbeat in flight is canceled, none
// is armed. Calling it again is harmless.
func (r *sessionRun) stop() {
	r.mu.Lock()
	r.over = true
	if r.timer != nil {
		r.timer.Stop()
	}
	cancel := r.cancel
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// beat sends one session_heartbeat and arms the next. Failures are counted,
// and logged once they have lasted heartbeatWarnAfter.
func (r *sessionRun) beat() {
	s := r.s
	if !s.enterBackground() {
		return // Close has begun
	}
	defer s.bg.Done()
	ctx, ok := r.begin()
	if !ok {
		return
	}
	_, err := s.http.Do(ctx, &httpclient.Request{Op: "session_heartbeat", Path: "/api/v1/session_heartbeat",
		Call: httpclient.CallHeartbeat, Body: types.SessionHeartbeatRequest{SessionID: r.sessionID},
		Policy: httpclient.Policy{Pool: httpclient.PoolSession, Timeout: heartbeatTimeout}})
	canceled := ctx.Err() != nil
	r.end()
	switch {
	case err == nil:
		s.session.heartbeatsOK.Add(1)
		if r.warned {
			s.rt.logger.Info("tinkex: heartbeats recovered", "service", s.name)
		}
		r.failingSince, r.warned = time.Time{}, false
	case canceled:
		return
	default:
		s.session.heartbeatsFailed.Add(1)
		now := s.rt.clock.Now()
		if r.failingSince.IsZero() {
			r.failingSince = now
		}
		if !r.warned && now.Sub(r.failingSince) >= heartbeatWarnAfter {
			r.warned = true
			s.rt.logger.Warn(fmt.Sprintf("tinkex: session heartbeats have failed for %s", now.Sub(r.failingSince).Round(time.Second)),
				"service", s.name, "error", err)
		}
	}
	r.arm()
}

// applyServerLimits sizes the ServiceClient's own budgets and its billing
// window from the server's client config, as the SDK does (reference §4.4,
// §4.6); a value absent or not positive keeps the default. The sample
// dispatch byte budget is the config's limiter's, shared by every
// ServiceClient of the config (and across the fleet), so one session's
// answer does not resize it (docs/protocol.md).
func (s *ServiceClient) applyServerLimits(cfg types.ClientConfigResponse) {
	if n := cfg.InflightResponseBytesSemaphoreSize; n > 0 {
		_ = s.inflight.Resize(n) // n > 0: cannot fail
	}
	if n := cfg.FwdBwdDispatchBytesSemaphoreSize; n > 0 {
		_ = s.fwdbwdBytes.Resize(n)
	}
	s.http.SetBillingWindow(cfg.BillingPauseWindow())
}

// sessionlessPrefix starts the SessionID of a client made WithoutSession,
// as the SDK's REST holder names its telemetry (reference §5).
const sessionlessPrefix = "sessionless-"

// establish runs the start-up sequence: client/config, dynamic_config,
// create_session (not WithoutSession: the id is then a sessionless one).
func (s *ServiceClient) establish(ctx context.Context) (string, types.ClientConfigResponse, error) {
	cfg := types.DefaultClientConfig()
	if _, err := s.http.Do(ctx, &httpclient.Request{Op: "client_config", Path: "/api/v1/client/config",
		Call: httpclient.CallClientConfig, Body: types.ClientConfigRequest{SDKVersion: types.ProtocolVersion},
		Policy: httpclient.Policy{Pool: httpclient.PoolSession}, Into: httpclient.JSONInto(&cfg)}); err != nil {
		return "", cfg, err
	}
	s.applyServerLimits(cfg)
	if cfg.PJWTAuthEnabled && !strings.HasPrefix(s.cfg.apiKey, "eyJ") {
		// Made only here (an idle client without JWT auth holds none),
		// before exchange gives the HTTP client a credential to renew.
		s.jwt = &jwtAuth{s: s}
		if err := s.jwt.exchange(ctx, httpclient.CallClientConfig); err != nil {
			return "", cfg, err
		}
		if !s.goBackgroundCtx(s.jwt.refreshLoop) {
			return "", cfg, s.stoppedError(jwtAuthTokenOp)
		}
	}
	var dyn types.DynamicConfigResponse
	if _, err := s.http.Do(ctx, &httpclient.Request{Op: "dynamic_config", Path: "/api/v1/client/dynamic_config",
		Call: httpclient.CallDynamicConfig, Body: types.DynamicConfigRequest{SDKVersion: types.ProtocolVersion},
		Policy: httpclient.Policy{Pool: httpclient.PoolSession, Timeout: dynamicConfigTimeout},
		Into:   httpclient.JSONInto(&dyn)}); err != nil {
		if types.KindOf(err) == types.KindCanceled {
			return "", cfg, err
		}
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != 404 {
			s.rt.logger.Warn("tinkex: dynamic config unavailable, using defaults", "service", s.name, "error", err)
		}
	}
	if s.cfg.noSession {
		// The SDK's REST holder stops here (reference §3.3 steps 1–3).
		return sessionlessPrefix + uuid.New(), cfg, nil
	}
	md := make(map[string]any, len(s.cfg.userMetadata))
	for k, v := range s.cfg.userMetadata {
		md[k] = v
	}
	req := types.CreateSessionRequest{Tags: s.cfg.tags, UserMetadata: md,
		SDKVersion: types.ProtocolVersion, ProjectID: s.cfg.projectID}
	var resp types.CreateSessionResponse
	if _, err := s.http.Do(ctx, &httpclient.Request{Op: "create_session", Path: "/api/v1/create_session",
		Call: httpclient.CallCreate, Body: req, Policy: httpclient.Policy{Pool: httpclient.PoolSession}, Into: httpclient.JSONInto(&resp)}); err != nil {
		return "", cfg, err
	}
	if err := resp.Validate(); err != nil {
		return "", cfg, err
	}
	if err := checkServerID(s.http, "create_session", "session_id", resp.SessionID); err != nil {
		return "", cfg, err
	}
	if resp.InfoMessage != "" {
		s.rt.logger.Info("tinkex: server: "+s.http.Scrub(resp.InfoMessage), "service", s.name)
	}
	if resp.WarningMessage != "" {
		s.rt.logger.Warn("tinkex: server: "+s.http.Scrub(resp.WarningMessage), "service", s.name)
	}
	if resp.ErrorMessage != "" {
		s.rt.logger.Error("tinkex: server: "+s.http.Scrub(resp.ErrorMessage), "service", s.name)
	}
	return resp.SessionID, cfg, nil
}

// startTelemetry starts the server-side telemetry batcher of the session,
// when enabled, and routes this config's and this session's bus events
// into it (one telemetry.Router per runtime serves every session).
func (s *ServiceClient) startTelemetry(sessionID string) {
	if !s.cfg.telemetry {
		return
	}
	send := func(ctx context.Context, req *types.TelemetrySendRequest) error {
		_, err := s.http.Do(ctx, &httpclient.Request{Op: "telemetry", Path: "/api/v1/telemetry", Body: req,
			Call: httpclient.CallTelemetry, Policy: httpclient.Policy{Pool: httpclient.PoolTelemetry}})
		return err
	}
	b, err := telemetry.NewBatcher(sessionID, send, telemetry.WithBatcherClock(s.rt.clock),
		telemetry.WithBatcherLogger(s.rt.logger))
	if err != nil {
		s.rt.logger.Warn("tinkex: server telemetry disabled", "service", s.name, "error", err)
		return
	}
	if !s.cfg.noSession {
		b.SessionStart() // the SDK's REST holder sends none
	}
	detach, err := s.rt.serverTelemetry.Add(s.cfg.fingerprint, sessionID, b)
	if err != nil {
		s.rt.logger.Warn("tinkex: server telemetry bridge failed", "service", s.name, "error", err)
	}
	s.session.mu.Lock()
	s.session.batcher, s.session.detach = b, detach
	s.session.mu.Unlock()
}
