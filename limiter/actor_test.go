package limiter_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/telemetry"
)

func newSystem(t *testing.T) *actor.ActorSystem {
	t.Helper()
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
}

// events collects the limiter's telemetry events on a channel.
func events(t *testing.T, bus *telemetry.Bus) <-chan telemetry.Event {
	t.Helper()
	ch := make(chan telemetry.Event, 64)
	require.NoError(t, bus.Attach(t.Name(), []string{"tinkex.limiter.*"}, func(e telemetry.Event) { ch <- e }))
	return ch
}

func nextEvent(t *testing.T, ch <-chan telemetry.Event) telemetry.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(10 * time.Second):
		require.FailNow(t, "no telemetry event")
		return telemetry.Event{}
	}
}

func noEvent(t *testing.T, ch <-chan telemetry.Event) {
	t.Helper()
	select {
	case e := <-ch:
		require.FailNow(t, "unexpected event", "%v", e)
	default:
	}
}

// stats asks the limiter actor for its stats. Its mailbox is FIFO, so once it
// has answered it has handled every report sent before.
func stats(t *testing.T, sys *actor.ActorSystem, pid *actor.PID) limiter.Stats {
	t.Helper()
	res, err := sys.Root.RequestFuture(pid, limiter.StatsRequest{}, 10*time.Second).Result()
	require.NoError(t, err)
	st, ok := res.(limiter.Stats)
	require.True(t, ok, "got %T", res)
	return st
}

func stop(t *testing.T, sys *actor.ActorSystem, pid *actor.PID) {
	t.Helper()
	require.NoError(t, sys.Root.StopFuture(pid).Wait())
}

func spawnLimiter(t *testing.T, sys *actor.ActorSystem, opts ...limiter.Option) (*limiter.Limiter, *clock.Fake, *actor.PID) {
	t.Helper()
	l, fake := newLimiter(t, append([]limiter.Option{limiter.WithIdentity("fp123", "https://example.test/api")}, opts...)...)
	pid, err := sys.Root.SpawnNamed(actor.PropsFromProducer(l.Producer()), "limiter:fp123")
	require.NoError(t, err)
	return l, fake, pid
}

func TestActorEmitsSetAndClearedOncePerBurst(t *testing.T) {
	sys := newSystem(t)
	bus := telemetry.NewBus()
	ch := events(t, bus)
	l, fake, pid := spawnLimiter(t, sys, limiter.WithTelemetry(bus))
	defer stop(t, sys, pid)
	stats(t, sys, pid) // started and attached

	require.True(t, l.ReportRateLimited(5*time.Second))
	set := nextEvent(t, ch)
	assert.Equal(t, telemetry.LimiterBackoffSet, set.Name)
	assert.Equal(t, "fp123", set.Metadata[telemetry.KeyConfig])
	assert.Equal(t, "https://example.test/api", set.Metadata[telemetry.KeyBaseURL])
	assert.InDelta(t, 5.0, set.Measurements[telemetry.MeasureDelay], 1e-9)
	assert.InDelta(t, 5.0, set.Measurements[telemetry.MeasureBackoffLeft], 1e-9)

	// An extension inside the burst does not emit again.
	fake.Advance(time.Second)
	require.True(t, l.ReportRateLimited(7*time.Second)) // deadline now at 8 s
	st := stats(t, sys, pid)
	noEvent(t, ch)
	assert.Equal(t, uint64(1), st.Bursts)

	fake.Advance(4 * time.Second) // the first deadline: the actor's timer fires and re-arms
	<-fake.BlockUntil(1)
	stats(t, sys, pid)
	noEvent(t, ch)

	fake.Advance(3 * time.Second)
	cleared := nextEvent(t, ch)
	assert.Equal(t, telemetry.LimiterBackoffCleared, cleared.Name)
	assert.Equal(t, "fp123", cleared.Metadata[telemetry.KeyConfig])
	assert.InDelta(t, 8.0, cleared.Measurements[telemetry.MeasureDelay], 1e-9, "the burst lasted 8 s")
	assert.Zero(t, cleared.Measurements[telemetry.MeasureBackoffLeft])
	stats(t, sys, pid)
	noEvent(t, ch)

	// A new burst is announced again.
	require.True(t, l.ReportRateLimited(time.Second))
	assert.Equal(t, telemetry.LimiterBackoffSet, nextEvent(t, ch).Name)
	<-fake.BlockUntil(1)
	fake.Advance(time.Second)
	assert.Equal(t, telemetry.LimiterBackoffCleared, nextEvent(t, ch).Name)
	assert.Equal(t, uint64(2), stats(t, sys, pid).Bursts)
	assert.Zero(t, fake.Pending())
}

func TestRestartedActorFinishesTheBurst(t *testing.T) {
	sys := newSystem(t)
	bus := telemetry.NewBus()
	ch := events(t, bus)
	l, fake, pid := spawnLimiter(t, sys, limiter.WithTelemetry(bus))
	stats(t, sys, pid)

	require.True(t, l.ReportRateLimited(5*time.Second))
	assert.Equal(t, telemetry.LimiterBackoffSet, nextEvent(t, ch).Name)
	stop(t, sys, pid)
	assert.Zero(t, fake.Pending(), "the stopped actor's timer is gone")

	// A report while no actor is attached is still applied to the limiter.
	require.True(t, l.ReportRateLimited(6*time.Second))
	assert.Equal(t, 6*time.Second, l.BackoffRemaining())

	pid2, err := sys.Root.SpawnNamed(actor.PropsFromProducer(l.Producer()), "limiter:fp123")
	require.NoError(t, err)
	defer stop(t, sys, pid2)
	stats(t, sys, pid2)
	noEvent(t, ch) // the burst was already announced
	<-fake.BlockUntil(1)
	fake.Advance(6 * time.Second)
	assert.Equal(t, telemetry.LimiterBackoffCleared, nextEvent(t, ch).Name)
	stats(t, sys, pid2)
	noEvent(t, ch)
}

func TestActorAnnouncesBurstThatStartedWhileDetached(t *testing.T) {
	sys := newSystem(t)
	bus := telemetry.NewBus()
	ch := events(t, bus)
	l, fake := newLimiter(t, limiter.WithTelemetry(bus))
	require.True(t, l.ReportRateLimited(2*time.Second))

	pid := sys.Root.Spawn(actor.PropsFromProducer(l.Producer()))
	defer stop(t, sys, pid)
	assert.Equal(t, telemetry.LimiterBackoffSet, nextEvent(t, ch).Name)
	<-fake.BlockUntil(1)
	fake.Advance(2 * time.Second)
	assert.Equal(t, telemetry.LimiterBackoffCleared, nextEvent(t, ch).Name)
}

func TestActorAnswersProbeDuringBackoff(t *testing.T) {
	sys := newSystem(t)
	l, _, pid := spawnLimiter(t, sys)
	defer stop(t, sys, pid)
	require.True(t, l.ReportRateLimited(time.Hour))

	st := stats(t, sys, pid)
	assert.Equal(t, time.Hour, st.BackoffRemaining)
	assert.True(t, st.Throttled)
	assert.Equal(t, "fp123", st.Identity.Fingerprint)

	res, err := sys.Root.RequestFuture(pid, &actor.Touch{}, 10*time.Second).Result()
	require.NoError(t, err)
	assert.IsType(t, &actor.Touched{}, res)
}
