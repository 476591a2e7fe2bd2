package cluster

import (
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"
)

// grainKind is the cluster kind of the per-config grains; the identity of
// a grain is the config fingerprint.
const grainKind = "tinkex-limits"

// agentName is the name of a config's agent on a member's cluster system.
func agentName(fp string) string { return "agent:" + fp }

// incarnation is one life of this member in the cluster: its own actor
// system (and so its own member identity), protoactor's cluster on it, and
// one agent actor per attached config. protoactor never re-admits a member
// identity that left, so rejoining means a new incarnation.
type incarnation struct {
	f       *Fleet
	sys     *actor.ActorSystem
	c       *pcluster.Cluster
	prov    *lazyProvider
	address string
	started time.Time

	mu     sync.Mutex
	agents map[string]*actor.PID // by fingerprint
	grains map[string]bool       // fingerprints of grains active here
	closed bool

	topology *eventstream.Subscription
	work     sync.WaitGroup // lookups in flight (see agent.resolve)
}

// joinMu serialises joins within a process: protoactor's remote sets
// gRPC's global logger on every start.
var joinMu sync.Mutex

// startIncarnation builds and joins a new incarnation. It blocks for
// protoactor's join (about a second) and turns protoactor's panics (a port
// in use, a provider that cannot start) into an error.
func startIncarnation(f *Fleet) (inc *incarnation, err error) {
	bind, _ := splitHostPort(f.s.bind) // validated by New
	log := f.log.With("component", "protoactor-cluster")
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return log }),
		actor.WithDeadLetterRequestLogging(false),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	inc = &incarnation{f: f, sys: sys, agents: map[string]*actor.PID{}, grains: map[string]bool{}}
	var ropts []remote.ConfigOption
	if f.s.Advertise != "" {
		ropts = append(ropts, remote.WithAdvertisedHost(f.s.Advertise))
	}
	inc.prov = &lazyProvider{recipe: f.s.provider, env: providerEnv{clusterName: f.s.name, systemID: sys.ID, bindHost: bind.host}}
	kind := pcluster.NewKind(grainKind, actor.PropsFromProducer(func() actor.Actor { return &grain{inc: inc, now: time.Now} }))
	cfg := pcluster.Configure(f.s.name, inc.prov, disthash.New(), remote.Configure(bind.host, bind.port, ropts...),
		pcluster.WithKinds(kind), pcluster.WithRequestTimeout(f.s.Degrade))
	inc.c = pcluster.New(sys, cfg)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("joining the cluster: %v", r)
			inc.shutdownCluster()
			inc = nil
		}
	}()
	joinMu.Lock()
	func() {
		defer joinMu.Unlock()
		inc.c.StartMember()
	}()
	inc.address = sys.Address()
	inc.started = time.Now()
	inc.topology = sys.EventStream.Subscribe(func(evt any) {
		if _, ok := evt.(*pcluster.ClusterTopology); ok {
			inc.broadcast(topologyChanged{})
		}
	})
	// Joined and published before any agent runs: a config's recovered
	// event (its first grant) comes after the join that made it possible,
	// and Status shows the incarnation by then.
	f.emit(EventJoined, nil, map[string]any{KeyMember: inc.address, KeyProvider: f.s.provider.name})
	f.inc.Store(inc)
	for _, cfg := range f.snapshot() {
		inc.attach(cfg)
	}
	return inc, nil
}

// attach spawns cfg's agent unless it runs already.
func (inc *incarnation) attach(cfg *config) {
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if inc.closed || inc.agents[cfg.fp] != nil {
		return
	}
	pid, err := inc.sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &agent{inc: inc, cfg: cfg} }), agentName(cfg.fp))
	if err == nil {
		inc.agents[cfg.fp] = pid
	}
}

// reported tells cfg's agent that its limiter extended the backoff on a
// 429 seen here. It never blocks.
func (inc *incarnation) reported(fp string) {
	inc.mu.Lock()
	pid := inc.agents[fp]
	inc.mu.Unlock()
	if pid != nil {
		inc.sys.Root.Send(pid, localReport{})
	}
}

func (inc *incarnation) broadcast(msg any) {
	inc.mu.Lock()
	pids := make([]*actor.PID, 0, len(inc.agents))
	for _, p := range inc.agents {
		pids = append(pids, p)
	}
	inc.mu.Unlock()
	for _, p := range pids {
		inc.sys.Root.Send(p, msg)
	}
}

func (inc *incarnation) setGrain(fp string, active bool) {
	inc.mu.Lock()
	defer inc.mu.Unlock()
	if active {
		inc.grains[fp] = true
	} else {
		delete(inc.grains, fp)
	}
}

func (inc *incarnation) grainList() []string {
	inc.mu.Lock()
	defer inc.mu.Unlock()
	out := make([]string, 0, len(inc.grains))
	for fp := range inc.grains {
		out = append(out, fp)
	}
	slices.Sort(out)
	return out
}

func (inc *incarnation) members() []string {
	var out []string
	for _, m := range inc.c.MemberList.Members().Members() {
		out = append(out, net.JoinHostPort(m.Host, strconv.Itoa(int(m.Port))))
	}
	slices.Sort(out)
	return out
}

// stop stops the agents, waits for their lookups and leaves the cluster
// without protoactor's fixed graceful-leave sleeps: the provider stops
// announcing this member, so the others drop it at their next refresh.
func (inc *incarnation) stop() {
	inc.mu.Lock()
	inc.closed = true
	agents := inc.agents
	inc.agents = map[string]*actor.PID{}
	inc.mu.Unlock()
	if inc.topology != nil {
		inc.sys.EventStream.Unsubscribe(inc.topology)
	}
	for _, pid := range agents {
		_ = inc.sys.Root.StopFuture(pid).Wait()
	}
	inc.work.Wait()
	inc.shutdownCluster()
}

// shutdownCluster undoes whatever part of StartMember ran.
func (inc *incarnation) shutdownCluster() {
	defer func() { _ = recover() }() // a half-started cluster may lack parts
	_ = inc.prov.Shutdown(true)
	if inc.c.IdentityLookup != nil {
		inc.c.IdentityLookup.Shutdown()
	}
	inc.c.Gossip.Shutdown()
	inc.sys.Shutdown()
	if r := inc.c.Remote; r != nil {
		// Graceful, so the endpoint manager closes its client connections;
		// it asks the peers to disconnect and would wait up to 10 s for the
		// gone ones: past remoteGrace the server is stopped outright.
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { _ = recover() }()
			r.Shutdown(true)
		}()
		t := time.NewTimer(remoteGrace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			r.Shutdown(false)
			<-done
		}
	}
}

// remoteGrace bounds how long leaving waits for peers to close their
// streams to this member.
const remoteGrace = time.Second

// lazyProvider builds the real provider when protoactor starts the member,
// once the member's address is known (the bind port may be 0).
type lazyProvider struct {
	recipe recipe
	env    providerEnv
	mu     sync.Mutex
	p      pcluster.ClusterProvider
}

func (l *lazyProvider) StartMember(c *pcluster.Cluster) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return err
	}
	env := l.env
	env.advHost, env.advPort, env.kinds = host, port, c.GetClusterKinds()
	p, err := l.recipe.build(env)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.p = p
	l.mu.Unlock()
	return p.StartMember(c)
}

func (l *lazyProvider) StartClient(*pcluster.Cluster) error {
	return fmt.Errorf("tinkex runs cluster members only")
}

func (l *lazyProvider) Shutdown(graceful bool) error {
	l.mu.Lock()
	p := l.p
	l.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.Shutdown(graceful)
}
