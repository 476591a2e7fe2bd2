package supervisor

import (
	"github.com/asynkron/protoactor-go/actor"
)

// Messages between supervisors, their children and handles. All unexported:
// the protocol is the package's business.

// childStarted is sent to the supervisor once a child has handled
// *actor.Started (a worker, by the ack middleware) or has started all its own
// children (a sub-supervisor).
type childStarted struct{ pid *actor.PID }

// childDown is what the supervisor sends itself when a child's Terminated
// arrives, so that an exitNotice queued by the child is handled first.
type childDown struct{ pid *actor.PID }

// stopTimeout fires when a child's graceful-stop time is up.
type stopTimeout struct{ seq int }

// killRequest tells a supervisor child that its parent killed it: it kills
// its own children at once, in no particular order, and stops, as an OTP
// supervisor killed with exit(Pid, kill) takes its linked children down
// with reason killed. Its parent delivers it straight to the mailbox, since
// the killed supervisor is already unregistered.
type killRequest struct{}

// shutdownRequest asks a supervisor to stop its children in reverse order
// and then itself. Parents send it to supervisor children; Stop sends it to a
// root.
type shutdownRequest struct{}

// Requests from handles. Each is answered with a *reply.
type (
	startChildRequest     struct{ spec Spec }
	terminateChildRequest struct{ id string }
	deleteChildRequest    struct{ id string }
	restartChildRequest   struct{ id string }
	whichChildrenRequest  struct{}
	countChildrenRequest  struct{}
	levelRequest          struct{}
	childPIDRequest       struct{ id string }
	childSpecRequest      struct{ id string }
	syncRequest           struct{}
)

type reply struct {
	value any
	err   error
}

// level is one supervisor's view of itself and its children, for Tree.
type level struct {
	id       string
	strategy Strategy
	children []ChildInfo
}

// readOnly requests are answered at once, even while the supervisor is in the
// middle of a restart, so Tree never waits on a busy supervisor.
func readOnly(m any) bool {
	switch m.(type) {
	case *whichChildrenRequest, *countChildrenRequest, *levelRequest, *childPIDRequest, *childSpecRequest:
		return true
	}
	return false
}

// ackStarted is the receiver middleware the supervisor puts on every worker:
// once the worker's Receive has handled *actor.Started, it tells the parent,
// so children start strictly one after another, in order, as in OTP.
// It also ends the process's instance (see Context) after *actor.Stopped.
func ackStarted(next actor.ReceiverFunc) actor.ReceiverFunc {
	return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
		next(c, env)
		switch env.Message.(type) {
		case *actor.Started:
		case *actor.Stopped:
			if cc, ok := c.(*childContext); ok {
				cc.inst.end()
			}
			return
		default:
			return
		}
		if _, sup := c.Actor().(*supervisorActor); sup || c.Parent() == nil {
			return
		}
		c.ActorSystem().Root.Send(c.Parent(), &childStarted{pid: c.Self()})
	}
}
