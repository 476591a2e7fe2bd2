package supervisor

import "github.com/asynkron/protoactor-go/actor"

// SubFunc is Sub with children computed by init at every start and restart
// of the child supervisor, like OTP's init/1. Use it when the children must
// come back after the supervisor itself restarts, e.g. children added with
// StartChild that the caller also records in state that outlives the
// supervisor: init returns that record. init runs on the supervisor's
// goroutine; it must be quick and must not call the supervisor.
func SubFunc(id string, strategy Strategy, init func() []Spec, opts ...Option) Spec {
	cfg := newConfig(id, strategy, nil, opts)
	cfg.init = init
	return Spec{
		ID:    id,
		Kind:  KindSupervisor,
		Start: func() actor.Actor { return newSupervisorActor(cfg, nil) },
	}
}
