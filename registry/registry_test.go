package registry_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/registry"
	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/types"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	keyA = "tml-secret-AAAAAAAAAAAAAAAAAAAA"
	keyB = "tml-secret-BBBBBBBBBBBBBBBBBBBB"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func discardLogger(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }

func newSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	// A short dead-letter throttle window: each burst of dead letters starts
	// a goroutine that lives for the window, which goleak would see at the
	// end of the package.
	return actor.NewActorSystem(actor.WithLoggerFactory(discardLogger), actor.WithDeadLetterThrottleInterval(time.Millisecond))
}

// start runs r's subtree under a root supervisor and stops it at the end of
// the test. It returns the registry actor; opts go on its props.
func start(t *testing.T, sys *actor.ActorSystem, r *registry.Registry, opts ...actor.PropsOption) *actor.PID {
	t.Helper()
	startTree(t, sys, r, opts...)
	pid := r.PID()
	require.NotNil(t, pid)
	entries(t, sys, pid) // started
	return pid
}

// startTree is start returning the root supervisor.
func startTree(t *testing.T, sys *actor.ActorSystem, r *registry.Registry, opts ...actor.PropsOption) *supervisor.Supervisor {
	t.Helper()
	sup, err := supervisor.Start(context.Background(), sys, "root", supervisor.OneForOne,
		[]supervisor.Spec{r.SpecWithWriterOptions(opts, supervisor.WithIntensity(3, time.Minute))})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sup.Stop(context.Background())) })
	return sup
}

func entries(t *testing.T, sys *actor.ActorSystem, pid *actor.PID) []registry.Entry {
	t.Helper()
	res, err := sys.Root.RequestFuture(pid, registry.EntriesRequest{}, 10*time.Second).Result()
	require.NoError(t, err)
	es, ok := res.([]registry.Entry)
	require.True(t, ok, "got %T", res)
	return es
}

func newRegistry(t *testing.T, opts ...registry.Option) (*registry.Registry, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(epoch)
	r, err := registry.New(append([]registry.Option{registry.WithClock(fake)}, opts...)...)
	require.NoError(t, err)
	return r, fake
}

func mustKey(t *testing.T, url, key string) registry.Key {
	t.Helper()
	k, err := registry.NewKey(url, key)
	require.NoError(t, err)
	return k
}

func TestSpellingsShareOneEntry(t *testing.T) {
	sys := newSystem(t)
	r, _ := newRegistry(t)
	start(t, sys, r)
	ctx := context.Background()

	first, err := r.LimiterFor(ctx, "https://tinker.example.com/api", keyA)
	require.NoError(t, err)
	for _, url := range []string{
		"https://tinker.example.com/api/",
		"https://TINKER.Example.COM/api",
		"https://tinker.example.com:443/api",
		"HTTPS://tinker.example.com:443/api//",
	} {
		lim, err := r.LimiterFor(ctx, url, keyA)
		require.NoError(t, err, url)
		assert.Same(t, first, lim, url)
	}
	es := r.Entries()
	require.Len(t, es, 1)
	assert.Equal(t, "https://tinker.example.com/api", es[0].BaseURL)
	assert.Equal(t, types.ConfigFingerprint("https://tinker.example.com/api", keyA), es[0].Fingerprint)
}

func TestDifferentConfigsAreIsolated(t *testing.T) {
	sys := newSystem(t)
	r, _ := newRegistry(t)
	start(t, sys, r)
	ctx := context.Background()

	a, err := r.Limiter(ctx, mustKey(t, "https://one.example", keyA))
	require.NoError(t, err)
	b, err := r.Limiter(ctx, mustKey(t, "https://one.example", keyB))
	require.NoError(t, err)
	c, err := r.Limiter(ctx, mustKey(t, "https://two.example", keyA))
	require.NoError(t, err)
	d, err := r.Limiter(ctx, mustKey(t, "http://one.example", keyA))
	require.NoError(t, err)
	lims := []*limiter.Limiter{a, b, c, d}
	for i := range lims {
		for j := i + 1; j < len(lims); j++ {
			assert.NotSame(t, lims[i], lims[j])
		}
	}

	es := r.Entries()
	require.Len(t, es, 4)
	pids := map[string]bool{}
	for _, e := range es {
		require.NotNil(t, e.PID, e.Fingerprint)
		assert.Equal(t, "root/registry/"+registry.LimiterActorName(e.Fingerprint), e.PID.Id)
		pids[e.PID.Id] = true
	}
	assert.Len(t, pids, 4, "one limiter actor per config")

	// A's backoff does not touch B.
	require.True(t, a.ReportRateLimited(time.Hour))
	assert.Zero(t, b.BackoffRemaining())
	p, err := b.Acquire(ctx, 10)
	require.NoError(t, err)
	assert.False(t, p.Throttled())
	p.Release()
}

func TestConcurrentFirstLookupsCreateOneLimiter(t *testing.T) {
	sys := newSystem(t)
	r, _ := newRegistry(t)
	start(t, sys, r)
	k := mustKey(t, "https://tinker.example", keyA)

	const n = 1000
	got := make([]*limiter.Limiter, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-begin
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			got[i], errs[i] = r.Limiter(ctx, k)
		}()
	}
	close(begin)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Same(t, got[0], got[i])
	}
	assert.Len(t, r.Entries(), 1)
}

func TestFirstLookupWaitsForTheActorToStart(t *testing.T) {
	sys := newSystem(t)
	r, _ := newRegistry(t)
	done := make(chan error, 1)
	go func() {
		_, err := r.LimiterFor(context.Background(), "https://tinker.example", keyA)
		done <- err
	}()
	startTree(t, sys, r)
	require.NoError(t, <-done)
	assert.Len(t, r.Entries(), 1)
}

func TestStoppedActorUnbinds(t *testing.T) {
	sys := newSystem(t)
	r, _ := newRegistry(t, registry.WithAskTimeout(time.Millisecond))
	sup := startTree(t, sys, r)
	pid := r.PID()
	k := mustKey(t, "https://tinker.example", keyA)
	// The 1 ms ask timeout is for the last lookup below; under load the
	// first one may need a few tries to reach the freshly spawned actor.
	var lim *limiter.Limiter
	require.Eventually(t, func() bool {
		var err error
		lim, err = r.Limiter(context.Background(), k)
		return err == nil
	}, 10*time.Second, time.Millisecond)
	// With the 1 ms ask timeout, Limiter may return before the limiter
	// actor has started (its start is not waited for longer): wait for it.
	var es []registry.Entry
	require.Eventually(t, func() bool {
		es = entries(t, sys, pid)
		return len(es) == 1 && es[0].PID != nil
	}, 10*time.Second, time.Millisecond)
	require.Len(t, es, 1)
	require.NotNil(t, es[0].PID)
	assert.Equal(t, pid, r.PID())

	require.NoError(t, sup.TerminateChild(context.Background(), "registry"))
	assert.Nil(t, r.PID())
	es = r.Entries()
	require.Len(t, es, 1, "entries outlive the actor")
	assert.Nil(t, es[0].PID, "the limiter actor stopped with its subtree")
	got, ok := r.Lookup(k)
	assert.True(t, ok)
	assert.Same(t, lim, got)

	_, err := r.LimiterFor(context.Background(), "https://other.example", keyA)
	assert.ErrorIs(t, err, types.ErrClientStopped)
}

func TestLookupNeverCreates(t *testing.T) {
	r, _ := newRegistry(t)
	k := mustKey(t, "https://tinker.example", keyA)
	lim, ok := r.Lookup(k)
	assert.False(t, ok)
	assert.Nil(t, lim)
	lim, ok = r.Lookup(registry.Key{})
	assert.False(t, ok)
	assert.Nil(t, lim)
}

func TestLimiterErrors(t *testing.T) {
	r, _ := newRegistry(t, registry.WithAskTimeout(time.Millisecond))
	ctx := context.Background()

	_, err := r.Limiter(ctx, registry.Key{})
	assert.ErrorIs(t, err, types.ErrValidation)

	_, err = r.Limiter(ctx, mustKey(t, "https://tinker.example", keyA))
	assert.ErrorIs(t, err, types.ErrClientStopped, "no registry actor running")

	_, err = r.LimiterFor(ctx, "ftp://tinker.example", keyA)
	assert.ErrorIs(t, err, types.ErrValidation)
	_, err = r.LimiterFor(ctx, "https://tinker.example", "sk-wrong-prefix")
	assert.ErrorIs(t, err, types.ErrValidation)

	_, err = registry.New(registry.WithAskTimeout(0))
	assert.ErrorIs(t, err, types.ErrValidation)
	_, err = registry.New(registry.WithLimiterOptions(limiter.WithSlots(0)))
	assert.ErrorIs(t, err, types.ErrValidation)
}

// startBlocked runs a registry actor whose mailbox is held by a blocked
// message until the test ends, so it never answers a create request.
func startBlocked(t *testing.T, sys *actor.ActorSystem, r *registry.Registry) {
	t.Helper()
	release := make(chan struct{})
	blocked := make(chan struct{})
	hold := func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			if _, ok := env.Message.(string); ok {
				close(blocked)
				<-release
				return
			}
			next(c, env)
		}
	}
	pid := start(t, sys, r, actor.WithReceiverMiddleware(hold))
	t.Cleanup(func() { close(release) }) // runs before start's cleanup stops the actor
	sys.Root.Send(pid, "hold")
	<-blocked
}

func TestLimiterHonoursContextOnMiss(t *testing.T) {
	sys := newSystem(t)
	r, _ := newRegistry(t)
	startBlocked(t, sys, r)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.Limiter(ctx, mustKey(t, "https://tinker.example", keyA))
		done <- err
	}()
	cancel()
	err := <-done
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, types.ErrCanceled)
}

func TestAskTimeout(t *testing.T) {
	sys := newSystem(t)
	r, _ := newRegistry(t, registry.WithAskTimeout(time.Millisecond))
	startBlocked(t, sys, r)

	_, err := r.Limiter(context.Background(), mustKey(t, "https://tinker.example", keyA))
	assert.ErrorIs(t, err, types.ErrTimeout)
}

type crash struct{}

// crashOn makes the actor panic on a crash message, and reports each restart.
func crashOn(restarted chan<- struct{}) actor.ReceiverMiddleware {
	return func(next actor.ReceiverFunc) actor.ReceiverFunc {
		return func(c actor.ReceiverContext, env *actor.MessageEnvelope) {
			switch env.Message.(type) {
			case crash:
				panic("boom")
			case *actor.Restarting:
				restarted <- struct{}{}
			}
			next(c, env)
		}
	}
}

func TestRegistryActorRestartKeepsState(t *testing.T) {
	sys := newSystem(t)
	bus := telemetry.NewBus()
	evs := make(chan telemetry.Event, 16)
	require.NoError(t, bus.Attach("t", []string{"tinkex.limiter.*"}, func(e telemetry.Event) { evs <- e }))
	r, fake := newRegistry(t, registry.WithTelemetry(bus))
	restarted := make(chan struct{}, 1)
	pid := start(t, sys, r, actor.WithReceiverMiddleware(crashOn(restarted)))
	ctx := context.Background()

	k := mustKey(t, "https://tinker.example", keyA)
	lim, err := r.Limiter(ctx, k)
	require.NoError(t, err)
	seq := r.Counter("training:m1/seq_id", 1)
	assert.Equal(t, int64(1), seq.Next())
	assert.Equal(t, int64(2), seq.Next())

	require.True(t, lim.ReportRateLimited(10*time.Second))
	assert.Equal(t, telemetry.LimiterBackoffSet, (<-evs).Name)
	before := entries(t, sys, pid)
	require.Len(t, before, 1)
	limActor := before[0].PID
	require.NotNil(t, limActor)

	sys.Root.Send(pid, crash{})
	<-restarted
	after := entries(t, sys, pid) // answered by the new incarnation
	require.Len(t, after, 1)
	assert.Equal(t, pid, r.PID())

	same, ok := r.Lookup(k)
	require.True(t, ok)
	assert.Same(t, lim, same, "the limiter survives the restart")
	assert.Equal(t, 10*time.Second, after[0].Limiter.BackoffRemaining, "so does its backoff")
	assert.Same(t, limActor, after[0].PID, "one_for_one: the limiter actor, its sibling, runs on")

	res, err := sys.Root.RequestFuture(after[0].PID, limiter.StatsRequest{}, 10*time.Second).Result()
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, res.(limiter.Stats).BackoffRemaining)
	<-fake.BlockUntil(1)
	fake.Advance(10 * time.Second)
	ev := <-evs
	assert.Equal(t, telemetry.LimiterBackoffCleared, ev.Name, "cleared once; set not repeated")

	assert.Equal(t, int64(3), r.Counter("training:m1/seq_id", 1).Next(), "the counter survives the restart")
	again, err := r.Limiter(ctx, k)
	require.NoError(t, err)
	assert.Same(t, lim, again)
}

// The limiter actors are children of the registry supervisor like any
// other: one that exits is restarted by OTP's rules (permanent: after any
// exit), the restart shows in Tree, and Entries follows the new actor.
func TestLimiterActorsAreSupervised(t *testing.T) {
	sys := newSystem(t)
	r, _ := newRegistry(t)
	sup := startTree(t, sys, r)
	ctx := context.Background()
	k := mustKey(t, "https://tinker.example", keyA)
	_, err := r.Limiter(ctx, k)
	require.NoError(t, err)
	regSup, err := sup.Sub(ctx, "registry")
	require.NoError(t, err)
	old := r.Entries()[0].PID
	require.NotNil(t, old)

	require.NoError(t, sys.Root.StopFuture(old).Wait())
	var tree supervisor.Node
	require.Eventually(t, func() bool {
		tree, err = regSup.Tree(ctx)
		require.NoError(t, err)
		return len(tree.Children) == 2 && tree.Children[1].Restarts == 1 && tree.Children[1].Status == supervisor.Running
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, registry.WriterID, tree.Children[0].ID)
	assert.Equal(t, registry.LimiterActorName(k.Fingerprint()), tree.Children[1].ID)
	assert.Equal(t, supervisor.Permanent, tree.Children[1].Restart)
	now := r.Entries()[0].PID
	require.NotNil(t, now)
	assert.Equal(t, tree.Children[1].PID, now.Id)
	res, err := sys.Root.RequestFuture(now, limiter.StatsRequest{}, 10*time.Second).Result()
	require.NoError(t, err)
	assert.IsType(t, limiter.Stats{}, res)
}

// When the registry subtree itself is restarted (here: terminated and
// restarted through the root), its limiter actors come back from the
// registry's entries.
func TestRegistrySubtreeRestartRebuildsLimiterActors(t *testing.T) {
	sys := newSystem(t)
	r, _ := newRegistry(t)
	sup := startTree(t, sys, r)
	ctx := context.Background()
	for _, url := range []string{"https://a.example", "https://b.example"} {
		_, err := r.LimiterFor(ctx, url, keyA)
		require.NoError(t, err)
	}
	require.NoError(t, sup.TerminateChild(ctx, "registry"))
	for _, e := range r.Entries() {
		assert.Nil(t, e.PID)
	}
	_, err := sup.RestartChild(ctx, "registry")
	require.NoError(t, err)
	regSup, err := sup.Sub(ctx, "registry")
	require.NoError(t, err)
	infos, err := regSup.WhichChildren(ctx)
	require.NoError(t, err)
	require.Len(t, infos, 3)
	for i, e := range r.Entries() {
		assert.Equal(t, registry.LimiterActorName(e.Fingerprint), infos[i+1].ID)
		require.NotNil(t, e.PID)
		assert.Equal(t, infos[i+1].PID.Id, e.PID.Id)
	}
}

// client is a stand-in for a TrainingClient: it takes its counter from the
// registry when it starts and answers each request with the next seq_id.
type client struct {
	r   *registry.Registry
	seq *registry.Counter
}

type nextSeq struct{}

func (c *client) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		c.seq = c.r.Counter("training:m1/seq_id", 1)
	case nextSeq:
		ctx.Respond(c.seq.Next())
	}
}

func TestCounterSurvivesClientRestart(t *testing.T) {
	sys := newSystem(t)
	r, _ := newRegistry(t)
	restarted := make(chan struct{}, 1)
	props := actor.PropsFromProducer(func() actor.Actor { return &client{r: r} },
		actor.WithReceiverMiddleware(crashOn(restarted)))
	pid := sys.Root.Spawn(props)
	defer func() { require.NoError(t, sys.Root.StopFuture(pid).Wait()) }()

	next := func() int64 {
		t.Helper()
		res, err := sys.Root.RequestFuture(pid, nextSeq{}, 10*time.Second).Result()
		require.NoError(t, err)
		return res.(int64)
	}
	assert.Equal(t, int64(1), next())
	assert.Equal(t, int64(2), next())
	sys.Root.Send(pid, crash{})
	<-restarted
	assert.Equal(t, int64(3), next(), "the restarted client continues its seq_ids")

	// Stopped for good: its state is dropped and a new client starts over.
	assert.Equal(t, 1, r.DropCounters("training:m1/"))
	assert.Empty(t, r.Counters())
	assert.Equal(t, int64(1), r.Counter("training:m1/seq_id", 1).Next())
}

func TestCounter(t *testing.T) {
	r, _ := newRegistry(t)
	c := r.Counter("sampling:s1/seq_id", 0)
	assert.Equal(t, int64(0), c.Peek())
	assert.Equal(t, int64(0), c.Next())
	assert.Equal(t, int64(1), c.Next())
	assert.Same(t, c, r.Counter("sampling:s1/seq_id", 100), "first is ignored for an existing counter")
	assert.Equal(t, map[string]int64{"sampling:s1/seq_id": 2}, r.Counters())
	assert.True(t, r.DropCounter("sampling:s1/seq_id"))
	assert.False(t, r.DropCounter("sampling:s1/seq_id"))

	var wg sync.WaitGroup
	seen := make([]int64, 1000)
	shared := r.Counter("shared", 0)
	for i := range seen {
		wg.Add(1)
		go func() { defer wg.Done(); seen[i] = shared.Next() }()
	}
	wg.Wait()
	unique := map[int64]bool{}
	for _, v := range seen {
		unique[v] = true
	}
	assert.Len(t, unique, 1000, "every Next is distinct")
	assert.Equal(t, int64(1000), shared.Peek())
}

func TestProbeAnsweredWhileAnotherConfigBacksOff(t *testing.T) {
	sys := newSystem(t)
	r, _ := newRegistry(t)
	pid := start(t, sys, r)
	ctx := context.Background()
	a, err := r.Limiter(ctx, mustKey(t, "https://tinker.example", keyA))
	require.NoError(t, err)
	_, err = r.Limiter(ctx, mustKey(t, "https://tinker.example", keyB))
	require.NoError(t, err)

	require.True(t, a.ReportRateLimited(time.Hour))
	fpB := types.ConfigFingerprint("https://tinker.example", keyB)
	for _, e := range entries(t, sys, pid) {
		res, err := sys.Root.RequestFuture(e.PID, limiter.StatsRequest{}, 10*time.Second).Result()
		require.NoError(t, err, e.Fingerprint)
		st := res.(limiter.Stats)
		if e.Fingerprint == fpB {
			assert.Zero(t, st.BackoffRemaining)
		} else {
			assert.Equal(t, time.Hour, st.BackoffRemaining)
		}
	}
}
