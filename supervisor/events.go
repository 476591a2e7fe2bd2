package supervisor

import (
	"fmt"
	"log/slog"
	"time"
)

// EventType says what happened to a child. The names are OTP's report names
// where OTP has one.
type EventType int

const (
	// EventChildStarted: a child was started for the first time (by Start,
	// StartChild or RestartChild); OTP's progress report. Info level.
	EventChildStarted EventType = iota
	// EventChildRestarted: the supervisor started a child again after an
	// exit (its own, or a sibling's under OneForAll/RestForOne). Reason is
	// the exit that caused the restart. Warn level.
	EventChildRestarted
	// EventChildStopped: a child ended and will not be restarted, or its
	// supervisor stopped it (TerminateChild, a sibling's restart, a
	// shutdown, a kill). Reason is the exit reason: normal, shutdown,
	// killed or an abnormal reason reported by EventChildTerminated or
	// EventShutdownError.
	// It is never an error report: Debug level.
	EventChildStopped
	// EventIntensityExceeded: one restart too many within the period; the
	// supervisor stops its children and itself (OTP's
	// reached_max_restart_intensity). Error level.
	EventIntensityExceeded
	// EventChildTerminated: OTP's child_terminated error report, sent when
	// the supervisor handles the exit (before any restart; an exit that
	// arrives while it waits on a stop or a start waits its turn, and one a
	// sibling's restart or a TerminateChild absorbs first gets only
	// EventShutdownError, as in OTP): a
	// Permanent child exited for any reason, or a Transient or Temporary
	// child exited abnormally (a panic, or an Exit reason other than
	// ExitNormal and ExitShutdown). A normal exit of a Transient or
	// Temporary child is not an error and is reported only by a Debug
	// EventChildStopped. Error level.
	EventChildTerminated
	// EventStartError: OTP's start_error report: a start while the
	// supervisor boots, or a restart attempt, failed (the child panicked or
	// exited while handling *actor.Started). Each failed attempt has its own
	// event. A failing StartChild or RestartChild is not reported (its
	// caller gets the error), as in OTP. Error level.
	EventStartError
	// EventShutdownError: OTP's shutdown_error report: a child did not stop
	// within its shutdown timeout and was killed (Reason is "killed"; see
	// Spec.Shutdown), or it panicked while stopping (Reason is the panic).
	// Error level.
	EventShutdownError
)

var eventNames = [...]string{
	EventChildStarted:      "child_started",
	EventChildRestarted:    "child_restarted",
	EventChildStopped:      "child_stopped",
	EventIntensityExceeded: "intensity_exceeded",
	EventChildTerminated:   "child_terminated",
	EventStartError:        "start_error",
	EventShutdownError:     "shutdown_error",
}

var eventLevels = [...]slog.Level{
	EventChildStarted:      slog.LevelInfo,
	EventChildRestarted:    slog.LevelWarn,
	EventChildStopped:      slog.LevelDebug,
	EventIntensityExceeded: slog.LevelError,
	EventChildTerminated:   slog.LevelError,
	EventStartError:        slog.LevelError,
	EventShutdownError:     slog.LevelError,
}

// String returns the event's name, e.g. "child_restarted".
func (t EventType) String() string {
	if t >= 0 && int(t) < len(eventNames) {
		return eventNames[t]
	}
	return fmt.Sprintf("event(%d)", int(t))
}

// Level is the severity OTP's logger would give the report: Error for
// OTP's error reports, Info for progress, Warn for restarts, Debug for
// normal stops.
func (t EventType) Level() slog.Level {
	if t >= 0 && int(t) < len(eventLevels) {
		return eventLevels[t]
	}
	return slog.LevelInfo
}

// Event is one thing a supervisor did to or saw of a child, as passed to an
// EventHook.
type Event struct {
	Type EventType
	// Time is the supervisor clock's reading when it happened.
	Time time.Time
	// Supervisor is the ID of the supervisor; Strategy its strategy.
	Supervisor string
	Strategy   Strategy
	// Child is the child's ID, ChildKind and Restart its spec's.
	Child     string
	ChildKind Kind
	Restart   RestartType
	// PID is the child's actor id ("root/clients/w"), "" when it has none.
	PID string
	// Reason is the exit reason, nil for starts.
	Reason error
	// Restarts counts the restarts in the supervisor's current intensity
	// window.
	Restarts int
}

// String renders the event on one line, e.g.
// `supervisor root: child_restarted child="w" reason=panic: boom restarts=1`.
func (e Event) String() string {
	s := fmt.Sprintf("supervisor %s: %s child=%q", e.Supervisor, e.Type, e.Child)
	if e.Reason != nil {
		s += " reason=" + e.Reason.Error()
	}
	return s + fmt.Sprintf(" restarts=%d", e.Restarts)
}

// EventHook receives a supervisor's events. It is called on the
// supervisor's own goroutine, in order, so it must be quick and must not
// call the supervisor; hand heavy work to a channel or another actor.
type EventHook func(Event)
