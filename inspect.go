package tinkex

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
)

// The module's tests, benchmarks and demo reach the actor system, the
// registry, a client's limiter and its PID through internal/inspect; the
// public API has none of them.
func init() {
	inspect.Install(inspect.Hooks{
		ActorSystem: func(v any) *actor.ActorSystem {
			if rt, ok := v.(*Runtime); ok && rt != nil {
				return rt.system
			}
			return nil
		},
		Registry: func(v any) *registry.Registry {
			if rt, ok := v.(*Runtime); ok && rt != nil {
				return rt.registry
			}
			return nil
		},
		Limiter: func(v any) *limiter.Limiter {
			if s, ok := v.(*ServiceClient); ok && s != nil {
				return s.lim
			}
			return nil
		},
		PID: func(v any) *actor.PID {
			switch c := v.(type) {
			case *TrainingClient:
				if c != nil {
					return c.pid.Load()
				}
			case *SamplingClient:
				if c != nil {
					return c.pid.Load()
				}
			}
			return nil
		},
	})
}
