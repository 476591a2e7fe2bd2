package supervisor

import (
	"errors"

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
// whose exit with reason was consumed by its shutdown: shutdown/1 returns ok
// for a shutdown exit, and do_terminate/2 lets {error, normal} pass for a
// child that is not permanent; anything else is an error. A reason wrapping
// ExitShutdown counts as shutdown, as everywhere here (doc.go, note f).
func absorbedIsError(restart RestartType, reason error) bool {
	switch {
	case reason == nil || errors.Is(reason, ExitShutdown):
		return false
	case errors.Is(reason, ExitNormal):
		return restart == Permanent
	}
	return true
}

// panicReason turns a recovered panic value into an exit reason.
func panicReason(v any) error {
	if err, ok := v.(error); ok {
		return err
	}
	return &PanicError{Value: v}
}
