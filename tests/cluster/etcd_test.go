package cluster

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/internal/etcdtest"
)

// startEtcd runs a single-node etcd on loopback with its data in a temp
// dir. Without an etcd binary on PATH the test is skipped, unless
// TINKEX_REQUIRE_ETCD=1 (set by .ci/run, which installs etcd-server).
func startEtcd(t *testing.T) string {
	t.Helper()
	bin := etcdtest.Binary(t)
	client, peer := addr(freePort(t)), addr(freePort(t))
	p := start(t, "etcd", bin, "--name", "tinkex-test", "--data-dir", t.TempDir(),
		"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "tinkex-test=http://"+peer, "--log-level", "error")
	go func() {
		for range p.lines {
		}
	}()
	url := "http://" + client
	hc := &http.Client{Timeout: time.Second}
	eventually(t, func() bool {
		res, err := hc.Get(url + "/health")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, "etcd is up")
	hc.CloseIdleConnections()
	return url
}

// The etcd provider forms the same fleet: every member holds its share,
// and a 429 of one member reaches the others.
func TestFleetOverEtcd(t *testing.T) {
	build(t)
	url := startEtcd(t)
	f := startFake(t)
	ms := startFleet(t, f, 3, url)

	f.inject(`{"Key":"` + keyA + `","Endpoint":"asample","Status":429,"RetryAfter":"3","Times":1}`)
	defer f.clearFaults()
	ms[0].do("load A 1")
	eventually(t, func() bool { return f.count(keyA, 429) == 1 }, "member 0 took a 429")
	for _, m := range ms[1:] {
		eventually(t, func() bool { return m.view("A").BackoffMS > 0 }, fmt.Sprintf("%s learns A's backoff over the etcd fleet", m.name))
	}
	res := ms[0].do("stop A")
	require.Zero(t, res["errors"], res["first_error"])
	for _, m := range ms {
		m.quit()
	}
}
