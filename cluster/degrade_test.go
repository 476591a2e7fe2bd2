package cluster_test

import (
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/cluster"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

// One member, so one protoactor remote in the process: safe under -race.
func TestMemberThatCannotJoinLimitsLocallyAndSaysSoThenJoins(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	bus := telemetry.NewBus()
	events := make(chan telemetry.Event, 64)
	require.NoError(t, bus.Attach("test", []string{"tinkex.cluster.*"}, func(e telemetry.Event) { events <- e }))
	reg := prometheus.NewRegistry()
	f, lim, _ := startSoloMember(t, taken.Addr().String(), cluster.NewTestNetwork().Provider(),
		cluster.WithTelemetry(bus), cluster.WithPrometheus(reg))

	ev := next(t, events)
	require.Equal(t, cluster.EventDegraded, ev.Name)
	assert.Equal(t, fpA, ev.Metadata[telemetry.KeyConfig])
	assert.Contains(t, ev.Metadata[telemetry.KeyReason], "joining the cluster")
	assert.Equal(t, 1.0, gauge(t, reg))
	s, th := lim.Bound()
	assert.Equal(t, 12, s, "degraded: exactly the local limits")
	assert.Equal(t, 3, th)
	assert.True(t, f.Status().Configs[0].Degraded)

	require.NoError(t, taken.Close()) // the port frees up: the next attempt joins
	ev = next(t, events)
	require.Equal(t, cluster.EventJoined, ev.Name)
	assert.Equal(t, "test", ev.Metadata[cluster.KeyProvider])
	ev = next(t, events)
	require.Equal(t, cluster.EventRecovered, ev.Name)
	assert.Equal(t, 0.0, gauge(t, reg))
	st := f.Status()
	require.Len(t, st.Configs, 1)
	c := st.Configs[0]
	assert.False(t, c.Degraded)
	assert.Equal(t, 12, c.Slots, "the only member holds the whole budget")
	assert.Equal(t, 1, c.Members)
	assert.Equal(t, []string{fpA}, st.Grains, "the grain lives on the only member")
	assert.Equal(t, []string{st.Address}, st.Members)
}

func gauge(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == cluster.MetricDegraded {
			require.Len(t, mf.GetMetric(), 1)
			assert.Equal(t, fpA, mf.GetMetric()[0].GetLabel()[0].GetValue())
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	require.FailNow(t, "no "+cluster.MetricDegraded)
	return 0
}

func next(t *testing.T, ch <-chan telemetry.Event) telemetry.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(20 * time.Second):
		require.FailNow(t, "no event")
		return telemetry.Event{}
	}
}

func TestNewRefusesBadConfigurations(t *testing.T) {
	p := cluster.NewTestNetwork().Provider()
	for name, tc := range map[string]struct {
		cname, bind string
		p           cluster.Provider
		opts        []cluster.Option
	}{
		"no name":                {"", "127.0.0.1:0", p, nil},
		"no provider":            {"x", "127.0.0.1:0", cluster.Provider{}, nil},
		"bad bind":               {"x", "127.0.0.1", p, nil},
		"bad port":               {"x", "127.0.0.1:99999", p, nil},
		"bad advertise":          {"x", "127.0.0.1:0", p, []cluster.Option{cluster.WithAdvertisedAddress("nope")}},
		"zero renew":             {"x", "127.0.0.1:0", p, []cluster.Option{cluster.WithRenewInterval(0)}},
		"lease too short":        {"x", "127.0.0.1:0", p, []cluster.Option{cluster.WithLeaseTTL(150 * time.Millisecond)}},
		"etcd without endpoints": {"x", "127.0.0.1:0", cluster.Etcd(), nil},
		"etcd zero timeout":      {"x", "127.0.0.1:0", cluster.EtcdWith([]string{"http://127.0.0.1:2379"}, cluster.EtcdRequestTimeout(0)), nil},
		"etcd negative retry":    {"x", "127.0.0.1:0", cluster.EtcdWith([]string{"http://127.0.0.1:2379"}, cluster.EtcdRetryInterval(-time.Second)), nil},
		"etcd lease under 1 s":   {"x", "127.0.0.1:0", cluster.EtcdWith([]string{"http://127.0.0.1:2379"}, cluster.EtcdLeaseTTL(500*time.Millisecond)), nil},
		"automanaged bad port":   {"x", "127.0.0.1:0", cluster.Automanaged(0, "127.0.0.1:7001"), nil},
		"automanaged no hosts":   {"x", "127.0.0.1:0", cluster.Automanaged(7001), nil},
		"automanaged bad host":   {"x", "127.0.0.1:0", cluster.Automanaged(7001, "nohost"), nil},
		"protoactor no build":    {"x", "127.0.0.1:0", cluster.Protoactor("consul", nil), nil},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := cluster.New(tc.cname, tc.bind, tc.p, tc.opts...)
			assert.ErrorIs(t, err, types.ErrValidation)
		})
	}
}
