package cluster

import (
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

// Option configures a Fleet.
type Option func(*settings)

type settings struct {
	name, bind, advertise       string
	provider                    Provider
	renew, lease, degrade, join time.Duration
	bus                         *telemetry.Bus
	registerer                  prometheus.Registerer
	logger                      *slog.Logger
}

// WithAdvertisedAddress makes the member known to the others as addr
// (host:port) instead of its bind address, for NAT, containers or a proxy.
func WithAdvertisedAddress(addr string) Option { return func(s *settings) { s.advertise = addr } }

// WithRenewInterval sets how often leases are renewed (default
// DefaultRenewInterval).
func WithRenewInterval(d time.Duration) Option { return func(s *settings) { s.renew = d } }

// WithLeaseTTL sets how long a grant holds without renewal (default
// DefaultLeaseTTL).
func WithLeaseTTL(d time.Duration) Option { return func(s *settings) { s.lease = d } }

// WithDegradeAfter sets how long a member waits for a grant before it
// limits locally (default DefaultDegradeAfter).
func WithDegradeAfter(d time.Duration) Option { return func(s *settings) { s.degrade = d } }

// WithRejoinAfter sets how long every config stays degraded before the member
// rejoins under a new identity (default DefaultRejoinAfter).
func WithRejoinAfter(d time.Duration) Option { return func(s *settings) { s.join = d } }

// WithTelemetry sets the bus for EventDegraded, EventRecovered and
// EventJoined (the runtime passes its own).
func WithTelemetry(b *telemetry.Bus) Option { return func(s *settings) { s.bus = b } }

// WithPrometheus registers MetricDegraded on reg (the runtime passes its
// own registerer, if any).
func WithPrometheus(reg prometheus.Registerer) Option {
	return func(s *settings) { s.registerer = reg }
}

// WithLogger routes protoactor's cluster logs and the fleet's own to l
// (default silent).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

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
	if s.advertise != "" {
		if _, err := splitHostPort(s.advertise); err != nil {
			return types.ValidationError(op, "advertised address %q: %v", s.advertise, err)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"renew interval", s.renew}, {"lease TTL", s.lease}, {"degrade delay", s.degrade}, {"rejoin delay", s.join}} {
		if d.v <= 0 {
			return types.ValidationError(op, "%s must be positive, got %s", d.name, d.v)
		}
	}
	if s.lease < 2*s.renew {
		return types.ValidationError(op, "lease TTL %s must be at least two renew intervals (%s)", s.lease, s.renew)
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
