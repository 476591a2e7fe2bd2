package tinkex

import (
	"github.com/tinkex-go/tinkex/actors"
	"github.com/tinkex-go/tinkex/cluster"
)

// WithCluster makes the runtime a member of the fleet called name, so that
// every config's 429 backoff and dispatch budget (400 concurrent submits, 10
// while throttled) are shared by all processes of the fleet instead of
// being paid per process. bind is this member's cluster endpoint
// (host:port); p says how members find each other:
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
// option no cluster code runs. See docs/cluster.md.
func WithCluster(name, bind string, p cluster.Provider, opts ...cluster.Option) RuntimeOption {
	return actors.WithCluster(name, bind, p, opts...)
}
