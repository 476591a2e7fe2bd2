package cluster

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/registry"
)

// What the runtime gets from a Provider's join, for the tests that drive a
// Fleet without a runtime.

// New is newFleet.
var New = newFleet

// Attach is the registry observer the runtime installs.
func (f *Fleet) Attach(c registry.Created) { f.attach(c) }

// Producer is the member actor's producer the runtime supervises.
func (f *Fleet) Producer() actor.Producer { return f.producer() }
