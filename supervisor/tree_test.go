package supervisor

import (
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/internal/clock"
	"github.com/tinkex-go/tinkex/telemetry"
)

func TestTreeAfterRestarts(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	clients := Sub("clients", OneForOne, nil)
	sup := startRoot(t, sys, OneForOne, []Spec{worker(rec, "registry", Permanent), clients},
		WithClock(clock.NewFake(epoch)), WithIntensity(3, 5*time.Second))
	ctx := testCtx(t)
	cl, err := sup.Sub(ctx, "clients")
	require.NoError(t, err)
	_, err = cl.StartChild(ctx, Sub("service:a", RestForOne, workers(rec, "session")))
	require.NoError(t, err)
	svc, err := cl.Sub(ctx, "service:a")
	require.NoError(t, err)
	_, err = svc.StartChild(ctx, worker(rec, "sampling:1", Transient))
	require.NoError(t, err)

	mark := rec.mark()
	send(sys, pidOf(t, svc, "session"), crash{value: "boom"})
	rec.waitFor(t, mark, "sampling:1:Started", 1)
	synced(t, svc)

	tree, err := sup.Tree(ctx)
	require.NoError(t, err)
	want := Node{ID: "root", Kind: KindSupervisor, PID: "root", Status: Running, Strategy: OneForOne, Children: []Node{
		{ID: "registry", Kind: KindWorker, PID: "root/registry", Status: Running},
		{ID: "clients", Kind: KindSupervisor, PID: "root/clients", Status: Running, Strategy: OneForOne, Children: []Node{
			{ID: "service:a", Kind: KindSupervisor, PID: "root/clients/service:a", Status: Running, Strategy: RestForOne, Children: []Node{
				{ID: "session", Kind: KindWorker, PID: "root/clients/service:a/session", Status: Running, Restarts: 1},
				{ID: "sampling:1", Kind: KindWorker, PID: "root/clients/service:a/sampling:1", Status: Running, Restarts: 1, Restart: Transient},
			}},
		}},
	}}
	assert.Equal(t, want, tree)
	assert.Equal(t, `root (supervisor, one_for_one, permanent) running restarts=0
  registry (worker, permanent) running restarts=0
  clients (supervisor, one_for_one, permanent) running restarts=0
    service:a (supervisor, rest_for_one, permanent) running restarts=0
      session (worker, permanent) running restarts=1
      sampling:1 (worker, transient) running restarts=1
`, tree.String())

	require.NoError(t, svc.TerminateChild(ctx, "sampling:1"))
	tree, err = svc.Tree(ctx)
	require.NoError(t, err)
	assert.Equal(t, Stopped, tree.Children[1].Status)
	assert.Empty(t, tree.Children[1].PID)
}

func TestTreeDoesNotWaitForBusyWorkers(t *testing.T) {
	sys := newSystem(t)
	release := make(chan struct{})
	busy := Spec{ID: "busy", Start: func() actor.Actor { return &blocker{release: release} }}
	sup := startRoot(t, sys, OneForOne, []Spec{busy})
	send(sys, pidOf(t, sup, "busy"), ping{}) // blocks its Receive until released
	tree, err := sup.Tree(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, Running, tree.Children[0].Status)
	close(release)
}

type blocker struct{ release chan struct{} }

func (b *blocker) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(ping); ok {
		<-b.release
	}
}

func TestTelemetry(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	bus := telemetry.NewBus()
	var mu sync.Mutex
	var events []telemetry.Event
	require.NoError(t, bus.Attach("test", []string{"tinkex.supervisor.*"}, func(e telemetry.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}))
	fake := clock.NewFake(epoch)
	sup, err := Start(testCtx(t), sys, "root", OneForOne, workers(rec, "a"), WithTelemetry(bus), WithClock(fake))
	require.NoError(t, err)

	mark := rec.mark()
	crashAndWait(t, sup, rec, mark, "a", 1)
	send(sys, pidOf(t, sup, "a"), crash{value: "again"})
	<-sup.Done()

	mu.Lock()
	defer mu.Unlock()
	var names []string
	for _, e := range events {
		names = append(names, e.Name)
		assert.Equal(t, "root", e.Metadata[telemetry.KeySupervisor])
		assert.Equal(t, "a", e.Metadata[telemetry.KeyChild])
		assert.Equal(t, "worker", e.Metadata[telemetry.KeyChildKind])
		assert.Equal(t, "permanent", e.Metadata[telemetry.KeyRestartType])
		assert.Equal(t, "one_for_one", e.Metadata[telemetry.KeyStrategy])
		assert.Contains(t, e.Measurements, telemetry.MeasureRestarts)
	}
	assert.Equal(t, []string{
		telemetry.SupervisorChildStarted,
		telemetry.SupervisorChildRestarted,
		telemetry.SupervisorIntensityExceeded,
		telemetry.SupervisorChildStopped,
	}, names)
	assert.Equal(t, "root/a", events[0].Metadata[telemetry.KeyPID])
	assert.Equal(t, "panic: boom", events[1].Metadata[telemetry.KeyReason])
	assert.Equal(t, 1.0, events[1].Measurements[telemetry.MeasureRestarts])
	assert.Equal(t, "panic: again", events[2].Metadata[telemetry.KeyReason])
	assert.Equal(t, 2.0, events[2].Measurements[telemetry.MeasureRestarts])
	assert.Equal(t, "shutdown", events[3].Metadata[telemetry.KeyReason])
}

func TestTelemetryFinalExitIsReportedOnce(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	bus := telemetry.NewBus()
	var mu sync.Mutex
	var reasons []any
	require.NoError(t, bus.Attach("test", []string{telemetry.SupervisorChildStopped}, func(e telemetry.Event) {
		mu.Lock()
		defer mu.Unlock()
		reasons = append(reasons, e.Metadata[telemetry.KeyReason])
	}))
	sup := startRoot(t, sys, OneForOne, []Spec{worker(rec, "tmp", Temporary)}, WithTelemetry(bus))
	mark := rec.mark()
	send(sys, pidOf(t, sup, "tmp"), crash{value: "x"})
	rec.waitFor(t, mark, "tmp:Stopped", 1)
	synced(t, sup)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []any{"panic: x"}, reasons)
}
