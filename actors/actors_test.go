package actors

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex/internal/inspect"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeTraining records what a Training actor tells its owner.
type fakeTraining struct {
	mu       sync.Mutex
	started  []*actor.PID
	restarts int
	stops    int
	events   chan string
}

func newFakeTraining() *fakeTraining { return &fakeTraining{events: make(chan string, 64)} }

func (f *fakeTraining) ModelID() string { return "m/1" }
func (f *fakeTraining) Started(self *actor.PID) {
	f.mu.Lock()
	f.started = append(f.started, self)
	f.mu.Unlock()
	f.events <- "started"
}
func (f *fakeTraining) Restarting() {
	f.mu.Lock()
	f.restarts++
	f.mu.Unlock()
	f.events <- "restarting"
}
func (f *fakeTraining) Stopping() { f.mu.Lock(); f.stops++; f.mu.Unlock(); f.events <- "stopping" }

// next waits (bounded) for the actor's next call to the owner.
func next[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("no call from the actor within 10 s")
		var zero T
		return zero
	}
}

func spawn(t *testing.T, spec func() actor.Actor) (*actor.ActorSystem, *actor.PID) {
	t.Helper()
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
	pid := sys.Root.Spawn(actor.PropsFromProducer(spec))
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait(); sys.Shutdown() })
	return sys, pid
}

// A Training actor tells its owner its whole life, in order: each start
// with the instance's PID, a crash, a stop. (The submit queue it bounds is
// tested with the TrainingClient, in package tinkex.)
func TestTrainingTellsItsOwnerItsLife(t *testing.T) {
	f := newFakeTraining()
	spec := TrainingSpec(f)
	assert.Equal(t, "training:m%2F1", spec.ID)
	sys, pid := spawn(t, spec.Start)
	require.Equal(t, "started", next(t, f.events))
	sys.Root.Send(pid, &inspect.Crash{Reason: "test"})
	require.Equal(t, "restarting", next(t, f.events))
	require.Equal(t, "started", next(t, f.events))
	require.NoError(t, sys.Root.StopFuture(pid).Wait())
	require.Equal(t, "stopping", next(t, f.events))
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.Equal(t, []*actor.PID{pid, pid}, f.started, "a crash restarts in place, under the same PID")
	assert.Equal(t, 1, f.restarts)
	assert.Equal(t, 1, f.stops)
}

// Every actor answers a Probe with its kind and id, and a Crash panics it,
// which tells a Training owner it is restarting (the default supervisor
// restarts it, and the new instance reports itself).
func TestProbeAndCrash(t *testing.T) {
	f := newFakeTraining()
	sys, pid := spawn(t, TrainingSpec(f).Start)
	require.Equal(t, "started", next(t, f.events))
	res, err := sys.Root.RequestFuture(pid, &inspect.Probe{}, 10*time.Second).Result()
	require.NoError(t, err)
	assert.Equal(t, &inspect.ProbeReply{Actor: "training", ID: "m/1"}, res)

	sys.Root.Send(pid, &inspect.Crash{Reason: "test"})
	require.Equal(t, "restarting", next(t, f.events))
	require.Equal(t, "started", next(t, f.events))
	f.mu.Lock()
	assert.Equal(t, 1, f.restarts)
	f.mu.Unlock()
}

type fakeSampling struct{ started chan *actor.PID }

func (f fakeSampling) SamplerID() string       { return "s:sample:0" }
func (f fakeSampling) Started(self *actor.PID) { f.started <- self }

func TestSamplingReportsItsPIDAndAnswersProbes(t *testing.T) {
	f := fakeSampling{started: make(chan *actor.PID, 1)}
	spec := SamplingSpec(f)
	assert.Equal(t, "sampling:s:sample:0", spec.ID)
	sys, pid := spawn(t, spec.Start)
	assert.Equal(t, pid, next(t, f.started))
	res, err := sys.Root.RequestFuture(pid, &inspect.Probe{}, 10*time.Second).Result()
	require.NoError(t, err)
	assert.Equal(t, &inspect.ProbeReply{Actor: "sampling", ID: "s:sample:0"}, res)
}

type fakeSession struct {
	runs  chan struct{}
	stops chan struct{}
}

func (f *fakeSession) SessionID() string { return "sess" }
func (f *fakeSession) Run() func() {
	f.runs <- struct{}{}
	return func() { f.stops <- struct{}{} }
}

// A Session instance runs the owner's loop when it starts and stops that
// loop when it restarts or stops.
func TestSessionRunsAndStopsTheLoop(t *testing.T) {
	f := &fakeSession{runs: make(chan struct{}, 4), stops: make(chan struct{}, 4)}
	spec := SessionSpec(f)
	assert.Equal(t, "session", spec.ID)
	sys, pid := spawn(t, spec.Start)
	next(t, f.runs)
	sys.Root.Send(pid, &inspect.Crash{Reason: "test"})
	next(t, f.stops) // the crashed instance stops its loop
	next(t, f.runs)  // the new one starts its own
	require.NoError(t, sys.Root.StopFuture(pid).Wait())
	next(t, f.stops) // and a stop stops it too
}

// Server ids become tree ids one to one: '/' (the PID separator) and '%'
// are escaped, so ids that differ only there stay apart.
func TestChildIDIsOneToOne(t *testing.T) {
	ids := []string{"a/b", "a_b", "a%2Fb", "a%b", "a%25b", "ab", "a//b"}
	seen := map[string]string{}
	for _, id := range ids {
		got := ChildID("sampling", id)
		assert.NotContains(t, got, "/", id)
		assert.True(t, strings.HasPrefix(got, "sampling:"), got)
		if prev, dup := seen[got]; dup {
			t.Errorf("%q and %q share the tree id %q", prev, id, got)
		}
		seen[got] = id
	}
	assert.Equal(t, "training:sess-1:train:0", ChildID("training", "sess-1:train:0"), "real ids are unchanged")
}
