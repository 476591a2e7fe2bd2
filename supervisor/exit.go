package supervisor

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
)

// Exit reasons with OTP's meaning. A Transient child is restarted after any
// other reason. They are errors so that reasons compose with %w, but they
// are named as in OTP because they are not failures.
var (
	// ExitNormal: the child finished its work.
	//lint:ignore ST1012 an exit reason, not a failure
	ExitNormal = errors.New("normal")
	// ExitShutdown: the child was asked to stop, or stops because its job is
	// over at the request of something else.
	//lint:ignore ST1012 an exit reason, not a failure
	ExitShutdown = errors.New("shutdown")
	// ExitKilled: the child's supervisor killed it (Shutdown BrutalKill, or
	// a graceful stop that outlived its timeout). It is the cause of the
	// child's Context after the kill and the reason of the events about it.
	//lint:ignore ST1012 an exit reason, not a failure
	ExitKilled = errors.New("killed")
)

// Exit stops the calling actor with reason, like erlang:exit/1. Call it from
// the actor's Receive; the actor stops after the current message and sees
// *actor.Stopping and *actor.Stopped. Its supervisor then applies the child's
// restart type: ExitNormal and ExitShutdown (or errors wrapping them) are
// normal exits, anything else is abnormal; a nil reason means ExitNormal.
//
// An actor that stops itself without Exit (ctx.Stop(ctx.Self())) exits with
// ExitNormal. A panic is an abnormal exit whose reason is the panic value (an
// error as is, anything else wrapped in *PanicError).
func Exit(ctx actor.Context, reason error) {
	if reason == nil {
		reason = ExitNormal
	}
	if parent := ctx.Parent(); parent != nil {
		ctx.Send(parent, &exitNotice{pid: ctx.Self(), reason: reason})
	}
	ctx.Stop(ctx.Self())
}

// Ignore tells the supervisor, while the child handles *actor.Started, that
// it will not run: OTP's init/1 returning ignore. The child stops; Start and
// StartChild succeed (StartChild returns a nil PID), the spec is kept, not
// running, unless the child is Temporary, and no restart follows. Called
// after Started, it is Exit(ctx, ExitNormal).
func Ignore(ctx actor.Context) { Exit(ctx, errIgnored) }

// ignored is the reason Ignore announces; after Started it is a normal exit.
type ignored struct{}

func (ignored) Error() string        { return "ignore" }
func (ignored) Is(target error) bool { return target == ExitNormal }

var errIgnored error = ignored{}

// exitNotice carries a child's exit reason to its supervisor. It is a user
// message sent before the child stops, so it is queued ahead of the
// childDown the supervisor sends itself when the child's Terminated arrives.
type exitNotice struct {
	pid    *actor.PID
	reason error
}

// isNormal reports whether reason is a normal exit for a Transient child.
func isNormal(reason error) bool {
	return reason == nil || errors.Is(reason, ExitNormal) || errors.Is(reason, ExitShutdown)
}

// absorbedIsError reports whether OTP reports shutdown_error for a child
// whose exit with reason was consumed by its shutdown (OTP 25's shutdown/1,
// which takes the EXIT of a child that died first, and do_terminate/2):
//
//   - a graceful stop (a timeout or Infinity) accepts shutdown;
//   - BrutalKill accepts killed;
//   - both accept shutdown, {shutdown, Term} and normal from a child that is
//     not Permanent;
//
// anything else is an error. Here {shutdown, Term} is an error wrapping
// ExitShutdown, and OTP's plain shutdown is ExitShutdown itself or a
// supervisor's own end (isShutdown). A reason wrapping ExitNormal is normal
// (doc.go, note f).
func absorbedIsError(spec Spec, reason error) bool {
	if reason == nil {
		reason = ExitNormal
	}
	if spec.Shutdown == BrutalKill {
		if errors.Is(reason, ExitKilled) {
			return false
		}
	} else if isShutdown(reason) {
		return false
	}
	if spec.Restart == Permanent {
		return true
	}
	return !errors.Is(reason, ExitShutdown) && !errors.Is(reason, ExitNormal)
}

// isShutdown reports whether reason is OTP's plain shutdown rather than
// {shutdown, Term}: ExitShutdown itself, or the end of a supervisor that
// gave up (*IntensityError) or shut itself down (auto_shutdown), for which
// OTP exits with shutdown.
func isShutdown(reason error) bool {
	switch reason.(type) {
	case *IntensityError, *autoShutdownError:
		return true
	}
	return reason == ExitShutdown
}

// autoShutdownError is the exit reason of a supervisor that shut itself
// down when its significant children had exited (WithAutoShutdown): OTP's
// shutdown, with what made it happen.
type autoShutdownError struct {
	auto  AutoShutdown
	child string
}

func (e *autoShutdownError) Error() string {
	return fmt.Sprintf("shutdown: auto_shutdown %s: significant child %q exited", e.auto, e.child)
}

// Is matches ExitShutdown.
func (e *autoShutdownError) Is(target error) bool { return target == ExitShutdown }

// panicReason turns a recovered panic value into an exit reason.
func panicReason(v any) error {
	if err, ok := v.(error); ok {
		return err
	}
	return &PanicError{Value: v}
}
