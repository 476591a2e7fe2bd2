package supervisor

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// OTP's default restart intensity: at most 1 restart within 5 seconds.
const (
	DefaultIntensity = 1
	DefaultPeriod    = 5 * time.Second
)

// AutoShutdown says when a supervisor shuts itself down because significant
// children exited (OTP's auto_shutdown flag). The zero value is Never.
type AutoShutdown int

const (
	// Never: significant children are not allowed (OTP's default).
	Never AutoShutdown = iota
	// AnySignificant: the supervisor shuts down, with reason ExitShutdown,
	// when any significant child exits by itself and is not restarted.
	AnySignificant
	// AllSignificant: it shuts down when the last running significant child
	// exits by itself and is not restarted.
	AllSignificant
)

// String returns the OTP name: never, any_significant or all_significant.
func (a AutoShutdown) String() string {
	switch a {
	case Never:
		return "never"
	case AnySignificant:
		return "any_significant"
	case AllSignificant:
		return "all_significant"
	}
	return fmt.Sprintf("auto_shutdown(%d)", int(a))
}

// WithAutoShutdown sets OTP's auto_shutdown flag (default Never). With
// AnySignificant or AllSignificant, a Transient or Temporary child whose
// Spec.Significant is set ends the supervisor when it exits by itself and
// is not restarted (a Transient one after a normal exit, a Temporary one
// after any exit); stops the supervisor causes itself (TerminateChild, a
// sibling's restart, a shutdown) never do. The supervisor then stops its
// children in reverse start order and exits with reason ExitShutdown, so a
// Transient parent entry is not restarted.
func WithAutoShutdown(a AutoShutdown) Option {
	return func(c *config) { c.autoShutdown = a }
}

// Option configures a supervisor built by Start or Sub.
type Option func(*config)

// WithIntensity allows at most n restarts within period (OTP's intensity and
// period); one more makes the supervisor give up. The default is 1 in 5 s;
// WithIntensity(3, 5*time.Second) says "3 in 5 s". n < 0 is treated as 0
// (never restart), a period <= 0 as DefaultPeriod.
//
// As in OTP, the period is a whole number of seconds (a fraction is rounded
// up) and restart times are read in whole seconds of monotonic time: a
// restart counts while now - then <= period in whole seconds, so restarts up
// to period+1 s apart (less than a second more than the period) may both
// count, exactly as an OTP supervisor with the same flags counts them.
func WithIntensity(n int, period time.Duration) Option {
	return func(c *config) {
		c.intensity = max(n, 0)
		if period <= 0 {
			period = DefaultPeriod
		}
		c.period = time.Duration(periodSeconds(period)) * time.Second
	}
}

// WithClock sets the clock of the restart window and of shutdown timeouts.
// Tests pass a fake one. Nil means the system clock. A sub-supervisor
// without WithClock uses its parent's clock.
func WithClock(c Clock) Option {
	if c == nil {
		c = systemClock{}
	}
	return func(cfg *config) { cfg.clock, cfg.clockSet = c, true }
}

// WithEventHook passes every Event of the supervisor to hook (nil: none). A
// sub-supervisor without WithEventHook uses its parent's hook, as suture's
// child supervisors inherit their parent's EventHook.
func WithEventHook(hook EventHook) Option {
	return func(cfg *config) { cfg.hook, cfg.hookSet = hook, true }
}

type config struct {
	id           string
	strategy     Strategy
	intensity    int
	period       time.Duration
	clock        Clock
	clockSet     bool
	hook         EventHook
	hookSet      bool
	autoShutdown AutoShutdown
	specs        []Spec
	// init, when set, replaces specs: it is called at every (re)start of the
	// supervisor, like OTP's init/1 (see SubFunc).
	init func() []Spec
	// lateFailure, when set (tests), is called once the supervisor has
	// handled the panic of a child it had already given up on (killed).
	lateFailure func(pid *actor.PID)
}

// withLateFailureHook sets config.lateFailure (tests: the handling of a
// killed child's late panic has no other observable end).
func withLateFailureHook(f func(pid *actor.PID)) Option {
	return func(c *config) { c.lateFailure = f }
}

func newConfig(id string, strategy Strategy, specs []Spec, opts []Option) *config {
	c := &config{
		id:        id,
		strategy:  strategy,
		intensity: DefaultIntensity,
		period:    DefaultPeriod,
		clock:     systemClock{},
		specs:     append([]Spec(nil), specs...),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// inherit returns c with the parent's clock and hook where c has none of its
// own.
func (c *config) inherit(parent *config) *config {
	if parent == nil || (c.clockSet && c.hookSet) {
		return c
	}
	cp := *c
	if !cp.clockSet {
		cp.clock = parent.clock
	}
	if !cp.hookSet {
		cp.hook = parent.hook
	}
	return &cp
}

func validateTree(op string, c *config, specs []Spec) error {
	id, strategy := c.id, c.strategy
	if id == "" {
		return specError(op, "supervisor ID is empty")
	}
	if strategy < OneForOne || strategy > RestForOne {
		return specError(op, "supervisor %q has an unknown strategy %d", id, int(strategy))
	}
	if c.autoShutdown < Never || c.autoShutdown > AllSignificant {
		return specError(op, "supervisor %q has an unknown auto_shutdown %d", id, int(c.autoShutdown))
	}
	seen := make(map[string]bool, len(specs))
	for _, s := range specs {
		if err := c.validate(op, s); err != nil {
			return err
		}
		if seen[s.ID] {
			return specError(op, "supervisor %q has two children with ID %q", id, s.ID)
		}
		seen[s.ID] = true
	}
	return nil
}

// validate checks spec on its own and against the supervisor's flags.
func (c *config) validate(op string, spec Spec) error {
	if err := spec.validate(op); err != nil {
		return err
	}
	if spec.Significant && c.autoShutdown == Never {
		return specError(op, "child spec %q is significant but supervisor %q has auto_shutdown never", spec.ID, c.id)
	}
	return nil
}
