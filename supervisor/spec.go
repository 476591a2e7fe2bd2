package supervisor

import (
	"fmt"
	"math"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Strategy says which children a supervisor restarts when one of them must be
// restarted. The zero value is OneForOne.
type Strategy int

const (
	// OneForOne restarts only the child that exited.
	OneForOne Strategy = iota
	// OneForAll stops every other child in reverse start order, then starts
	// all children again in start order.
	OneForAll
	// RestForOne stops the children started after the one that exited, in
	// reverse start order, then starts the exited child and those again.
	RestForOne
)

// String returns the OTP name: one_for_one, one_for_all or rest_for_one.
func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "one_for_one"
	case OneForAll:
		return "one_for_all"
	case RestForOne:
		return "rest_for_one"
	}
	return fmt.Sprintf("strategy(%d)", int(s))
}

// RestartType says when a child is restarted after it exits. The zero value is
// Permanent, as in OTP.
type RestartType int

const (
	// Permanent children are always restarted.
	Permanent RestartType = iota
	// Transient children are restarted only after an abnormal exit: a panic,
	// or an Exit reason that is neither ExitNormal nor ExitShutdown.
	Transient
	// Temporary children are never restarted; their spec is removed when they
	// exit, also when a sibling's failure stops them.
	Temporary
)

// String returns the OTP name: permanent, transient or temporary.
func (r RestartType) String() string {
	switch r {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Temporary:
		return "temporary"
	}
	return fmt.Sprintf("restart_type(%d)", int(r))
}

// Kind says whether a child is a worker or a supervisor. The zero value is
// KindWorker.
type Kind int

const (
	// KindWorker is an ordinary actor.
	KindWorker Kind = iota
	// KindSupervisor is a child built with Sub; it stops its own children in
	// order before it stops, and Tree shows it recursively.
	KindSupervisor
)

// String returns "worker" or "supervisor".
func (k Kind) String() string {
	if k == KindSupervisor {
		return "supervisor"
	}
	return "worker"
}

// Shutdown values with a special meaning in Spec.Shutdown. Any positive
// duration is a graceful-stop timeout after which the child is forced off.
const (
	// BrutalKill forces the child off at once, without waiting for it to
	// handle *actor.Stopping.
	BrutalKill time.Duration = -1
	// Infinity waits for the child to stop however long it takes (the
	// default for supervisors).
	Infinity time.Duration = math.MaxInt64
	// DefaultWorkerShutdown is the graceful-stop timeout of a worker whose
	// Spec.Shutdown is zero (OTP's 5000 ms).
	DefaultWorkerShutdown = 5 * time.Second
)

// Spec describes one child: how to start it, when to restart it and how to
// stop it. Zero values mean the OTP defaults: a permanent worker with a 5 s
// shutdown timeout.
type Spec struct {
	// ID names the child among its siblings, in Tree and in the actor's PID
	// (parent/ID). Required; it must be unique within the supervisor.
	ID string
	// Start returns a fresh actor instance. It is called on every start and
	// restart, so state must not be captured in the closure: restart means
	// fresh state. Either Start or Props is required.
	Start func() actor.Actor
	// Props is used when Start is nil. Its producer must also return a fresh
	// instance each time.
	Props *actor.Props
	// Restart is the restart type; Permanent by default.
	Restart RestartType
	// Shutdown is how long a graceful stop may take before the child is forced
	// off: zero means DefaultWorkerShutdown for workers and Infinity for
	// supervisors; BrutalKill skips the graceful stop.
	Shutdown time.Duration
	// Kind is KindWorker by default; Sub sets KindSupervisor.
	Kind Kind
	// Significant marks a Transient or Temporary child whose own exit may
	// end its supervisor (see WithAutoShutdown); OTP's significant flag. A
	// Permanent child cannot be significant, and a supervisor with
	// auto_shutdown Never accepts no significant child.
	Significant bool
}

func (s Spec) shutdown() time.Duration {
	if s.Shutdown != 0 {
		return s.Shutdown
	}
	if s.Kind == KindSupervisor {
		return Infinity
	}
	return DefaultWorkerShutdown
}

func (s Spec) validate(op string) error {
	if s.ID == "" {
		return specError(op, "child spec has an empty ID")
	}
	if s.Start == nil && s.Props == nil {
		return specError(op, "child spec %q has neither Start nor Props", s.ID)
	}
	if s.Restart < Permanent || s.Restart > Temporary {
		return specError(op, "child spec %q has an unknown restart type %d", s.ID, int(s.Restart))
	}
	if s.Kind != KindWorker && s.Kind != KindSupervisor {
		return specError(op, "child spec %q has an unknown kind %d", s.ID, int(s.Kind))
	}
	if s.Significant && s.Restart == Permanent {
		return specError(op, "child spec %q is permanent and significant (OTP's bad_combination)", s.ID)
	}
	if s.Shutdown < BrutalKill {
		return specError(op, "child spec %q has a negative shutdown %v (use BrutalKill)", s.ID, s.Shutdown)
	}
	return nil
}
