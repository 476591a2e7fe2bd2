package supervisor

import (
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTreeAfterRestarts(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	clients := Sub("clients", OneForOne, nil)
	sup := startRoot(t, sys, OneForOne, []Spec{worker(rec, "registry", Permanent), clients},
		WithClock(newFake(epoch)), WithIntensity(3, 5*time.Second))
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

// events collects the events of a supervisor tree.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) hook(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) get() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.all)
}

func (e *events) of(t EventType) []Event {
	return slices.DeleteFunc(e.get(), func(ev Event) bool { return ev.Type != t })
}

func TestEventHook(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	var got events
	fake := newFake(epoch)
	sup, err := Start(testCtx(t), sys, "root", OneForOne, workers(rec, "a"), WithEventHook(got.hook), WithClock(fake))
	require.NoError(t, err)

	mark := rec.mark()
	crashAndWait(t, sup, rec, mark, "a", 1)
	send(sys, pidOf(t, sup, "a"), crash{value: "again"})
	<-sup.Done()

	evs := got.get()
	var names []EventType
	for _, e := range evs {
		names = append(names, e.Type)
		assert.Equal(t, "root", e.Supervisor)
		assert.Equal(t, "a", e.Child)
		assert.Equal(t, KindWorker, e.ChildKind)
		assert.Equal(t, Permanent, e.Restart)
		assert.Equal(t, OneForOne, e.Strategy)
		assert.Equal(t, fake.Now(), e.Time)
	}
	assert.Equal(t, []EventType{
		EventChildStarted,
		EventChildTerminated,
		EventChildRestarted,
		EventChildTerminated,
		EventIntensityExceeded,
		EventChildStopped,
	}, names)
	assert.Equal(t, "root/a", evs[0].PID)
	assert.EqualError(t, evs[1].Reason, "panic: boom")
	assert.Equal(t, "root/a", evs[1].PID)
	assert.Equal(t, 0, evs[1].Restarts, "reported at the exit, before the restart is counted")
	assert.EqualError(t, evs[2].Reason, "panic: boom")
	assert.Equal(t, 1, evs[2].Restarts)
	assert.EqualError(t, evs[3].Reason, "panic: again")
	assert.EqualError(t, evs[4].Reason, "panic: again")
	assert.Equal(t, 2, evs[4].Restarts)
	assert.EqualError(t, evs[5].Reason, "shutdown")
	assert.Equal(t, `supervisor root: child_restarted child="a" reason=panic: boom restarts=1`, evs[2].String())
	for _, e := range evs {
		want := map[EventType]slog.Level{EventChildStarted: slog.LevelInfo, EventChildRestarted: slog.LevelWarn,
			EventChildStopped: slog.LevelDebug}[e.Type]
		if e.Type == EventChildTerminated || e.Type == EventIntensityExceeded {
			want = slog.LevelError
		}
		assert.Equal(t, want, e.Type.Level(), e.Type.String())
	}
}

func TestFinalExitIsReportedOnce(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	var got events
	sup := startRoot(t, sys, OneForOne, []Spec{worker(rec, "tmp", Temporary)}, WithEventHook(got.hook))
	mark := rec.mark()
	send(sys, pidOf(t, sup, "tmp"), crash{value: "x"})
	rec.waitFor(t, mark, "tmp:Stopped", 1)
	synced(t, sup)
	var reasons []string
	for _, e := range got.of(EventChildStopped) {
		reasons = append(reasons, e.Reason.Error())
	}
	assert.Equal(t, []string{"panic: x"}, reasons)
}
