package limiter

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Defaults from the Tinker Python SDK (reference §4.4–4.5).
const (
	DefaultSlots                 = 400
	DefaultThrottledSlots        = 10
	DefaultByteBudget            = 10 << 20 // 10 MiB
	DefaultThrottleWindow        = 10 * time.Second
	DefaultThrottledCostMultiple = 20
)

// Identity names the config a limiter serves in telemetry, stats and actor
// names. It never holds the API key.
type Identity struct {
	// Fingerprint is types.ConfigFingerprint of the normalized base URL and key.
	Fingerprint string
	// BaseURL is the normalized base URL.
	BaseURL string
}

// Limiter is the flow control of one {base URL, API key} config: an
// extend-only backoff deadline, dispatch slots, a throttled-slot pool and a
// byte budget. All methods are safe for concurrent use, and none of them
// blocks any goroutine but its caller. The zero value is not usable; call New.
type Limiter struct {
	clk   clock.Clock
	start time.Time // monotonic offsets below are measured from here
	id    Identity
	bus   *telemetry.Bus

	slotCount      int
	throttledCount int
	budget         int64
	window         time.Duration
	multiplier     int64

	// deadline and throttleUntil are nanoseconds since start; 0 means "not
	// set". They only move forward, except that a reader that sees one in
	// the past swaps it back to 0 so later readers skip the clock.
	deadline      atomic.Int64
	throttleUntil atomic.Int64

	slots     chan struct{}
	throttled chan struct{}

	bytes byteBudget // the byte budget

	slotsHeld     atomic.Int64
	throttledHeld atomic.Int64
	waiters       atomic.Int64 // callers blocked in Wait or Acquire

	// notify is the limiter actor currently attached, if any.
	notify atomic.Pointer[notifier]
	// burst is true from the backoff.set event of a burst until its
	// backoff.cleared event. Only the limiter actor writes it; it lives here
	// so it survives a restart of that actor.
	burst      atomic.Bool
	burstStart atomic.Int64
	bursts     atomic.Uint64
	// clearedThrough is the monotonic time of the last backoff.cleared
	// event; a late report whose deadline is not after it was covered by
	// that burst.
	clearedThrough atomic.Int64

	// fleet is used only when a cluster attaches (fleet.go).
	fleet fleet
}

type notifier struct {
	root *actor.RootContext
	pid  *actor.PID
}

// Option configures a Limiter.
type Option func(*settings)

type settings struct {
	clk            clock.Clock
	id             Identity
	bus            *telemetry.Bus
	slots          int
	throttledSlots int
	budget         int64
	window         time.Duration
	multiplier     int64
}

// WithClock sets the clock for deadlines and timers (default clock.Real).
func WithClock(c clock.Clock) Option { return func(s *settings) { s.clk = c } }

// WithSlots sets how many dispatches may be in flight at once (default 400).
func WithSlots(n int) Option { return func(s *settings) { s.slots = n } }

// WithThrottledSlots sets how many dispatches may be in flight while
// throttled (default 10).
func WithThrottledSlots(n int) Option { return func(s *settings) { s.throttledSlots = n } }

// WithByteBudget sets the byte budget in estimated request bytes (default
// 10 MiB).
func WithByteBudget(b int64) Option { return func(s *settings) { s.budget = b } }

// WithThrottleWindow sets how long the limiter stays throttled after a
// backoff ends (default 10 s).
func WithThrottleWindow(d time.Duration) Option { return func(s *settings) { s.window = d } }

// WithThrottledCostMultiplier sets the factor applied to a request's byte
// cost while throttled (default 20).
func WithThrottledCostMultiplier(m int64) Option { return func(s *settings) { s.multiplier = m } }

// WithTelemetry sets the bus the limiter actor emits backoff events on. A nil
// bus (the default) emits nothing.
func WithTelemetry(b *telemetry.Bus) Option { return func(s *settings) { s.bus = b } }

// WithIdentity names the config (fingerprint and normalized base URL) in
// telemetry and stats. Never pass the API key.
func WithIdentity(fingerprint, baseURL string) Option {
	return func(s *settings) { s.id = Identity{Fingerprint: fingerprint, BaseURL: baseURL} }
}

// New returns an idle limiter. It fails with a KindValidation *types.Error
// when a size is not positive or the throttle window is negative.
func New(opts ...Option) (*Limiter, error) {
	s := settings{
		slots:          DefaultSlots,
		throttledSlots: DefaultThrottledSlots,
		budget:         DefaultByteBudget,
		window:         DefaultThrottleWindow,
		multiplier:     DefaultThrottledCostMultiple,
	}
	for _, o := range opts {
		o(&s)
	}
	const op = "limiter"
	switch {
	case s.slots < 1:
		return nil, types.ValidationError(op, "slots must be at least 1, got %d", s.slots)
	case s.throttledSlots < 1:
		return nil, types.ValidationError(op, "throttled slots must be at least 1, got %d", s.throttledSlots)
	case s.budget < 1:
		return nil, types.ValidationError(op, "byte budget must be at least 1, got %d", s.budget)
	case s.window < 0:
		return nil, types.ValidationError(op, "throttle window must not be negative, got %s", s.window)
	case s.multiplier < 1:
		return nil, types.ValidationError(op, "throttled cost multiplier must be at least 1, got %d", s.multiplier)
	}
	clk := clock.Or(s.clk)
	l := &Limiter{
		clk:            clk,
		start:          clk.Now(),
		id:             s.id,
		bus:            s.bus,
		slotCount:      s.slots,
		throttledCount: s.throttledSlots,
		budget:         s.budget,
		window:         s.window,
		multiplier:     s.multiplier,
		slots:          make(chan struct{}, s.slots),
		throttled:      make(chan struct{}, s.throttledSlots),
	}
	l.bytes.init(s.budget)
	return l, nil
}

// Identity returns the config identity given with WithIdentity.
func (l *Limiter) Identity() Identity { return l.id }

// now is the monotonic time since the limiter was created, in nanoseconds,
// plus one so that 0 can mean "unset".
func (l *Limiter) now() int64 {
	return int64(l.clk.Now().Sub(l.start)) + 1
}

// Stats is a point-in-time view of a limiter, for tests, the demo and probes.
type Stats struct {
	Identity         Identity
	BackoffRemaining time.Duration // 0 when no backoff is active
	Throttled        bool          // during a backoff and for the throttle window after it
	Slots            int           // configured dispatch slots
	SlotsInUse       int
	ThrottledSlots   int // configured throttled slots
	ThrottledInUse   int
	ByteBudget       int64
	BytesInUse       int64 // charged bytes currently held; may exceed ByteBudget
	Waiters          int   // callers blocked on a backoff, a slot or the byte budget
	Bursts           uint64
}

// Stats returns the current state without taking a lock. Fields are read one
// by one, so under load they may not be mutually consistent.
func (l *Limiter) Stats() Stats {
	now := l.now()
	return Stats{
		Identity:         l.id,
		BackoffRemaining: l.remainingAt(now),
		Throttled:        l.throttledAt(now),
		Slots:            l.slotCount,
		SlotsInUse:       int(l.slotsHeld.Load()),
		ThrottledSlots:   l.throttledCount,
		ThrottledInUse:   int(l.throttledHeld.Load()),
		ByteBudget:       l.budget,
		BytesInUse:       l.budget - l.bytes.remaining.Load(),
		Waiters:          int(l.waiters.Load()),
		Bursts:           l.bursts.Load(),
	}
}
