package cluster

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tinkex-go/tinkex/telemetry"
)

// Telemetry event names (part of the public API, see docs/telemetry.md).
const (
	// EventDegraded: a config on this member stopped hearing from the fleet
	// (no grant within the degrade delay, or the member could not start) and
	// now limits exactly as a process without a cluster does. Metadata:
	// config, reason, member.
	EventDegraded = "tinkex.cluster.degraded"
	// EventRecovered: a degraded config got a grant from the fleet again.
	// Measurement duration (seconds degraded).
	EventRecovered = "tinkex.cluster.recovered"
	// EventJoined: an incarnation of this member started and joined the
	// fleet. Metadata: member (its address), provider.
	EventJoined = "tinkex.cluster.joined"
)

// Metadata keys beyond telemetry's own.
const (
	// KeyMember is a member's cluster address (host:port).
	KeyMember = "member"
	// KeyProvider is the provider name (etcd, automanaged, test...).
	KeyProvider = "provider"
)

// MetricDegraded is the gauge name: 1 while the config (label config, the
// fingerprint) limits locally because the fleet is out of reach.
const MetricDegraded = "tinkex_cluster_degraded"

// metrics are the fleet's Prometheus series; the zero value records nothing.
type metrics struct {
	degraded *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (metrics, error) {
	if reg == nil {
		return metrics{}, nil
	}
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: MetricDegraded,
		Help: "1 while a config limits locally because the tinkex cluster is unreachable, partitioned or slow.",
	}, []string{telemetry.KeyConfig})
	if err := reg.Register(g); err != nil {
		return metrics{}, err
	}
	return metrics{degraded: g}, nil
}

func (m metrics) setDegraded(fp string, on bool) {
	if m.degraded == nil {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	m.degraded.WithLabelValues(fp).Set(v)
}
