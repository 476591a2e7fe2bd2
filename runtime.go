package tinkex

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/internal/fleetapi"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Runtime is one tinkex application: an actor system with the supervision
// tree
//
//	tinkex                 root, one_for_one
//	├── registry           one_for_one: the registry actor, one limiter actor per {base URL, API key}
//	├── cluster            only with WithCluster: the fleet member (see package cluster)
//	└── clients            one_for_one; one service:<name> subtree per ServiceClient
//
// Start one per process (or per test) and Stop it when done.
type Runtime struct {
	system          *actor.ActorSystem
	bus             *telemetry.Bus
	serverTelemetry *telemetry.Router // the sessions' batchers, on bus
	logger          *slog.Logger
	registry        *registry.Registry
	root            *supervisor.Supervisor
	clients         *supervisor.Supervisor
	transports      *httpclient.Transports
	clock           clock.Clock
	env             lookupEnv

	pollBackoff       PollBackoff
	pollDeadline      time.Duration
	heartbeatInterval time.Duration
	serviceIntensity  int
	servicePeriod     time.Duration
	maxResponseBytes  int64
	httpOpts          []httpclient.Option // appended to every ServiceClient's (tests)
	sleep             func(ctx context.Context, d time.Duration) error
	detachMetrics     func()
	detachEventLogs   func()
	fleet             *fleetapi.Member // nil without WithCluster

	mu       sync.Mutex
	services map[string]*ServiceClient // nil value: name reserved, client starting
	nameSeq  int
	stopped  atomic.Bool
}

// RuntimeOption configures Start.
type RuntimeOption func(*runtimeConfig)

type runtimeConfig struct {
	logger            *slog.Logger
	bus               *telemetry.Bus
	registerer        prometheus.Registerer
	clock             clock.Clock
	pollBackoff       PollBackoff
	pollDeadline      time.Duration
	heartbeatInterval time.Duration
	rootIntensity     int
	rootPeriod        time.Duration
	serviceIntensity  int
	servicePeriod     time.Duration
	clientsIntensity  int
	clientsPeriod     time.Duration
	limiterOpts       []limiter.Option
	poolSizes         map[httpclient.Pool]int
	maxResponseBytes  int64
	tls               *tls.Config // WithTLSConfig
	env               lookupEnv
	httpOpts          []httpclient.Option
	cluster           *clusterOption // see WithCluster
	noEventLogs       bool           // WithEventLogs(false)
	logOutput         io.Writer      // TINKER_LOG's destination; nil = stderr
}

// WithLogger sends tinkex's and protoactor's logs, and tinkex's telemetry
// events at their levels (see WithEventLogs), to logger: one step, no
// telemetry.AttachLogger needed. Default: silent, unless TINKER_LOG is
// "debug", "info" or "warning", which logs the same to stderr at that level.
func WithLogger(l *slog.Logger) RuntimeOption { return func(c *runtimeConfig) { c.logger = l } }

// WithTelemetryBus uses bus for all events (default: a new bus, see
// Runtime.Telemetry).
func WithTelemetryBus(bus *telemetry.Bus) RuntimeOption {
	return func(c *runtimeConfig) { c.bus = bus }
}

// WithPrometheus registers tinkex's metrics on reg (never the global
// registry unless you pass it).
func WithPrometheus(reg prometheus.Registerer) RuntimeOption {
	return func(c *runtimeConfig) { c.registerer = reg }
}

// WithClock sets the runtime's time source (default clock.Real): the
// supervisors' restart windows, the limiters' backoffs, every retry and
// poll backoff and deadline, the heartbeats and the telemetry timestamps.
// Tests use clock.NewFake to drive them without sleeping.
func WithClock(cl clock.Clock) RuntimeOption { return func(c *runtimeConfig) { c.clock = cl } }

// WithPollBackoff sets the backoff of future polling after 429s, 5xx and
// transport failures (default 1 s doubling to 30 s), and after try_again
// answers the server did not hold (default: faster than 50 ms, 10 ms
// doubling to 1 s); see PollBackoff.
func WithPollBackoff(b PollBackoff) RuntimeOption {
	return func(c *runtimeConfig) { c.pollBackoff = b }
}

// WithPollDeadline bounds how long one future is polled: past d its
// operation fails with a KindTimeout error (and a tinkex.future.timeout
// event) while the work may still run on the server. Default: no deadline
// beyond the caller's context, as in the Python SDK.
func WithPollDeadline(d time.Duration) RuntimeOption {
	return func(c *runtimeConfig) { c.pollDeadline = d }
}

// WithHeartbeatInterval sets the session heartbeat period (default 10 s).
func WithHeartbeatInterval(d time.Duration) RuntimeOption {
	return func(c *runtimeConfig) { c.heartbeatInterval = d }
}

// WithRootIntensity sets the root supervisor's restart intensity (default 3
// in 5 s).
func WithRootIntensity(n int, period time.Duration) RuntimeOption {
	return func(c *runtimeConfig) { c.rootIntensity, c.rootPeriod = n, period }
}

// WithServiceIntensity sets each ServiceClient supervisor's restart
// intensity (default 3 in 5 s): one more restart within the period restarts
// the whole service subtree.
func WithServiceIntensity(n int, period time.Duration) RuntimeOption {
	return func(c *runtimeConfig) { c.serviceIntensity, c.servicePeriod = n, period }
}

// WithLimiterOptions tunes every per-config limiter (slots, byte budget...).
func WithLimiterOptions(opts ...limiter.Option) RuntimeOption {
	return func(c *runtimeConfig) { c.limiterOpts = append(c.limiterOpts, opts...) }
}

// WithPoolSizes overrides the per-host connection limits of the HTTP pools.
func WithPoolSizes(sizes map[httpclient.Pool]int) RuntimeOption {
	return func(c *runtimeConfig) { c.poolSizes = sizes }
}

// WithMaxResponseBytes caps response bodies (default 256 MiB).
func WithMaxResponseBytes(n int64) RuntimeOption {
	return func(c *runtimeConfig) { c.maxResponseBytes = n }
}

// WithTLSConfig makes every connection of tinkex's own pools use a clone
// of cfg: RootCAs for a server behind a private certificate authority, a
// client certificate, a minimum version. The pools still try HTTP/2, as the
// SDK does. Start refuses InsecureSkipVerify without a verifier of its own
// (VerifyConnection or VerifyPeerCertificate) with KindValidation: it would
// send the API key to whoever answers; add the server's certificate to
// RootCAs instead. The pools include those of the checkpoint archive host
// (DownloadCheckpoint) and of the Hugging Face hub (GetTokenizer), so cfg
// reaches them too: RootCAs replaces the system's roots for every host, so
// add a private authority to x509.SystemCertPool() rather than to an empty
// pool, and leave ServerName unset. It does not reach a ServiceClient given
// its own client (WithHTTPClient). cfg must not be changed afterwards.
// Default: Go's (the system's roots; on Linux the file named by
// SSL_CERT_FILE).
func WithTLSConfig(cfg *tls.Config) RuntimeOption {
	return func(c *runtimeConfig) { c.tls = cfg }
}

// withHTTPOptions adds options to every ServiceClient's HTTP client (tests:
// a short second retry layer, an instant HTTP-layer backoff).
func withHTTPOptions(opts ...httpclient.Option) RuntimeOption {
	return func(c *runtimeConfig) { c.httpOpts = append(c.httpOpts, opts...) }
}

// withGetenv replaces the environment with a fixed one (tests); a variable
// f answers "" for is unset.
func withGetenv(f func(string) string) RuntimeOption {
	return func(c *runtimeConfig) { c.env = getenvLookup(f) }
}

// Start builds the runtime: the actor system (its logs routed to the
// runtime's logger), the root supervisor, the registry and the clients
// supervisor. It fails with KindValidation for bad options.
func Start(ctx context.Context, opts ...RuntimeOption) (*Runtime, error) {
	cfg := runtimeConfig{
		heartbeatInterval: DefaultHeartbeatInterval,
		rootIntensity:     3, rootPeriod: 5 * time.Second,
		serviceIntensity: 3, servicePeriod: 5 * time.Second,
		clientsIntensity: 10, clientsPeriod: 5 * time.Second,
		env: os.LookupEnv,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.heartbeatInterval <= 0 {
		return nil, types.ValidationError("start", "heartbeat interval must be positive")
	}
	if err := httpclient.ValidateTLSConfig(cfg.tls); err != nil {
		return nil, err
	}
	if cfg.pollDeadline < 0 {
		return nil, types.ValidationError("start", "poll deadline must not be negative")
	}
	logger := cfg.logger
	if logger == nil {
		out := cfg.logOutput
		if out == nil {
			out = os.Stderr
		}
		lv, _ := cfg.env(EnvLog)
		logger = envLogger(lv, out)
	}
	bus := cfg.bus
	if bus == nil {
		bus = telemetry.NewBus(telemetry.WithClock(cfg.clock))
	}
	clk := clock.Or(cfg.clock)
	rt := &Runtime{
		bus: bus, serverTelemetry: telemetry.NewRouter(bus), logger: logger, clock: clk, env: cfg.env,
		transports:        httpclient.NewTransports(cfg.poolSizes, httpclient.TransportTLS(cfg.tls)),
		pollBackoff:       cfg.pollBackoff,
		pollDeadline:      cfg.pollDeadline,
		heartbeatInterval: cfg.heartbeatInterval,
		serviceIntensity:  cfg.serviceIntensity,
		servicePeriod:     cfg.servicePeriod,
		maxResponseBytes:  cfg.maxResponseBytes,
		httpOpts:          cfg.httpOpts,
		services:          map[string]*ServiceClient{},
	}
	rt.sleep = func(ctx context.Context, d time.Duration) error {
		t := clk.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C():
			return nil
		}
	}
	protoLogger := logger.With("component", "protoactor")
	rt.system = actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return protoLogger }),
		actor.WithDeadLetterRequestLogging(false),
		// Each dead-letter burst starts a goroutine that lives for this
		// interval; keep it short so nothing outlives Stop by more than a
		// moment (a message to a stopped actor is a dead letter, and Stop
		// makes a few).
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	fleet, fleetOpts, err := newFleet(&cfg, rt)
	if err != nil {
		return nil, err
	}
	rt.fleet = fleet
	reg, err := registry.New(append([]registry.Option{registry.WithClock(clk), registry.WithTelemetry(bus), registry.WithLimiterOptions(cfg.limiterOpts...)}, fleetOpts...)...)
	if err != nil {
		return nil, err
	}
	rt.registry = reg
	if cfg.registerer != nil {
		coll, err := telemetry.NewPrometheusCollector(cfg.registerer)
		if err != nil {
			return nil, err
		}
		if rt.detachMetrics, err = coll.Attach(bus); err != nil {
			return nil, err
		}
	}
	if !cfg.noEventLogs {
		if rt.detachEventLogs, err = attachEventLogger(bus, logger); err != nil {
			rt.cleanup()
			return nil, err
		}
	}
	supOpts := []supervisor.Option{supervisor.WithClock(supervisorClock{clk}), supervisor.WithEventHook(telemetry.SupervisorHookWith(bus, rt.supervisorEventMeta))}
	specs := []supervisor.Spec{reg.Spec(supervisor.WithIntensity(cfg.rootIntensity, cfg.rootPeriod))}
	specs = append(specs, rt.clusterSpecs()...)
	specs = append(specs, supervisor.SubFunc("clients", supervisor.OneForOne, rt.serviceSpecs, supervisor.WithIntensity(cfg.clientsIntensity, cfg.clientsPeriod)))
	rt.root, err = supervisor.Start(ctx, rt.system, "tinkex", supervisor.OneForOne, specs,
		append(supOpts, supervisor.WithIntensity(cfg.rootIntensity, cfg.rootPeriod))...)
	if err != nil {
		rt.cleanup()
		return nil, supervisorError(err)
	}
	if rt.clients, err = rt.root.Sub(ctx, "clients"); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = rt.root.Stop(stopCtx)
		rt.cleanup()
		return nil, supervisorError(err)
	}
	return rt, nil
}

// supervisorClock is the runtime's clock as the supervisor package's Clock.
type supervisorClock struct{ clock.Clock }

func (c supervisorClock) NewTimer(d time.Duration) supervisor.Timer { return c.Clock.NewTimer(d) }

// supervisorError maps an error of the supervisor package to *types.Error,
// by its sentinel: a stopped supervisor is KindClientStopped, a context's end
// KindCanceled, a call without answer KindTimeout, and everything else (bad
// spec, unknown child, failed start) KindValidation. The supervisor error
// stays in the chain, so errors.Is with its sentinels still works. Other
// errors are returned as they are.
func supervisorError(err error) error {
	var se *supervisor.Error
	if !errors.As(err, &se) {
		return err
	}
	kind := types.KindValidation
	switch {
	case errors.Is(err, supervisor.ErrStartFailed), errors.Is(err, supervisor.ErrInvalidSpec):
	case errors.Is(err, supervisor.ErrStopped):
		kind = types.KindClientStopped
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		kind = types.KindCanceled
	case errors.Is(err, supervisor.ErrCallTimeout):
		kind = types.KindTimeout
	}
	return &Error{Kind: kind, Op: "supervisor." + se.Op, Err: err}
}

func (rt *Runtime) cleanup() {
	if rt.detachMetrics != nil {
		rt.detachMetrics()
	}
	if rt.detachEventLogs != nil {
		rt.detachEventLogs()
	}
	rt.transports.CloseIdleConnections()
}

// supervisorEventMeta names the config and session of a supervision event
// of a ServiceClient's subtree (its own supervisor "service:<name>", or the
// subtree as a child of the clients supervisor), so that BEHAVIOR's
// metadata rule holds for them too and the session's server telemetry
// reports its restarts. Other events get nothing.
func (rt *Runtime) supervisorEventMeta(ev supervisor.Event) map[string]any {
	name, ok := strings.CutPrefix(ev.Supervisor, servicePrefix)
	if !ok {
		if name, ok = strings.CutPrefix(ev.Child, servicePrefix); !ok {
			return nil
		}
	}
	rt.mu.Lock()
	s := rt.services[name]
	rt.mu.Unlock()
	if s == nil {
		return nil
	}
	md := map[string]any{telemetry.KeyConfig: s.cfg.fingerprint, telemetry.KeyBaseURL: s.cfg.baseURL}
	if id := s.SessionID(); id != "" {
		md[telemetry.KeySessionID] = id
	}
	return md
}

// serviceSpecs is the clients supervisor's init: every running
// ServiceClient's subtree, so a restart of the clients supervisor brings
// them all back.
func (rt *Runtime) serviceSpecs() []supervisor.Spec {
	var specs []supervisor.Spec
	for _, s := range rt.Services() {
		if s.inTree.Load() {
			specs = append(specs, s.spec())
		}
	}
	return specs
}

// Telemetry returns the runtime's event bus; attach handlers to it.
func (rt *Runtime) Telemetry() *telemetry.Bus { return rt.bus }

// Logger returns the runtime's logger.
func (rt *Runtime) Logger() *slog.Logger { return rt.logger }

// Tree returns a snapshot of the supervision tree. The registry subtree
// holds the registry actor and one limiter actor per config
// (limiter:<fingerprint>), supervised like every other actor.
func (rt *Runtime) Tree(ctx context.Context) (supervisor.Node, error) {
	n, err := rt.root.Tree(ctx)
	if err != nil {
		return n, supervisorError(err)
	}
	rt.clusterNodes(&n)
	return n, nil
}

// Done is closed when the runtime has ended (after Stop, or after the root
// supervisor gave up).
func (rt *Runtime) Done() <-chan struct{} { return rt.root.Done() }

// Err says why the runtime ended: nil after Stop, the root's reason if it
// gave up.
func (rt *Runtime) Err() error { return rt.root.Err() }

// Services returns the running ServiceClients, sorted by name.
func (rt *Runtime) Services() []*ServiceClient {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make([]*ServiceClient, 0, len(rt.services))
	for _, s := range rt.services {
		if s != nil {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *ServiceClient) int { return strings.Compare(a.name, b.name) })
	return out
}

// Stop closes every ServiceClient (failing their queued work with
// ErrClientStopped), stops the tree in reverse start order and waits for it,
// or for ctx.
func (rt *Runtime) Stop(ctx context.Context) error {
	if !rt.stopped.CompareAndSwap(false, true) {
		select {
		case <-rt.root.Done():
			return nil
		case <-ctx.Done():
			return types.CanceledError("stop", context.Cause(ctx))
		}
	}
	var errs []error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, s := range rt.Services() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Close(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("closing %s: %w", s.name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err := rt.root.Stop(ctx); err != nil {
		errs = append(errs, supervisorError(err))
	}
	rt.cleanup()
	return errors.Join(errs...)
}

// reserveName picks the client's tree name and reserves it.
func (rt *Runtime) reserveName(cfg resolvedConfig) (string, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.stopped.Load() {
		return "", &Error{Kind: types.KindClientStopped, Op: "new_service_client", Message: "the runtime is stopped"}
	}
	name := cfg.name
	if name == "" {
		for {
			rt.nameSeq++
			name = fmt.Sprintf("%s-%d", cfg.fingerprint[:8], rt.nameSeq)
			if _, taken := rt.services[name]; !taken {
				break
			}
		}
	} else if _, taken := rt.services[name]; taken {
		return "", types.ValidationError("new_service_client", "a ServiceClient named %q already exists", name)
	}
	rt.services[name] = nil
	return name, nil
}

// releaseName records the client under its name, or frees the name when s
// is nil.
func (rt *Runtime) releaseName(name string, s *ServiceClient) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if s == nil {
		delete(rt.services, name)
		return
	}
	rt.services[name] = s
}

func (rt *Runtime) forget(s *ServiceClient) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.services[s.name] == s {
		delete(rt.services, s.name)
	}
}
