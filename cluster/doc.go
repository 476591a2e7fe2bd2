// Package cluster shares each Tinker config's backoff and dispatch budget
// across a fleet of processes, on protoactor-go's cluster (remote, gossip,
// virtual-actor grains and its cluster providers), never on anything
// home-made but the etcd provider: protoactor's waits on an unreachable etcd
// for ever, so Etcd is a provider of its own over the same keys with every
// etcd call bounded. It runs only when the runtime is started with
// tinkex.WithCluster; without it none of this package's code runs, and a
// program that does not import it does not link it (nor gRPC, the etcd
// client or echo): the root package takes Provider and Option, which are
// defined in internal/fleetapi, and only this package makes a Provider.
//
// Each config (fingerprint, never the key) has one grain, placed on one
// member by protoactor's distributed-hash identity lookup. It owns the
// fleet's backoff deadline (extend-only) and the leases of the dispatch
// budget. On every member one agent actor per config renews a lease with
// the grain every renew interval, reporting what its limiter can have in
// flight; the grain answers with an equal share of the configured budget
// (400 slots, 10 throttled), never granting what others may still hold. A
// 429 seen by a member extends its own limiter at once (the atomic hot
// path, as without a cluster) and is reported to the grain, which pushes
// the extended deadline to every other leaseholder: one report and N-1
// pushes per burst.
//
// The hot path never waits on the network. Grants become ceilings of the
// local limiter (limiter.SetCeiling), pushes extend its deadline
// (limiter.ApplyFleetBackoff); both arrive asynchronously and only extend
// or grant. A config whose member hears nothing from the fleet within the
// degrade delay goes back to exactly the local limits and says so
// (EventDegraded, MetricDegraded); a member that stays degraded leaves and
// rejoins under a new identity, because protoactor never re-admits a
// member that left.
//
// A dead member's leases return when its lease expires (or at once when
// the provider reports it gone); a grain re-activated after its member died
// grants nothing new for one lease period while the survivors re-report
// what they hold. docs/cluster.md has the guarantees, the providers and
// the measurements.
package cluster
