package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/supervisor"
)

// SessionOwner is the ServiceClient side of a Session actor.
type SessionOwner interface {
	// SessionID names the session for probes ("" until established).
	SessionID() string
	// Run starts the session's background loop (establish it once, then
	// heartbeats) and returns the function that stops that loop; nil when
	// the client is stopping and nothing was started.
	Run() (stop func())
}

// Session is the first child of a service subtree. Each instance starts the
// owner's session loop when it starts and stops it when it restarts or
// stops; the session itself outlives the instance.
type Session struct {
	owner SessionOwner
	stop  func()
}

// SessionSpec is the supervisor spec of owner's Session actor: "session",
// permanent.
func SessionSpec(owner SessionOwner) supervisor.Spec {
	return supervisor.Spec{ID: "session", Restart: supervisor.Permanent,
		Start: func() actor.Actor { return &Session{owner: owner} }}
}

// Receive implements actor.Actor.
func (a *Session) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		a.stop = a.owner.Run()
	case *actor.Restarting, *actor.Stopping:
		if a.stop != nil {
			a.stop()
			a.stop = nil
		}
	default:
		handleCommon(ctx, "session", a.owner.SessionID())
	}
}
