package cluster

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/automanaged"
	"github.com/asynkron/protoactor-go/cluster/clusterproviders/test"
	"github.com/labstack/echo"

	"github.com/tinkex-go/tinkex/internal/fleetapi"
)

// Provider says how members of a fleet find each other: one of protoactor's
// cluster providers, made by Etcd, Automanaged, TestNetwork.Provider or
// Protoactor (the zero Provider is none, which tinkex.Start rejects). A
// Provider is a recipe, not a running thing: each incarnation of the member
// (see Fleet) builds a fresh protoactor provider from it, because
// protoactor never lets a member that left come back under the same
// identity. String names it.
//
// The type is defined in an internal package so that the tinkex root
// package can take it without linking this one: only a program that makes
// a Provider links protoactor's cluster and remote, gRPC, etcd and echo.
type Provider = fleetapi.Provider

// recipe is what a Provider made here carries.
type recipe struct {
	name  string
	check func() error // a bad argument, reported by New
	build func(env providerEnv) (pcluster.ClusterProvider, error)
}

// provider wraps r as a Provider that builds its member with join.
func provider(r recipe) Provider { return fleetapi.NewProvider(r.name, r, join) }

// recipeOf returns the recipe p was made with; ok is false for the zero
// Provider.
func recipeOf(p Provider) (r recipe, ok bool) {
	r, ok = fleetapi.Recipe(p).(recipe)
	return r, ok
}

// providerEnv is what a provider needs to know about the member it serves.
type providerEnv struct {
	clusterName string
	systemID    string
	bindHost    string
	advHost     string
	advPort     int
	kinds       []string
}

// Etcd is the etcd provider, for production: members register under the
// key prefix /tinkex/<cluster name> with a lease and watch each other, with
// the keys and values of protoactor's etcd provider. endpoints are etcd
// client URLs ("http://127.0.0.1:2379"). Every etcd call is bounded (3 s),
// so an unreachable etcd never blocks a member: one that cannot reach etcd
// at start-up limits locally and retries (see Fleet), and one that leaves
// while etcd is down is gone within the bound (the others drop it when its
// lease expires).
func Etcd(endpoints ...string) Provider { return etcdWith(defaultEtcdTimeouts, endpoints...) }

// EtcdOption tunes the etcd provider (EtcdWith).
type EtcdOption func(*etcdTimeouts)

// EtcdRequestTimeout bounds every etcd call (lease grant, put, get,
// revoke): how long a member that cannot reach etcd tries to join before it
// limits locally and retries, and how long Stop may wait for etcd. Default
// 3 s.
func EtcdRequestTimeout(d time.Duration) EtcdOption { return func(t *etcdTimeouts) { t.request = d } }

// EtcdLeaseTTL is the TTL of a member's lease, in whole seconds (at least
// 1 s): how soon the others drop a member that died without leaving.
// Default 3 s.
func EtcdLeaseTTL(d time.Duration) EtcdOption { return func(t *etcdTimeouts) { t.lease = d } }

// EtcdRetryInterval is the wait between attempts to register or list the
// members again after etcd failed. Default 1 s.
func EtcdRetryInterval(d time.Duration) EtcdOption { return func(t *etcdTimeouts) { t.retry = d } }

// EtcdWith is Etcd with its timeouts set by opts. A timeout that is not
// positive, or a lease TTL under 1 s, is reported by New.
func EtcdWith(endpoints []string, opts ...EtcdOption) Provider {
	t := defaultEtcdTimeouts
	for _, o := range opts {
		o(&t)
	}
	return etcdWith(t, endpoints...)
}

func etcdWith(t etcdTimeouts, endpoints ...string) Provider {
	eps := append([]string(nil), endpoints...)
	check := func() error {
		switch {
		case len(eps) == 0:
			return fmt.Errorf("etcd provider: no endpoints")
		case t.request <= 0 || t.retry <= 0:
			return fmt.Errorf("etcd provider: the request timeout (%s) and the retry interval (%s) must be positive", t.request, t.retry)
		case t.lease < time.Second:
			return fmt.Errorf("etcd provider: the lease TTL (%s) must be at least 1s", t.lease)
		}
		return nil
	}
	return provider(recipe{name: "etcd", check: check, build: func(providerEnv) (pcluster.ClusterProvider, error) {
		return newEtcdProvider("/tinkex", eps, t), nil
	}})
}

// DefaultAutomanagedRefresh is how often the automanaged provider polls the
// other members' health endpoints.
const DefaultAutomanagedRefresh = 200 * time.Millisecond

// Automanaged is protoactor's automanaged provider, for a fixed host list and
// no external service: every member serves GET /_health on port (on the
// bind host, never on all interfaces) and polls hosts ("host:port" of every
// member's health endpoint, itself included) every
// DefaultAutomanagedRefresh.
func Automanaged(port int, hosts ...string) Provider {
	hs := append([]string(nil), hosts...)
	check := func() error {
		if port <= 0 || port > 65535 {
			return fmt.Errorf("automanaged provider: health port %d out of range", port)
		}
		if len(hs) == 0 {
			return fmt.Errorf("automanaged provider: no hosts")
		}
		for _, h := range hs {
			if _, err := splitHostPort(h); err != nil {
				return fmt.Errorf("automanaged provider: host %q: %v", h, err)
			}
		}
		return nil
	}
	return provider(recipe{name: "automanaged", check: check, build: func(env providerEnv) (pcluster.ClusterProvider, error) {
		// protoactor's own health server listens on 0.0.0.0; serve the same
		// endpoint on the bind host instead, through its testing hook.
		lis, err := net.Listen("tcp", net.JoinHostPort(env.bindHost, strconv.Itoa(port)))
		if err != nil {
			return nil, fmt.Errorf("automanaged provider: %w", err)
		}
		e := echo.New()
		e.HideBanner, e.HidePort = true, true
		e.Listener = lis
		node := automanaged.NewNode(env.clusterName, env.systemID, env.advHost, env.advPort, port, env.kinds)
		e.GET("/_health", func(c echo.Context) error { return c.JSON(http.StatusOK, node) })
		return automanaged.NewWithTesting(DefaultAutomanagedRefresh, port, e, hs...), nil
	}})
}

// TestNetwork is an in-memory membership service for fleets inside one
// process (tests): protoactor's test provider over one shared agent.
type TestNetwork struct{ agent *test.InMemAgent }

// NewTestNetwork returns an empty in-memory network.
func NewTestNetwork() *TestNetwork { return &TestNetwork{agent: test.NewInMemAgent()} }

// Provider returns a provider whose members find each other through n.
func (n *TestNetwork) Provider() Provider {
	return provider(recipe{name: "test", build: func(providerEnv) (pcluster.ClusterProvider, error) {
		return test.NewTestProvider(n.agent, test.WithTestProviderServiceTtl(time.Second), test.WithTestProviderRefreshTtl(200*time.Millisecond)), nil
	}})
}

// Protoactor wraps any other protoactor cluster provider; build is called
// once per member incarnation and must return a fresh provider. Consul and
// Kubernetes are this one-line switch:
//
//	cluster.Protoactor("consul", func() (pcluster.ClusterProvider, error) { return consul.New() })
//	cluster.Protoactor("k8s", func() (pcluster.ClusterProvider, error) { return k8s.New() })
func Protoactor(name string, build func() (pcluster.ClusterProvider, error)) Provider {
	check := func() error {
		if build == nil {
			return fmt.Errorf("protoactor provider %q: no build function", name)
		}
		return nil
	}
	return provider(recipe{name: name, check: check, build: func(providerEnv) (pcluster.ClusterProvider, error) { return build() }})
}
