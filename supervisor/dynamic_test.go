package supervisor

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDynamicChildren(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	sup := startRoot(t, sys, OneForOne, workers(rec, "static"))
	ctx := testCtx(t)

	pid, err := sup.StartChild(ctx, worker(rec, "dyn", Transient))
	require.NoError(t, err)
	assert.Equal(t, "root/dyn", pid.Id)
	assert.Equal(t, "dyn", pingChild(t, sys, pid), "StartChild returns once the child runs")

	_, err = sup.StartChild(ctx, worker(rec, "dyn", Transient))
	assert.ErrorIs(t, err, ErrAlreadyStarted)
	assert.ErrorIs(t, sup.DeleteChild(ctx, "dyn"), ErrRunning)
	_, err = sup.RestartChild(ctx, "dyn")
	assert.ErrorIs(t, err, ErrRunning)

	n, err := sup.CountChildren(ctx)
	require.NoError(t, err)
	assert.Equal(t, Counts{Specs: 2, Active: 2, Workers: 2}, n)

	mark := rec.mark()
	require.NoError(t, sup.TerminateChild(ctx, "dyn"))
	assert.Equal(t, []string{"dyn:Stopping", "dyn:Stopped"}, rec.since(mark))
	require.NoError(t, sup.TerminateChild(ctx, "dyn"), "terminating a stopped child succeeds")
	infos, err := sup.WhichChildren(ctx)
	require.NoError(t, err)
	assert.Equal(t, "static:running dyn:stopped", ids(infos))
	assert.Nil(t, infos[1].PID)
	n, err = sup.CountChildren(ctx)
	require.NoError(t, err)
	assert.Equal(t, Counts{Specs: 2, Active: 1, Workers: 2}, n)

	_, err = sup.StartChild(ctx, worker(rec, "dyn", Transient))
	assert.ErrorIs(t, err, ErrAlreadyPresent)

	pid, err = sup.RestartChild(ctx, "dyn")
	require.NoError(t, err)
	assert.Equal(t, "dyn", pingChild(t, sys, pid))
	require.NoError(t, sup.TerminateChild(ctx, "dyn"))
	require.NoError(t, sup.DeleteChild(ctx, "dyn"))
	infos, err = sup.WhichChildren(ctx)
	require.NoError(t, err)
	assert.Equal(t, "static:running", ids(infos))

	for name, err := range map[string]error{
		"terminate": sup.TerminateChild(ctx, "nope"),
		"delete":    sup.DeleteChild(ctx, "nope"),
	} {
		assert.ErrorIs(t, err, ErrNotFound, name)
		var se *Error
		assert.ErrorAs(t, err, &se, name)
	}
	_, err = sup.RestartChild(ctx, "nope")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = sup.Sub(ctx, "static")
	assert.ErrorIs(t, err, ErrNotSupervisor)
}

func TestStartChildValidatesAndReportsStartFailure(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	sup := startRoot(t, sys, OneForOne, nil)
	ctx := testCtx(t)

	for _, bad := range []Spec{
		{},
		{ID: "no-start"},
		{ID: "x", Start: worker(rec, "x", Permanent).Start, Restart: RestartType(9)},
		{ID: "x", Start: worker(rec, "x", Permanent).Start, Shutdown: -2},
	} {
		_, err := sup.StartChild(ctx, bad)
		assert.ErrorIs(t, err, ErrInvalidSpec, "%+v", bad)
	}

	mark := rec.mark()
	_, err := sup.StartChild(ctx, worker(rec, "bad", Permanent, func(p *probe) { p.failStart = true }))
	assert.ErrorIs(t, err, ErrStartFailed)
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "start failed", pe.Value)
	assert.Equal(t, []string{"bad:Started", "bad:Stopping", "bad:Stopped"}, rec.since(mark))
	n, err := sup.CountChildren(ctx)
	require.NoError(t, err)
	assert.Equal(t, Counts{}, n, "a child that failed to start is not kept")
}

func TestStartFailsAndStopsStartedChildren(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	children := []Spec{
		worker(rec, "a", Permanent),
		worker(rec, "b", Permanent, func(p *probe) { p.failStart = true }),
		worker(rec, "c", Permanent),
	}
	_, err := Start(testCtx(t), sys, "root", OneForOne, children, observe(rec))
	assert.ErrorIs(t, err, ErrStartFailed)
	// OTP: supervisor(3), "start_link/3": if a child fails to start, the
	// supervisor terminates the children started so far and fails, with a
	// start_error report.
	assert.Equal(t, []string{"a:Started", "b:Started", "b:Stopping", "b:Stopped", "a:Stopping", "a:Stopped"}, lifecycle(rec.since(0)))
	assert.Contains(t, rec.since(0), "start_error(b)")

	_, err = Start(testCtx(t), sys, "root2", OneForOne, []Spec{worker(rec, "a", Permanent), worker(rec, "a", Permanent)})
	assert.ErrorIs(t, err, ErrInvalidSpec, "duplicate IDs")
	_, err = Start(testCtx(t), sys, "", OneForOne, nil)
	assert.ErrorIs(t, err, ErrInvalidSpec)
}

func TestNestedDynamicChildren(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	sup := startRoot(t, sys, OneForOne, []Spec{Sub("clients", OneForOne, nil)})
	ctx := testCtx(t)
	clients, err := sup.Sub(ctx, "clients")
	require.NoError(t, err)

	service := Sub("service:a", RestForOne, workers(rec, "session"))
	_, err = clients.StartChild(ctx, service)
	require.NoError(t, err)
	svc, err := clients.Sub(ctx, "service:a")
	require.NoError(t, err)
	pid, err := svc.StartChild(ctx, worker(rec, "training:1", Transient))
	require.NoError(t, err)
	assert.Equal(t, "root/clients/service:a/training:1", pid.Id)

	mark := rec.mark()
	require.NoError(t, clients.TerminateChild(ctx, "service:a"))
	assert.Equal(t, []string{"training:1:Stopping", "training:1:Stopped", "session:Stopping", "session:Stopped"}, rec.since(mark),
		"a supervisor child stops its own children in reverse order first")
}

func TestShutdownTimeoutThenForcedStop(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	fake := newFake(epoch)
	hang := make(chan struct{})
	stuck := worker(rec, "stuck", Permanent, func(p *probe) { p.hang = hang })
	stuck.Shutdown = 2 * time.Second
	sup := startRoot(t, sys, OneForOne, []Spec{stuck}, WithClock(fake))
	ctx := testCtx(t)
	old := pidOf(t, sup, "stuck")

	done := make(chan error, 1)
	go func() { done <- sup.TerminateChild(ctx, "stuck") }()
	<-fake.BlockUntil(1)
	select {
	case err := <-done:
		t.Fatalf("TerminateChild returned before the shutdown timeout: %v", err)
	default:
	}
	fake.Advance(2 * time.Second)
	require.NoError(t, <-done)

	_, err := sys.Root.RequestFuture(old, ping{}, waitBound).Result()
	assert.Error(t, err, "a forced-off child gets no more messages")
	pid, err := sup.RestartChild(ctx, "stuck")
	require.NoError(t, err)
	assert.Equal(t, "root/stuck#1", pid.Id, "the hung actor's name is not reused")
	close(hang) // the abandoned actor finishes its Stopping handler and ends
}

func TestBrutalKillDoesNotWait(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	hang := make(chan struct{})
	stuck := worker(rec, "stuck", Permanent, func(p *probe) { p.hang = hang })
	stuck.Shutdown = BrutalKill
	sup := startRoot(t, sys, OneForOne, []Spec{stuck}, WithClock(newFake(epoch)))
	require.NoError(t, sup.TerminateChild(testCtx(t), "stuck"))
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "stuck:stopped", ids(infos))
	close(hang)
}

func TestSpecDefaults(t *testing.T) {
	assert.Equal(t, DefaultWorkerShutdown, Spec{}.shutdown())
	assert.Equal(t, Infinity, Spec{Kind: KindSupervisor}.shutdown())
	assert.Equal(t, BrutalKill, Spec{Shutdown: BrutalKill}.shutdown())
	s := Sub("s", OneForAll, nil)
	assert.Equal(t, KindSupervisor, s.Kind)
	assert.Equal(t, Permanent, s.Restart)
	assert.Equal(t, "one_for_all", OneForAll.String())
	assert.Equal(t, "rest_for_one", RestForOne.String())
	assert.Equal(t, "transient", Transient.String())
	assert.Equal(t, "supervisor", KindSupervisor.String())
	assert.Equal(t, "restarting", Restarting.String())
}

func TestCallsHonourContextAndNestedStop(t *testing.T) {
	sys := newSystem(t)
	sup := startRoot(t, sys, OneForOne, []Spec{Sub("inner", OneForOne, nil)})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sup.WhichChildren(canceled)
	assert.ErrorIs(t, err, context.Canceled)

	inner, err := sup.Sub(testCtx(t), "inner")
	require.NoError(t, err)
	assert.ErrorIs(t, inner.Stop(testCtx(t)), ErrInvalidSpec, "a nested supervisor is stopped through its parent")
	assert.Nil(t, inner.Done())
	assert.NoError(t, inner.Err())
	same := Ref(sys, inner.PID())
	n, err := same.CountChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, Counts{}, n)
	root, err := sup.CountChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, Counts{Specs: 1, Active: 1, Supervisors: 1}, root)
}

func TestPropsSpec(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	props := actor.PropsFromProducer(func() actor.Actor { return &probe{name: "p", rec: rec} })
	sup := startRoot(t, sys, OneForOne, []Spec{{ID: "p", Props: props}})
	mark := rec.mark()
	send(sys, pidOf(t, sup, "p"), crash{value: "boom"})
	rec.waitFor(t, mark, "p:Started", 1)
	synced(t, sup)
	assert.Equal(t, []string{"p:Restarting", "p:Started"}, rec.since(mark))
}

func TestStartCanceledWhileChildrenStart(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	entered, release := make(chan struct{}), make(chan struct{})
	slow := Spec{ID: "slow", Start: func() actor.Actor {
		return &slowStarter{probe: probe{name: "slow", rec: rec}, entered: entered, release: release}
	}}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered
		cancel()
	}()
	_, err := Start(ctx, sys, "root", OneForOne, []Spec{slow})
	assert.ErrorIs(t, err, context.Canceled)
	close(release)
	rec.waitFor(t, 0, "slow:Stopped", 1) // the half-started tree shuts itself down
}

// slowStarter blocks in Started until released.
type slowStarter struct {
	probe
	entered, release chan struct{}
}

func (s *slowStarter) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		close(s.entered)
		<-s.release
	}
	s.probe.Receive(ctx)
}

// OTP: supervisor(3), "start_child/2": if the child process start function
// fails or returns an error tuple, the child specification is discarded and
// the function returns {error, Error}. A child that exits while handling
// *actor.Started has failed to start, whatever its reason, and its siblings
// are untouched.
func TestExitDuringStartedIsAStartFailure(t *testing.T) {
	for _, reason := range []error{errors.New("no config"), ExitNormal} {
		t.Run(reason.Error(), func(t *testing.T) {
			sys := newSystem(t)
			rec := newRecorder()
			sup := startRoot(t, sys, OneForOne, workers(rec, "sibling"), observe(rec))
			ctx := testCtx(t)
			mark := rec.mark()
			_, err := sup.StartChild(ctx, worker(rec, "bad", Transient, func(p *probe) { p.exitStart = reason }))
			require.ErrorIs(t, err, ErrStartFailed)
			assert.ErrorIs(t, err, reason)
			synced(t, sup)
			assert.Equal(t, []string{"bad:Started", "bad:Stopping", "bad:Stopped"}, lifecycle(rec.since(mark)), "started once, never restarted")
			assert.NotContains(t, rec.since(mark), "child_started(bad)")
			infos, err := sup.WhichChildren(ctx)
			require.NoError(t, err)
			assert.Equal(t, "sibling:running", ids(infos), "nothing is kept and the sibling runs on")
			assert.Zero(t, infos[0].Restarts)
		})
	}
}

// Past indexAbove children a supervisor finds them through maps, not by
// scanning: crashes (found by PID), restarts, terminations and deletions
// (found by id) work the same on either side of the threshold.
func TestManyChildrenAreFoundByIDAndPID(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	sup := startRoot(t, sys, OneForOne, workers(rec, "s0", "s1", "s2"), WithIntensity(10, time.Hour))
	ctx := testCtx(t)
	var names []string
	for i := range indexAbove + 4 {
		name := fmt.Sprintf("d%d", i)
		names = append(names, name)
		pid, err := sup.StartChild(ctx, worker(rec, name, Permanent))
		require.NoError(t, err)
		assert.Equal(t, name, pingChild(t, sys, pid))
	}
	for _, name := range []string{"s1", "d2", names[len(names)-1]} {
		mark := rec.mark()
		send(sys, pidOf(t, sup, name), crash{value: "boom"})
		rec.waitFor(t, mark, name+":Started", 1)
		synced(t, sup)
		assert.Equal(t, []string{name + ":Restarting", name + ":Started"}, rec.since(mark), "only %s restarts", name)
		assert.Equal(t, name, pingChild(t, sys, pidOf(t, sup, name)))
	}
	require.NoError(t, sup.TerminateChild(ctx, "d1"))
	require.NoError(t, sup.DeleteChild(ctx, "d1"))
	_, err := sup.RestartChild(ctx, "d1")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = sup.StartChild(ctx, worker(rec, "d3", Permanent))
	assert.ErrorIs(t, err, ErrAlreadyStarted)
	n, err := sup.CountChildren(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3+indexAbove+4-1, n.Active)
}
