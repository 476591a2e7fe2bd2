package cluster

import (
	"time"

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

// EtcdWithTimeouts is Etcd with the bound of every etcd call, the lease TTL
// and the retry interval set (tests make them small).
func EtcdWithTimeouts(request, lease, retry time.Duration, endpoints ...string) Provider {
	return EtcdWith(endpoints, EtcdRequestTimeout(request), EtcdLeaseTTL(lease), EtcdRetryInterval(retry))
}
