// Package fleetapi is the seam between the runtime and package cluster:
// what the runtime needs to run a fleet member (a provider, options, the
// member it gets back), without linking the cluster itself. Package cluster
// re-exports Provider, Option, View, Status and ConfigStatus; only a
// program that calls into package cluster (every provider is built there)
// links protoactor's remote and cluster, gRPC, the etcd client and echo.
// tinkex's TestRootLinksNoClusterDependency checks that the root package
// does not.
package fleetapi

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Settings is what the options of a fleet set; package cluster fills in
// its defaults before applying them and validates the result.
type Settings struct {
	// Advertise is the address the other members dial ("" = the bind
	// address).
	Advertise string
	// Renew, Lease, Degrade and Rejoin are the lease protocol's renew
	// interval, lease TTL, degrade delay and rejoin delay.
	Renew, Lease, Degrade, Rejoin time.Duration
	// Bus, Registerer and Logger receive the fleet's events, metric and
	// logs (the runtime sets its own before the user's options).
	Bus        *telemetry.Bus
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Option configures a fleet (cluster.Option).
type Option func(*Settings)

// Provider says how the members of a fleet find each other
// (cluster.Provider). Only package cluster makes one (NewProvider); the zero
// Provider is "none", which Join rejects.
type Provider struct {
	name   string
	recipe any
	join   JoinFunc
}

// JoinFunc builds this process's member of the fleet called name, bound to
// bind, from p (the Provider it was given to) and opts. It fails with a
// KindValidation error for a bad name, address, provider or option and
// never touches the network (the member actor does, once started).
type JoinFunc func(name, bind string, p Provider, opts []Option) (Member, error)

// NewProvider returns a provider called name; recipe is the provider's
// build recipe, private to package cluster (see Recipe), and join builds
// the member from it.
func NewProvider(name string, recipe any, join JoinFunc) Provider {
	return Provider{name: name, recipe: recipe, join: join}
}

// String names the provider (etcd, automanaged, test, or the name given to
// cluster.Protoactor); "" for the zero Provider.
func (p Provider) String() string { return p.name }

// Recipe returns the recipe p was made with, nil for the zero Provider.
func Recipe(p Provider) any { return p.recipe }

// Join builds the member of the fleet called name with p, or fails with a
// KindValidation error (the zero Provider included).
func Join(name, bind string, p Provider, opts []Option) (Member, error) {
	if p.join == nil {
		return Member{}, types.ValidationError("cluster", "no cluster provider: use cluster.Etcd, cluster.Automanaged, a cluster.TestNetwork or cluster.Protoactor")
	}
	return p.join(name, bind, p, opts)
}

// Member is this process's membership, as the runtime wires it: the view
// Runtime.Cluster returns, the observer that attaches every limiter the
// registry creates, and the producer of the member actor (run under the
// runtime's "cluster" supervisor, at most one at a time).
type Member struct {
	View     View
	Attach   func(registry.Created)
	Producer actor.Producer
}

// View is what a program sees of its fleet membership (cluster.View; its
// dynamic type is *cluster.Fleet).
type View interface {
	// Name returns the cluster name.
	Name() string
	// Status returns the current view without waiting for any actor.
	Status() Status
}

// Status is a point-in-time view of this member, for Tree, the demo and
// tests (cluster.Status).
type Status struct {
	// Provider is the provider's name.
	Provider string
	// Address is this member's cluster address, "" while it is not joined.
	Address string
	// Members are the addresses of the members this member sees, itself
	// included, sorted.
	Members []string
	// Grains are the fingerprints of the config grains active on this
	// member, sorted.
	Grains []string
	// Configs is this member's view of each attached config, by
	// fingerprint.
	Configs []ConfigStatus
	// Reports, Pushes, Applied and Grants count protocol messages since
	// start: backoff reports sent, backoff pushes sent by grains here,
	// pushes that extended a local limiter, grants received.
	Reports, Pushes, Applied, Grants uint64
}

// ConfigStatus is one member's view of one config (cluster.ConfigStatus).
type ConfigStatus struct {
	Fingerprint string
	// Degraded is true while the config limits locally.
	Degraded bool
	// Slots and ThrottledSlots are the current grant (0 when degraded or
	// not yet granted); BoundSlots and BoundThrottled what the local
	// limiter can have in flight now.
	Slots, ThrottledSlots      int
	BoundSlots, BoundThrottled int
	// Members is how many leaseholders the grain counted in its last grant.
	Members int
	// Backoff is the local limiter's backoff left.
	Backoff time.Duration
}
