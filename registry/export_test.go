package registry

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/supervisor"
)

// SpecWithWriterOptions is Spec with extra props options on the registry
// actor (tests: a middleware that crashes or blocks it).
func (r *Registry) SpecWithWriterOptions(writerOpts []actor.PropsOption, opts ...supervisor.Option) supervisor.Spec {
	return r.spec(writerOpts, opts...)
}
