package cluster

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex/internal/fleetapi"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/telemetry"
)

// Fleet is this process's membership in a tinkex cluster: the fleet-wide
// backoff and dispatch budget of every config its registry creates. The
// runtime creates it outside any actor when tinkex.WithCluster is given
// (Runtime.Cluster returns it as a View), attaches every limiter its
// registry creates, and runs its member actor, which runs the protoactor
// cluster on an actor system of its own, so nothing of the cluster exists
// in a runtime started without it.
//
// Ownership: each config's fleet view (grant, degraded flag) is written by
// that config's agent actor only; the set of configs by attach under mu;
// the current incarnation by the member's lifecycle goroutine only.
type Fleet struct {
	s   settings
	m   metrics
	log *slog.Logger

	mu      sync.Mutex
	configs map[string]*config // by fingerprint

	inc atomic.Pointer[incarnation]

	reports  atomic.Uint64 // BackoffReports sent by this member's agents
	pushes   atomic.Uint64 // BackoffPushes sent by grains hosted here
	applied  atomic.Uint64 // BackoffPushes that extended a local limiter
	renewals atomic.Uint64 // grants received
}

// config is one attached limiter and this member's fleet view of it.
type config struct {
	fp, baseURL string
	lim         *limiter.Limiter

	degraded      atomic.Bool
	degradedSince atomic.Int64 // unix ns, 0 when not degraded
	grantSlots    atomic.Int32
	grantThrottle atomic.Int32
	members       atomic.Int32
}

// newFleet validates the configuration and returns an idle fleet: name is
// the cluster name (members with the same name and provider form one
// fleet), bind the host:port of this member's cluster endpoint
// ("127.0.0.1:0" picks a free port). It fails with a KindValidation error.
func newFleet(name, bind string, p Provider, opts ...Option) (*Fleet, error) {
	r, _ := recipeOf(p) // the zero recipe fails validation
	s := settings{name: name, bind: bind, provider: r, Settings: fleetapi.Settings{
		Renew: DefaultRenewInterval, Lease: DefaultLeaseTTL,
		Degrade: DefaultDegradeAfter, Rejoin: DefaultRejoinAfter,
	}}
	for _, o := range opts {
		o(&s.Settings)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(s.Registerer)
	if err != nil {
		return nil, err
	}
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Fleet{s: s, m: m, log: log, configs: map[string]*config{}}, nil
}

// Name returns the cluster name.
func (f *Fleet) Name() string { return f.s.name }

// join is every Provider's fleetapi.JoinFunc: the fleet wired as the
// runtime runs it.
func join(name, bind string, p Provider, opts []Option) (fleetapi.Member, error) {
	f, err := newFleet(name, bind, p, opts...)
	if err != nil {
		return fleetapi.Member{}, err
	}
	return fleetapi.Member{View: f, Attach: f.attach, Producer: f.producer()}, nil
}

// attach makes the limiter of a config part of the fleet; the runtime calls
// it from the registry's observer (registry.WithObserver) for each limiter
// created. It never blocks on the network: the limiter limits locally until
// the fleet grants it a share.
func (f *Fleet) attach(c registry.Created) {
	f.mu.Lock()
	if _, ok := f.configs[c.Fingerprint]; ok {
		f.mu.Unlock()
		return
	}
	cfg := &config{fp: c.Fingerprint, baseURL: c.BaseURL, lim: c.Limiter}
	f.configs[c.Fingerprint] = cfg
	f.mu.Unlock()
	cfg.lim.OnReport(func(time.Duration) {
		if inc := f.inc.Load(); inc != nil {
			inc.reported(cfg.fp)
		}
	})
	if inc := f.inc.Load(); inc != nil {
		inc.attach(cfg)
	}
}

func (f *Fleet) snapshot() []*config {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*config, 0, len(f.configs))
	for _, c := range f.configs {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *config) int { return strings.Compare(a.fp, b.fp) })
	return out
}

// degrade puts cfg back to exactly the local limits and says so once.
func (f *Fleet) degrade(cfg *config, member, reason string) {
	st := cfg.lim.Stats()
	cfg.lim.SetCeiling(st.Slots, st.ThrottledSlots)
	if !cfg.degraded.CompareAndSwap(false, true) {
		return
	}
	cfg.degradedSince.Store(time.Now().UnixNano())
	cfg.grantSlots.Store(0)
	cfg.grantThrottle.Store(0)
	f.m.setDegraded(cfg.fp, true)
	f.log.Warn("tinkex cluster degraded: limiting locally", slog.String(telemetry.KeyConfig, cfg.fp), slog.String(telemetry.KeyReason, reason))
	f.emit(EventDegraded, nil, map[string]any{
		telemetry.KeyConfig: cfg.fp, telemetry.KeyBaseURL: cfg.baseURL, telemetry.KeyReason: reason, KeyMember: member,
	})
}

func (f *Fleet) recovered(cfg *config, member string) {
	if !cfg.degraded.CompareAndSwap(true, false) {
		return
	}
	since := time.Unix(0, cfg.degradedSince.Swap(0))
	f.m.setDegraded(cfg.fp, false)
	f.emit(EventRecovered, map[string]float64{telemetry.MeasureDuration: time.Since(since).Seconds()}, map[string]any{
		telemetry.KeyConfig: cfg.fp, telemetry.KeyBaseURL: cfg.baseURL, KeyMember: member,
	})
}

func (f *Fleet) emit(name string, measurements map[string]float64, metadata map[string]any) {
	if f.s.Bus.Enabled(name) {
		f.s.Bus.Execute(name, measurements, metadata)
	}
}

// Status is a point-in-time view of this member, for Tree, the demo and
// tests (defined with View in an internal package, see Provider).
type Status = fleetapi.Status

// ConfigStatus is one member's view of one config.
type ConfigStatus = fleetapi.ConfigStatus

// View is what tinkex.Runtime.Cluster returns: the cluster name and Status
// of this member; its dynamic type is *Fleet.
type View = fleetapi.View

// Status returns the current view without waiting for any actor.
func (f *Fleet) Status() Status {
	st := Status{Provider: f.s.provider.name,
		Reports: f.reports.Load(), Pushes: f.pushes.Load(), Applied: f.applied.Load(), Grants: f.renewals.Load()}
	if inc := f.inc.Load(); inc != nil {
		st.Address, st.Members, st.Grains = inc.address, inc.members(), inc.grainList()
	}
	for _, c := range f.snapshot() {
		bs, bt := c.lim.Bound()
		st.Configs = append(st.Configs, ConfigStatus{
			Fingerprint: c.fp, Degraded: c.degraded.Load(),
			Slots: int(c.grantSlots.Load()), ThrottledSlots: int(c.grantThrottle.Load()),
			BoundSlots: bs, BoundThrottled: bt, Members: int(c.members.Load()),
			Backoff: c.lim.BackoffRemaining(),
		})
	}
	return st
}
