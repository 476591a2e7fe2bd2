package registry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// DefaultAskTimeout bounds how long a first lookup waits for the registry
// actor to create a limiter.
const DefaultAskTimeout = 5 * time.Second

// Store is what clients need from a registry. *Registry implements it inside
// one process; the interface is kept small so that a cluster grain could
// implement it later and share backoff across machines.
type Store interface {
	// Limiter returns the one limiter of k's config, creating it on first use.
	Limiter(ctx context.Context, k Key) (*limiter.Limiter, error)
	// Counter returns the durable counter called name (see Registry.Counter).
	Counter(name string, first int64) *Counter
	// DropCounters forgets the counters whose names start with prefix.
	DropCounters(prefix string) int
}

var _ Store = (*Registry)(nil)

// Registry maps configs ({normalized base URL, API key}) to their limiters and
// keeps the durable per-client counters. It is created outside any actor and
// outlives its subtree (see Spec): the registry actor, the only creator of
// limiters, and the limiter actors; a crash and restart of any of them
// loses nothing. Reads take no lock: the entries are an immutable
// map behind an atomic pointer. All methods are safe for concurrent use.
type Registry struct {
	clk        clock.Clock
	bus        *telemetry.Bus
	limOpts    []limiter.Option
	askTimeout time.Duration

	snap    atomic.Pointer[snapshot]
	writeMu sync.Mutex // serialises snapshot writers; only the registry actor writes
	bound   atomic.Pointer[binding]
	// bindMu guards bindWake, closed and replaced whenever an actor binds, so
	// a first lookup racing the actor's start waits for it.
	bindMu   sync.Mutex
	bindWake chan struct{}

	countersMu sync.Mutex
	counters   map[string]*Counter

	observers []func(Created) // see WithObserver
}

// snapshot is immutable once published.
type snapshot struct {
	byID map[string]*entry
	list []*entry // sorted by fingerprint
}

type entry struct {
	key Key
	lim *limiter.Limiter
	pid atomic.Pointer[actor.PID] // the limiter actor, nil while not running
}

// binding is the running registry actor and its supervisor.
type binding struct {
	system *actor.ActorSystem
	pid    *actor.PID
	sup    *actor.PID // the registry supervisor; nil when run outside Spec
}

// Option configures a Registry.
type Option func(*Registry)

// WithClock sets the clock given to every limiter (default clock.Real).
func WithClock(c clock.Clock) Option { return func(r *Registry) { r.clk = c } }

// WithTelemetry sets the bus limiter actors emit backoff events on.
func WithTelemetry(b *telemetry.Bus) Option { return func(r *Registry) { r.bus = b } }

// WithLimiterOptions adds options applied to every limiter the registry
// creates (sizes, throttle window...). Clock, telemetry and identity are set
// by the registry.
func WithLimiterOptions(opts ...limiter.Option) Option {
	return func(r *Registry) { r.limOpts = append(r.limOpts, opts...) }
}

// WithAskTimeout bounds how long a first lookup waits for the registry actor
// (default DefaultAskTimeout).
func WithAskTimeout(d time.Duration) Option { return func(r *Registry) { r.askTimeout = d } }

// New returns an empty registry. It fails with a KindValidation error when
// the limiter options are invalid or the ask timeout is not positive.
func New(opts ...Option) (*Registry, error) {
	r := &Registry{askTimeout: DefaultAskTimeout, counters: map[string]*Counter{}, bindWake: make(chan struct{})}
	for _, o := range opts {
		o(r)
	}
	r.clk = clock.Or(r.clk)
	if r.askTimeout <= 0 {
		return nil, types.ValidationError("registry", "ask timeout must be positive, got %s", r.askTimeout)
	}
	if _, err := r.newLimiter(Key{}); err != nil {
		return nil, err
	}
	r.snap.Store(&snapshot{byID: map[string]*entry{}})
	return r, nil
}

func (r *Registry) newLimiter(k Key) (*limiter.Limiter, error) {
	opts := append(append([]limiter.Option(nil), r.limOpts...),
		limiter.WithClock(r.clk), limiter.WithTelemetry(r.bus), limiter.WithIdentity(k.fp, k.baseURL))
	return limiter.New(opts...)
}

// Lookup returns k's limiter if it exists. It never creates one and never
// blocks: one atomic load and one map read, no allocation.
func (r *Registry) Lookup(k Key) (*limiter.Limiter, bool) {
	e, ok := r.snap.Load().byID[k.id]
	if !ok {
		return nil, false
	}
	return e.lim, true
}

// Limiter returns k's limiter, creating it (and its limiter actor) on first
// use. A hit is a Lookup. A miss asks the registry actor, the single creator,
// so concurrent first lookups all get the same limiter; the one that created
// it then adds its limiter actor to the registry supervisor.
//
// It fails with KindValidation for a zero Key, KindClientStopped when no
// registry actor is running within the ask timeout, KindTimeout when the
// actor does not answer within it, and KindCanceled when ctx ends first.
func (r *Registry) Limiter(ctx context.Context, k Key) (*limiter.Limiter, error) {
	if lim, ok := r.Lookup(k); ok {
		return lim, nil
	}
	const op = "registry limiter"
	if k.IsZero() {
		return nil, types.ValidationError(op, "zero registry.Key: make one with registry.NewKey")
	}
	timeout := time.NewTimer(r.askTimeout) // a safety bound in real time, not behaviour
	defer timeout.Stop()
	b, err := r.awaitBinding(ctx, timeout.C)
	if err != nil {
		return nil, err
	}
	// A reply channel rather than RequestFuture: nothing outlives a caller
	// whose ctx ends, and the actor's late reply lands in a buffer.
	reply := make(chan createReply, 1)
	b.system.Root.Send(b.pid, &createRequest{key: k, reply: reply})
	select {
	case res := <-reply:
		if res.err != nil {
			return nil, res.err
		}
		if res.created {
			r.startLimiterActor(ctx, b, res.e)
		}
		return res.e.lim, nil
	case <-ctx.Done():
		return nil, types.CanceledError(op, ctx.Err())
	case <-timeout.C:
		return nil, types.NewError(types.KindTimeout, op, "the registry actor did not answer within %s", r.askTimeout)
	}
}

// awaitBinding returns the running registry actor, waiting for one to start
// if none is bound yet (the runtime may spawn it just before the first
// lookup).
func (r *Registry) awaitBinding(ctx context.Context, timeout <-chan time.Time) (*binding, error) {
	const op = "registry limiter"
	for {
		r.bindMu.Lock()
		wake := r.bindWake
		r.bindMu.Unlock()
		if b := r.bound.Load(); b != nil {
			return b, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, types.CanceledError(op, ctx.Err())
		case <-timeout:
			return nil, types.NewError(types.KindClientStopped, op, "no registry actor is running (waited %s)", r.askTimeout)
		}
	}
}

func (r *Registry) bind(b *binding) {
	r.bindMu.Lock()
	defer r.bindMu.Unlock()
	r.bound.Store(b)
	close(r.bindWake)
	r.bindWake = make(chan struct{})
}

func (r *Registry) unbind(b *binding) { r.bound.CompareAndSwap(b, nil) }

// LimiterFor is NewKey followed by Limiter. It normalizes baseURL on every
// call; hot paths keep the Key (or the limiter) instead.
func (r *Registry) LimiterFor(ctx context.Context, baseURL, apiKey string) (*limiter.Limiter, error) {
	k, err := NewKey(baseURL, apiKey)
	if err != nil {
		return nil, err
	}
	return r.Limiter(ctx, k)
}

// Entry describes one config in the registry. It never carries the API key.
type Entry struct {
	Fingerprint string
	BaseURL     string
	Limiter     limiter.Stats
	// PID is the limiter actor, nil while it is not running (for example
	// during a restart of the registry actor).
	PID *actor.PID
}

// Entries lists the configs, sorted by fingerprint, without taking a lock.
func (r *Registry) Entries() []Entry {
	list := r.snap.Load().list
	out := make([]Entry, len(list))
	for i, e := range list {
		out[i] = Entry{
			Fingerprint: e.key.fp,
			BaseURL:     e.key.baseURL,
			Limiter:     e.lim.Stats(),
			PID:         e.pid.Load(),
		}
	}
	return out
}

// PID returns the running registry actor, or nil.
func (r *Registry) PID() *actor.PID {
	if b := r.bound.Load(); b != nil {
		return b.pid
	}
	return nil
}

// String summarizes the registry without any key.
func (r *Registry) String() string {
	return fmt.Sprintf("registry.Registry{configs=%d}", len(r.snap.Load().list))
}

// GoString is String.
func (r *Registry) GoString() string { return r.String() }

// Format prints String for every verb, so no verb walks into the entries.
func (r *Registry) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, r.String()) }

// LogValue shows the number of configs.
func (r *Registry) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("configs", len(r.snap.Load().list)))
}

// insert returns k's entry, creating it and publishing a new snapshot if it
// is missing. Only the registry actor calls it; the lock keeps the "one
// limiter per config" promise even if a second registry actor were started
// by mistake.
func (r *Registry) insert(k Key) (e *entry, created bool, err error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if e, ok := r.snap.Load().byID[k.id]; ok {
		return e, false, nil
	}
	lim, err := r.newLimiter(k)
	if err != nil {
		return nil, false, err
	}
	e = &entry{key: k, lim: lim}
	r.publish(e)
	r.observe(e)
	return e, true, nil
}

// publish stores a new snapshot with e added.
func (r *Registry) publish(e *entry) {
	cur := r.snap.Load()
	next := &snapshot{byID: make(map[string]*entry, len(cur.byID)+1), list: make([]*entry, 0, len(cur.list)+1)}
	for id, o := range cur.byID {
		next.byID[id] = o
	}
	next.byID[e.key.id] = e
	next.list = append(append(next.list, cur.list...), e)
	sort.Slice(next.list, func(i, j int) bool { return next.list[i].key.fp < next.list[j].key.fp })
	r.snap.Store(next)
}
