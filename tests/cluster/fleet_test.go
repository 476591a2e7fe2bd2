package cluster

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	keyA   = "tml-cluster-test-key-A-0123456789"
	keyB   = "tml-cluster-test-key-B-9876543210"
	budget = 12 // slots per config: the fleet-wide budget
)

// startFleet starts n workers on loopback forming one automanaged fleet
// (or an etcd one when etcdURL is set) against the fake, and waits until
// every member holds its share of both configs.
func startFleet(t *testing.T, f *fake, n int, etcdURL string) []*member {
	t.Helper()
	type ports struct{ bind, adv, health, healthProxy int }
	ps := make([]ports, n)
	var hosts []string
	for i := range ps {
		ps[i] = ports{freePort(t), freePort(t), freePort(t), freePort(t)}
		hosts = append(hosts, addr(ps[i].healthProxy))
	}
	name := fmt.Sprintf("tinkex-test-%d", os.Getpid())
	members := make([]*member, n)
	for i, p := range ps {
		args := []string{"-name", name, "-bind", addr(p.bind), "-advertise", addr(p.adv),
			"-health", fmt.Sprint(p.health), "-health-proxy", addr(p.healthProxy), "-hosts", strings.Join(hosts, ","),
			"-base-url", f.base, "-key-a", keyA, "-key-b", keyB, "-slots", fmt.Sprint(budget), "-throttled", "3"}
		if etcdURL != "" {
			args = append(args, "-etcd", etcdURL)
		}
		m := &member{proc: start(t, fmt.Sprintf("member-%d", i), bins.worker, args...), advertise: addr(p.adv)}
		require.Contains(t, m.line(), `"ready"`)
		members[i] = m
	}
	for _, cfg := range []string{"A", "B"} {
		eventually(t, func() bool {
			sum := 0
			for _, m := range members {
				v := m.view(cfg)
				if v.Degraded || v.Members != n {
					return false
				}
				sum += v.Bound
			}
			return sum == budget
		}, "every member holds its share of "+cfg, func() {
			for _, m := range members {
				t.Logf("%s: %v", m.name, m.do("status"))
			}
		})
	}
	return members
}

func sumBounds(ms []*member, cfg string) int {
	sum := 0
	for _, m := range ms {
		sum += m.view(cfg).Bound
	}
	return sum
}

func TestFleetOfProcesses(t *testing.T) {
	build(t)
	f := startFake(t)
	ms := startFleet(t, f, 3, "")

	t.Run("the fleet never exceeds the shared dispatch budget", func(t *testing.T) {
		// Each submit of A is held 30 ms in the server so they overlap; 3
		// members × 10 samplers would be 30 at once without the fleet.
		f.inject(`{"Key":"` + keyA + `","Endpoint":"asample","Delay":30000000}`)
		defer f.clearFaults()
		f.resetPeak(keyA)
		before := f.count(keyA, 0)
		for _, m := range ms {
			m.do("load A 10")
		}
		eventually(t, func() bool { return f.count(keyA, 0) >= before+150 }, "150 submits of A")
		for _, m := range ms {
			res := m.do("stop A")
			assert.Zero(t, res["errors"], "%s: %v", m.name, res["first_error"])
		}
		_, peak := f.inflight(keyA)
		assert.LessOrEqual(t, peak, budget, "fleet-wide concurrent submits of A")
		assert.Greater(t, peak, budget/3, "more than one member's share was in use at once")
	})

	t.Run("a 429 for A reaches every member and never delays B", func(t *testing.T) {
		f.inject(`{"Key":"` + keyA + `","Endpoint":"asample","Status":429,"RetryAfter":"5","Times":1}`)
		defer f.clearFaults()
		ms[0].do("load A 1") // takes the 429, backs off 5 s, then goes on
		eventually(t, func() bool { return f.count(keyA, 429) == 1 }, "member 0 took a 429")
		for _, m := range ms[1:] {
			eventually(t, func() bool { return m.view("A").BackoffMS > 0 }, m.name+" learns A's backoff")
		}
		for _, m := range ms {
			b := m.do("sample B")
			require.Equal(t, true, b["ok"], b["error"])
			assert.Greater(t, b["a_backoff_ms"], 0.0, "%s: B finished while A was still backed off", m.name)
			assert.Zero(t, m.view("B").BackoffMS, "%s: B untouched", m.name)
		}
		res := ms[0].do("stop A")
		assert.Zero(t, res["errors"], res["first_error"])
		assert.Equal(t, 1, f.count(keyA, 429), "the other members did not pay their own 429")
	})

	t.Run("SIGKILL of a member loses no survivor's request and its leases come back", func(t *testing.T) {
		for _, m := range ms {
			m.do("load A 5")
		}
		before := f.count(keyA, 200)
		eventually(t, func() bool { return f.count(keyA, 200) >= before+30 }, "load runs")
		dead := ms[2]
		require.NoError(t, dead.cmd.Process.Signal(syscall.SIGKILL))
		<-dead.done
		survivors := ms[:2]
		eventually(t, func() bool {
			for _, m := range survivors {
				if v := m.view("A"); v.Members != 2 || v.Degraded {
					return false
				}
			}
			return sumBounds(survivors, "A") == budget
		}, "the dead member's share returns to the survivors")
		for _, m := range survivors {
			res := m.do("stop A")
			assert.Zero(t, res["errors"], "%s lost requests: %v", m.name, res["first_error"])
			assert.Greater(t, res["ok"], 0.0)
		}
		ms = survivors
	})

	t.Run("a member cut off degrades to local limits and rejoins", func(t *testing.T) {
		cut, other := ms[1], ms[0]
		cut.do("cut")
		eventually(t, func() bool { v := cut.view("A"); return v.Degraded && v.Bound == budget }, "the cut member limits locally")
		eventually(t, func() bool { v := other.view("A"); return v.Members == 1 && v.Bound == budget }, "the other holds the whole budget")
		cut.do("heal")
		eventually(t, func() bool {
			a, b := cut.view("A"), other.view("A")
			return !a.Degraded && a.Members == 2 && b.Members == 2 && a.Bound+b.Bound == budget
		}, "the cut member rejoined the fleet")
	})

	for _, m := range ms {
		m.quit()
	}
}
