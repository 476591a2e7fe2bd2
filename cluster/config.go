package cluster

import (
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tinkex-go/tinkex/internal/fleetapi"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// Defaults of the lease protocol (see docs/cluster.md for the trade-offs).
const (
	// DefaultRenewInterval: how often each member renews its lease of each
	// config with the config's grain.
	DefaultRenewInterval = 100 * time.Millisecond
	// DefaultLeaseTTL: how long a grant holds without a renewal. A dead
	// member's share returns to the fleet after it; a fresh grain
	// activation grants nothing new during it.
	DefaultLeaseTTL = time.Second
	// DefaultDegradeAfter: how long a member goes without a grant before
	// it limits locally (and says so).
	DefaultDegradeAfter = time.Second
	// DefaultRejoinAfter: how long every config stays degraded before the
	// member leaves and rejoins the cluster under a new identity.
	DefaultRejoinAfter = 3 * time.Second
)

// Option configures a Fleet (the runtime passes WithCluster's options). The
// type is defined in an internal package, like Provider's, so that the
// tinkex root package can take options without linking this package.
type Option = fleetapi.Option

// settings is a Fleet's configuration: New's arguments and, embedded, what
// the options set.
type settings struct {
	name, bind string
	provider   recipe
	fleetapi.Settings
}

// WithAdvertisedAddress makes the member known to the others as addr
// (host:port) instead of its bind address, for NAT, containers or a proxy.
func WithAdvertisedAddress(addr string) Option {
	return func(s *fleetapi.Settings) { s.Advertise = addr }
}

// WithRenewInterval sets how often leases are renewed (default
// DefaultRenewInterval).
func WithRenewInterval(d time.Duration) Option { return func(s *fleetapi.Settings) { s.Renew = d } }

// WithLeaseTTL sets how long a grant holds without renewal (default
// DefaultLeaseTTL).
func WithLeaseTTL(d time.Duration) Option { return func(s *fleetapi.Settings) { s.Lease = d } }

// WithDegradeAfter sets how long a member waits for a grant before it
// limits locally (default DefaultDegradeAfter).
func WithDegradeAfter(d time.Duration) Option { return func(s *fleetapi.Settings) { s.Degrade = d } }

// WithRejoinAfter sets how long every config stays degraded before the member
// rejoins under a new identity (default DefaultRejoinAfter).
func WithRejoinAfter(d time.Duration) Option { return func(s *fleetapi.Settings) { s.Rejoin = d } }

// WithTelemetry sets the bus for EventDegraded, EventRecovered and
// EventJoined (the runtime passes its own).
func WithTelemetry(b *telemetry.Bus) Option { return func(s *fleetapi.Settings) { s.Bus = b } }

// WithPrometheus registers MetricDegraded on reg (the runtime passes its
// own registerer, if any).
func WithPrometheus(reg prometheus.Registerer) Option {
	return func(s *fleetapi.Settings) { s.Registerer = reg }
}

// WithLogger routes protoactor's cluster logs and the fleet's own to l
// (default silent).
func WithLogger(l *slog.Logger) Option { return func(s *fleetapi.Settings) { s.Logger = l } }

func (s *settings) validate() error {
	const op = "cluster"
	if s.name == "" {
		return types.ValidationError(op, "cluster name is empty")
	}
	if s.provider.build == nil {
		return types.ValidationError(op, "no cluster provider: use cluster.Etcd, cluster.Automanaged, a TestNetwork or cluster.Protoactor")
	}
	if s.provider.check != nil {
		if err := s.provider.check(); err != nil {
			return types.ValidationError(op, "%v", err)
		}
	}
	if _, err := splitHostPort(s.bind); err != nil {
		return types.ValidationError(op, "bind address %q: %v", s.bind, err)
	}
	if s.Advertise != "" {
		if _, err := splitHostPort(s.Advertise); err != nil {
			return types.ValidationError(op, "advertised address %q: %v", s.Advertise, err)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"renew interval", s.Renew}, {"lease TTL", s.Lease}, {"degrade delay", s.Degrade}, {"rejoin delay", s.Rejoin}} {
		if d.v <= 0 {
			return types.ValidationError(op, "%s must be positive, got %s", d.name, d.v)
		}
	}
	if s.Lease < 2*s.Renew {
		return types.ValidationError(op, "lease TTL %s must be at least two renew intervals (%s)", s.Lease, s.Renew)
	}
	return nil
}

type hostPort struct {
	host string
	port int
}

func splitHostPort(addr string) (hostPort, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return hostPort{}, err
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return hostPort{}, &net.AddrError{Err: "bad port", Addr: addr}
	}
	if h == "" {
		return hostPort{}, &net.AddrError{Err: "missing host", Addr: addr}
	}
	return hostPort{host: h, port: n}, nil
}
