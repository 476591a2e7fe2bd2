package tinkex

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/tinkex-go/tinkex/internal/fleetapi"
	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/supervisor"
)

// clusterOption is what WithCluster records; nothing of the cluster is
// built until Start, and nothing at all without the option.
type clusterOption struct {
	name, bind string
	provider   fleetapi.Provider
	opts       []fleetapi.Option
}

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
	return func(c *runtimeConfig) {
		c.cluster = &clusterOption{name: name, bind: bind, provider: p, opts: opts}
	}
}

// newFleet builds the fleet member of cfg's WithCluster, or returns nil
// without it, and the registry option that attaches every new limiter to it.
func newFleet(cfg *runtimeConfig, rt *Runtime) (*fleetapi.Member, []registry.Option, error) {
	co := cfg.cluster
	if co == nil {
		return nil, nil, nil
	}
	runtimeOpt := func(s *fleetapi.Settings) { s.Bus, s.Registerer, s.Logger = rt.bus, cfg.registerer, rt.logger }
	m, err := fleetapi.Join(co.name, co.bind, co.provider, append([]fleetapi.Option{runtimeOpt}, co.opts...))
	if err != nil {
		return nil, nil, err
	}
	return &m, []registry.Option{registry.WithObserver(m.Attach)}, nil
}

// memberShutdown bounds the member's stop: leaving the cluster waits for
// protoactor lookups in flight (up to 5 s) and the provider's shutdown.
const memberShutdown = 15 * time.Second

// clusterSpecs is the "cluster" subtree of the root, empty without a fleet:
//
//	cluster      one_for_one
//	└── member   the protoactor cluster member of this process
func (rt *Runtime) clusterSpecs() []supervisor.Spec {
	if rt.fleet == nil {
		return nil
	}
	member := supervisor.Spec{ID: "member", Start: func() actor.Actor { return rt.fleet.Producer() },
		Restart: supervisor.Permanent, Shutdown: memberShutdown}
	return []supervisor.Spec{supervisor.Sub("cluster", supervisor.OneForOne, []supervisor.Spec{member})}
}

// Cluster returns this runtime's fleet membership (a cluster.View, whose
// dynamic type is *cluster.Fleet), or nil when it was started without
// WithCluster.
func (rt *Runtime) Cluster() fleetapi.View {
	if rt.fleet == nil {
		return nil
	}
	return rt.fleet.View
}

// clusterNodes adds what the member sees under the cluster subtree of a
// Tree snapshot: member:<address> for every member of the fleet and
// grain:<fingerprint> for every config grain active on this member.
func (rt *Runtime) clusterNodes(n *supervisor.Node) {
	if rt.fleet == nil {
		return
	}
	for i := range n.Children {
		if n.Children[i].ID != "cluster" {
			continue
		}
		for j := range n.Children[i].Children {
			m := &n.Children[i].Children[j]
			if m.ID != "member" {
				continue
			}
			st := rt.fleet.View.Status()
			for _, addr := range st.Members {
				m.Children = append(m.Children, supervisor.Node{ID: "member:" + addr, Kind: supervisor.KindWorker, Status: supervisor.Running})
			}
			for _, fp := range st.Grains {
				m.Children = append(m.Children, supervisor.Node{ID: "grain:" + fp, Kind: supervisor.KindWorker, Status: supervisor.Running})
			}
		}
	}
}
