package supervisor

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Every error the package returns is an *Error whose chain
// contains one of these (or a context error), so callers match with errors.Is.
var (
	// ErrInvalidSpec: a child spec, supervisor ID, strategy or option is
	// invalid; nothing was started.
	ErrInvalidSpec = errors.New("supervisor: invalid spec")
	// ErrNotFound: no child with that ID.
	ErrNotFound = errors.New("supervisor: no such child")
	// ErrAlreadyPresent: StartChild with an ID whose spec is kept but whose
	// child is not running, or whose failed restart waits to be tried again
	// (OTP's already_present). Use RestartChild.
	ErrAlreadyPresent = errors.New("supervisor: child spec already present")
	// ErrAlreadyStarted: StartChild with the ID of a running child.
	ErrAlreadyStarted = errors.New("supervisor: child already started")
	// ErrRunning: DeleteChild or RestartChild on a running child (terminate it
	// first).
	ErrRunning = errors.New("supervisor: child is running")
	// ErrRestarting: DeleteChild or RestartChild on a child whose failed
	// restart waits to be tried again (OTP's {error, restarting});
	// TerminateChild stops it.
	ErrRestarting = errors.New("supervisor: child is being restarted")
	// ErrStartFailed: a child panicked or exited before it finished handling
	// *actor.Started. The chain also holds the reason.
	ErrStartFailed = errors.New("supervisor: child failed to start")
	// ErrNotSupervisor: Sub named a child that is a worker.
	ErrNotSupervisor = errors.New("supervisor: child is not a supervisor")
	// ErrStopped: the supervisor is not running (it was stopped, gave up, or
	// is shutting down), so the request was not served.
	ErrStopped = errors.New("supervisor: not running")
	// ErrCallTimeout: the supervisor did not answer a call within the call's
	// bound (DefaultCallTimeout when ctx has no deadline).
	ErrCallTimeout = errors.New("supervisor: call timed out")
	// ErrIntensityExceeded: more restarts than the intensity allows happened
	// within the period, so the supervisor stopped its children and itself.
	// It is matched by every *IntensityError.
	ErrIntensityExceeded = errors.New("supervisor: restart intensity exceeded")
)

// Error is the error type of every call of this package that fails. Err holds
// the sentinel (ErrNotFound, ErrStopped...) or the context's error, and,
// wrapped with it, the cause (a child's exit reason for ErrStartFailed).
// Applications map it to their own error type by the sentinel.
type Error struct {
	// Op is the call: "start", "start_child", "terminate_child"...
	Op string
	// Message says what went wrong, in words; it may be empty.
	Message string
	// Err is the sentinel or context error, possibly wrapping a cause.
	Err error
}

// Error renders "supervisor: <op>: <message>: <cause>".
func (e *Error) Error() string {
	var sb strings.Builder
	sb.WriteString("supervisor: ")
	sb.WriteString(e.Op)
	if e.Message != "" {
		sb.WriteString(": ")
		sb.WriteString(e.Message)
	}
	if e.Err != nil {
		sb.WriteString(": ")
		sb.WriteString(strings.TrimPrefix(e.Err.Error(), "supervisor: "))
	}
	return sb.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// IntensityError is the exit reason of a supervisor that gave up: its parent
// sees it as the child's exit reason, and a root supervisor reports it from
// Err. As in OTP (where the reason is shutdown), it counts as a shutdown exit:
// errors.Is(err, ExitShutdown) is true, so a Transient supervisor child that
// gave up is not restarted, while a Permanent one is.
type IntensityError struct {
	// Supervisor is the ID of the supervisor that gave up.
	Supervisor string
	// Intensity and Period are its limits.
	Intensity int
	Period    time.Duration
	// Child is the ID of the child whose exit would have been one restart too
	// many, and Reason that exit's reason.
	Child  string
	Reason error
}

// Error says which supervisor gave up, its limits and the last exit.
func (e *IntensityError) Error() string {
	return fmt.Sprintf("supervisor %q: more than %d restarts in %v (last: child %q: %v)",
		e.Supervisor, e.Intensity, e.Period, e.Child, e.Reason)
}

// Is matches ErrIntensityExceeded and ExitShutdown.
func (e *IntensityError) Is(target error) bool {
	return target == ErrIntensityExceeded || target == ExitShutdown
}

// Unwrap returns the last child's exit reason.
func (e *IntensityError) Unwrap() error { return e.Reason }

// PanicError is the exit reason of a child that panicked with a value that is
// not an error (a panic with an error value has that error as its reason).
type PanicError struct {
	// Value is what the child passed to panic.
	Value any
}

// Error renders the value as "panic: <value>".
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

func specError(op, format string, args ...any) error {
	return &Error{Op: op, Message: fmt.Sprintf(format, args...), Err: ErrInvalidSpec}
}

func opError(op string, sentinel error, format string, args ...any) error {
	return &Error{Op: op, Message: fmt.Sprintf(format, args...), Err: sentinel}
}

func stoppedError(op string, cause error) error {
	if !errors.Is(cause, ErrStopped) {
		cause = fmt.Errorf("%w: %w", ErrStopped, cause)
	}
	return &Error{Op: op, Err: cause}
}

func canceledError(op string, cause error) error {
	return &Error{Op: op, Err: cause}
}
