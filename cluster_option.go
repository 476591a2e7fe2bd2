package tinkex

import (
	"github.com/tinkex-go/tinkex/actors"
	"github.com/tinkex-go/tinkex/internal/fleetapi"
)

// WithCluster makes the runtime a member of the fleet called name, so that
// every config's 429 backoff and dispatch budget (400 concurrent submits, 10
// while throttled) are shared by all processes of the fleet instead of
// being paid per process. bind is this member's cluster endpoint
// (host:port); p, a cluster.Provider, says how members find each other, and
// opts are cluster.Options (package github.com/tinkex-go/tinkex/cluster):
//
//	tinkex.WithCluster("rl-job", "10.0.0.5:7000", cluster.Etcd("http://etcd:2379"))         // production
//	tinkex.WithCluster("rl-job", "10.0.0.5:7000", cluster.Automanaged(7001, hosts...))      // fixed host list
//	tinkex.WithCluster("rl-job", "127.0.0.1:0", network.Provider())                         // tests, one process
//	tinkex.WithCluster("rl-job", addr, cluster.Protoactor("consul", consulProvider))        // Consul, Kubernetes...
//
// The sampling hot path never waits on the cluster: updates arrive
// asynchronously and only extend a backoff or grant budget; when the fleet
// is unreachable each config limits exactly as without this option and
// says so (tinkex.cluster.degraded, tinkex_cluster_degraded). Without this
// option no cluster code runs, and none is linked: this package does not
// import package cluster (the provider and option types live in an
// internal package that cluster re-exports), so only a program that makes a
// cluster.Provider links protoactor's cluster and remote, gRPC, the etcd
// client and echo. See docs/cluster.md.
func WithCluster(name, bind string, p fleetapi.Provider, opts ...fleetapi.Option) RuntimeOption {
	return actors.WithCluster(name, bind, p, opts...)
}
