package supervisor

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// late is what a stubborn child sends once its Stopping handler is done.
type late struct{ from string }

// stubborn blocks in its Stopping handler until released or, unless
// ignoreCtx, until its supervisor's Context ends; then it sends late to the
// observer.
type stubborn struct {
	name      string
	rec       *recorder
	observer  *actor.PID
	release   chan struct{}
	ignoreCtx bool
}

func (s *stubborn) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		s.rec.add(s.name + ":Started")
	case *actor.Stopping:
		s.rec.add(s.name + ":Stopping")
		cctx := Context(ctx)
		if s.ignoreCtx {
			<-s.release
		} else {
			select {
			case <-s.release:
			case <-cctx.Done():
				s.rec.add(s.name + ":canceled:" + context.Cause(cctx).Error())
			}
		}
		ctx.Send(s.observer, late{from: s.name})
		s.rec.add(s.name + ":sent")
	case ping:
		ctx.Respond(pong{name: s.name})
	}
}

// observer records the late messages it gets as "observer:<from>".
func observer(t *testing.T, sys *actor.ActorSystem, rec *recorder) *actor.PID {
	t.Helper()
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case late:
			rec.add("observer:" + m.from)
		case ping:
			ctx.Respond(pong{})
		}
	}))
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	return pid
}

func stubbornSpec(rec *recorder, obs *actor.PID, release chan struct{}, id string, shutdown time.Duration, ignoreCtx bool) Spec {
	return Spec{ID: id, Shutdown: shutdown, Start: func() actor.Actor {
		return &stubborn{name: id, rec: rec, observer: obs, release: release, ignoreCtx: ignoreCtx}
	}}
}

// nothingArrived checks that the observer got no late message: a ping sent
// after the sender's last send is answered after anything it sent.
func nothingArrived(t *testing.T, sys *actor.ActorSystem, rec *recorder, obs *actor.PID) {
	t.Helper()
	pingChild(t, sys, obs)
	for _, e := range rec.since(0) {
		assert.NotContains(t, e, "observer:", "a killed child's sends are dropped")
	}
}

// OTP: supervisor(3), "child_spec()", shutdown: brutal_kill means the child
// is unconditionally terminated using exit(Child, kill). Go cannot kill a
// goroutine; the closest contract: the child's Context is cancelled at the
// kill (cause ExitKilled), and everything it still sends through its
// actor.Context is dropped, so nothing it does after the kill reaches
// anyone. A brutal kill is not an error report (no shutdown_error).
func TestBrutalKillCancelsTheContextAndFencesTheChild(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	obs := observer(t, sys, rec)
	release := make(chan struct{})
	defer close(release)
	var got events
	sup := startRoot(t, sys, OneForOne, []Spec{stubbornSpec(rec, obs, release, "stuck", BrutalKill, false)},
		WithEventHook(got.hook))
	ctx := testCtx(t)

	require.NoError(t, sup.TerminateChild(ctx, "stuck"))
	rec.waitFor(t, 0, "stuck:canceled:killed", 1)
	rec.waitFor(t, 0, "stuck:sent", 1)
	nothingArrived(t, sys, rec, obs)

	stops := got.of(EventChildStopped)
	require.Len(t, stops, 1)
	assert.ErrorIs(t, stops[0].Reason, ExitKilled)
	assert.Empty(t, got.of(EventShutdownError))
	pid, err := sup.RestartChild(ctx, "stuck")
	require.NoError(t, err)
	assert.Equal(t, "stuck", pingChild(t, sys, pid))
}

// OTP: supervisor(3), "child_spec()", shutdown as an integer time-out: the
// supervisor tells the child to terminate, waits that long, then kills it
// and reports shutdown_error. The replacement may start while the old
// instance is still stuck in its handler, but the old one is fenced off:
// what it sends once it returns is dropped.
func TestShutdownTimeoutReportsShutdownErrorAndFencesTheChild(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	obs := observer(t, sys, rec)
	release := make(chan struct{})
	fake := newFake(epoch)
	var got events
	sup := startRoot(t, sys, OneForOne, []Spec{stubbornSpec(rec, obs, release, "stuck", 2*time.Second, true)},
		WithClock(fake), WithEventHook(got.hook))
	ctx := testCtx(t)

	done := make(chan error, 1)
	go func() { done <- sup.TerminateChild(ctx, "stuck") }()
	<-fake.BlockUntil(1)
	// The child is stuck in its Stopping handler before the time-out passes
	// (it handles Stopping on its own goroutine, possibly after the
	// supervisor armed the timer).
	rec.waitFor(t, 0, "stuck:Stopping", 1)
	assert.Empty(t, got.of(EventShutdownError))
	fake.Advance(2 * time.Second)
	require.NoError(t, <-done)
	errs := got.of(EventShutdownError)
	require.Len(t, errs, 1)
	assert.Equal(t, "stuck", errs[0].Child)
	assert.ErrorIs(t, errs[0].Reason, ExitKilled)

	mark := rec.mark()
	pid, err := sup.RestartChild(ctx, "stuck")
	require.NoError(t, err)
	assert.Equal(t, []string{"stuck:Started"}, rec.since(mark), "the replacement runs; the old one is still stuck")
	close(release)
	rec.waitFor(t, 0, "stuck:sent", 1)
	nothingArrived(t, sys, rec, obs)
	assert.Equal(t, "stuck", pingChild(t, sys, pid))
}

// OTP: supervisor(3), "child_spec()": a supervisor child killed with
// brutal_kill dies at once, and its children, linked to it, die with reason
// killed, without an orderly shutdown. Here the sub-supervisor kills its
// children (each fenced, its Context cancelled) and stops.
func TestBrutalKillOfASubSupervisorKillsItsChildren(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	obs := observer(t, sys, rec)
	release := make(chan struct{})
	defer close(release)
	var got events
	mid := Sub("mid", OneForOne, []Spec{
		stubbornSpec(rec, obs, release, "a", Infinity, false),
		stubbornSpec(rec, obs, release, "b", Infinity, false),
	})
	mid.Shutdown = BrutalKill
	sup := startRoot(t, sys, OneForOne, []Spec{mid}, WithEventHook(got.hook))

	require.NoError(t, sup.TerminateChild(testCtx(t), "mid"))
	rec.waitFor(t, 0, "a:canceled:killed", 1)
	rec.waitFor(t, 0, "b:canceled:killed", 1)
	rec.waitFor(t, 0, "a:sent", 1)
	rec.waitFor(t, 0, "b:sent", 1)
	nothingArrived(t, sys, rec, obs)

	// mid reports each child's stop after it killed it, on its own
	// goroutine: the children may see their Context end first.
	require.Eventually(t, func() bool { return len(got.of(EventChildStopped)) >= 3 }, 10*time.Second, time.Millisecond)
	killed := map[string]bool{}
	for _, e := range got.of(EventChildStopped) {
		assert.ErrorIs(t, e.Reason, ExitKilled, e.String())
		killed[e.Supervisor+"/"+e.Child] = true
	}
	assert.Equal(t, map[string]bool{"root/mid": true, "mid/a": true, "mid/b": true}, killed)
	assert.Empty(t, got.of(EventShutdownError))
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "mid:stopped", ids(infos))
}

func TestContextOutsideASupervisor(t *testing.T) {
	sys := newSystem(t)
	got := make(chan context.Context, 1)
	pid := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); ok {
			got <- Context(ctx)
		}
	}))
	assert.Equal(t, context.Background(), <-got)
	require.NoError(t, sys.Root.StopFuture(pid).Wait())
}

// A child's Context ends with its process once it has stopped normally.
func TestContextEndsWithTheProcess(t *testing.T) {
	sys := newSystem(t)
	got := make(chan context.Context, 1)
	spec := Spec{ID: "w", Start: func() actor.Actor {
		return actor.ReceiveFunc(func(ctx actor.Context) {
			if _, ok := ctx.Message().(*actor.Started); ok {
				got <- Context(ctx)
			}
		})
	}}
	sup := startRoot(t, sys, OneForOne, []Spec{spec})
	cctx := <-got
	assert.NoError(t, cctx.Err())
	require.NoError(t, sup.TerminateChild(testCtx(t), "w"))
	<-cctx.Done()
	assert.ErrorIs(t, context.Cause(cctx), ExitNormal)
}

// stopPanicker panics while handling *actor.Stopping, or *actor.Stopped
// when inStopped is set; it calls Exit when told to.
type stopPanicker struct {
	name      string
	rec       *recorder
	inStopped bool
}

func (p *stopPanicker) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		p.rec.add(p.name + ":Started")
	case *actor.Stopping:
		p.rec.add(p.name + ":Stopping")
		if !p.inStopped {
			panic("crash in terminate")
		}
	case *actor.Stopped:
		p.rec.add(p.name + ":Stopped")
		if p.inStopped {
			panic("crash in terminate")
		}
	case exitWith:
		Exit(ctx, m.reason)
	}
}

func stopPanickerSpec(rec *recorder, id string, shutdown time.Duration, inStopped bool) Spec {
	return Spec{ID: id, Shutdown: shutdown, Start: func() actor.Actor {
		return &stopPanicker{name: id, rec: rec, inStopped: inStopped}
	}}
}

// OTP: supervisor.erl shutdown/1: the child's DOWN comes with the reason
// its terminate/2 crashed with; anything but shutdown is {error, Reason},
// reported as shutdown_error, and the supervisor goes on at once. protoactor
// leaves a child that panics while stopping suspended, half-stopped, and
// never reports it Terminated: the stop must not wait for that, neither
// forever (Infinity) nor until the timeout (the fake clock never fires).
func TestPanicWhileStoppingEndsTheStopAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name      string
		shutdown  time.Duration
		inStopped bool
	}{
		{"Stopping/infinity", Infinity, false},
		{"Stopping/timeout", 2 * time.Second, false},
		{"Stopped/infinity", Infinity, true},
		{"Stopped/timeout", 2 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys, rec := newSystem(t), newRecorder()
			var got events
			sup := startRoot(t, sys, OneForOne, []Spec{stopPanickerSpec(rec, "x", tc.shutdown, tc.inStopped)},
				WithClock(newFake(epoch)), WithEventHook(got.hook))
			ctx := testCtx(t)

			require.NoError(t, sup.TerminateChild(ctx, "x"))
			errs := got.of(EventShutdownError)
			require.Len(t, errs, 1)
			var pe *PanicError
			require.ErrorAs(t, errs[0].Reason, &pe, "the reason is the panic, not killed")
			assert.Equal(t, "crash in terminate", pe.Value)
			infos, err := sup.WhichChildren(ctx)
			require.NoError(t, err)
			assert.Equal(t, "x:stopped", ids(infos))

			pid, err := sup.RestartChild(ctx, "x")
			require.NoError(t, err)
			assert.Equal(t, "root/x", pid.Id, "the dead process's name is free again")
		})
	}
}

// An actor with children of its own runs its Stopped handler while it
// handles its last child's *actor.Terminated (protoactor reports that
// message with the panic, not *actor.Stop): a panic there ends the stop at
// once too, with the panic as the shutdown_error's reason.
func TestPanicInStoppedOfAnActorWithChildrenEndsTheStopAtOnce(t *testing.T) {
	sys := newSystem(t)
	var got events
	spec := Spec{ID: "x", Shutdown: Infinity, Start: func() actor.Actor {
		return actor.ReceiveFunc(func(ctx actor.Context) {
			switch ctx.Message().(type) {
			case *actor.Started:
				ctx.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
			case *actor.Stopped:
				panic("crash in terminate")
			}
		})
	}}
	sup := startRoot(t, sys, OneForOne, []Spec{spec}, WithClock(newFake(epoch)), WithEventHook(got.hook))
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	require.NoError(t, sup.TerminateChild(ctx, "x"))
	errs := got.of(EventShutdownError)
	require.Len(t, errs, 1)
	var pe *PanicError
	require.ErrorAs(t, errs[0].Reason, &pe)
	assert.Equal(t, "crash in terminate", pe.Value)
}

// OTP: a process's links take its linked processes down with it when it
// dies. A child that panics in Stopping dies before protoactor stops the
// actors it spawned itself; the supervisor stops them, and they stop theirs.
// An actor whose name only starts like the child's is left alone.
func TestPanicWhileStoppingStopsTheChildsOwnActors(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	var got events
	recordKid := recordingReceive(rec, "kid")
	kid := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); ok {
			_, _ = ctx.SpawnNamed(recordingActor(rec, "grandkid"), "grandkid")
		}
		recordKid(ctx)
	})
	spec := Spec{ID: "x", Shutdown: Infinity, Start: func() actor.Actor {
		return actor.ReceiveFunc(func(ctx actor.Context) {
			switch ctx.Message().(type) {
			case *actor.Started:
				_, _ = ctx.SpawnNamed(kid, "kid")
				ctx.Spawn(recordingActor(rec, "anon"))
			case *actor.Stopping:
				panic("crash in terminate")
			}
		})
	}}
	mark := rec.mark()
	sup := startRoot(t, sys, OneForOne, []Spec{spec}, WithClock(newFake(epoch)), WithEventHook(got.hook))
	rec.waitFor(t, mark, "kid:Started", 1)
	rec.waitFor(t, mark, "anon:Started", 1)
	bystander, err := sys.Root.SpawnNamed(recordingActor(rec, "bystander"), "root/xx")
	require.NoError(t, err)
	t.Cleanup(func() { _ = sys.Root.StopFuture(bystander).Wait() })
	rec.waitFor(t, mark, "bystander:Started", 1)

	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	require.NoError(t, sup.TerminateChild(ctx, "x"))
	require.Len(t, got.of(EventShutdownError), 1)
	rec.waitFor(t, mark, "kid:Stopped", 1)
	rec.waitFor(t, mark, "anon:Stopped", 1)
	rec.waitFor(t, mark, "grandkid:Stopped", 1)
	_, alive := sys.ProcessRegistry.Get(bystander)
	assert.True(t, alive, "root/xx is not root/x's")
	assert.NotContains(t, rec.since(mark), "bystander:Stopped")
}

// watchTerminated records "<id>:Terminated" once protoactor reports pid
// stopped: its process has finished stopping.
func watchTerminated(t *testing.T, sys *actor.ActorSystem, rec *recorder, pid *actor.PID) {
	t.Helper()
	mark := rec.mark()
	w := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			ctx.Watch(pid)
			rec.add("watching")
		case *actor.Terminated:
			rec.add(m.Who.Id + ":Terminated")
		}
	}))
	t.Cleanup(func() { _ = sys.Root.StopFuture(w).Wait() })
	// The Watch is in pid's mailbox before anything the test sends next.
	rec.waitFor(t, mark, "watching", 1)
}

// OTP: supervisor(3), terminate: a supervisor stopping its children reports
// a child whose terminate crashed (shutdown_error) and goes on; here the
// supervisor's own protoactor process also finishes stopping, though the
// child never reported Terminated.
func TestStopGoesOnPastAChildThatPanicsWhileStopping(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	var got events
	sup, err := Start(testCtx(t), sys, "root", OneForOne,
		[]Spec{worker(rec, "a", Permanent), stopPanickerSpec(rec, "x", Infinity, false), worker(rec, "b", Permanent)},
		WithEventHook(got.hook))
	require.NoError(t, err)
	watchTerminated(t, sys, rec, sup.PID())
	mark := rec.mark()

	require.NoError(t, sup.Stop(testCtx(t)))
	assert.NoError(t, sup.Err())
	rec.waitFor(t, mark, "root:Terminated", 1)
	assert.Equal(t, []string{"b:Stopping", "b:Stopped", "x:Stopping", "a:Stopping", "a:Stopped"},
		slices.DeleteFunc(rec.since(mark), func(e string) bool { return e == "root:Terminated" }))
	errs := got.of(EventShutdownError)
	require.Len(t, errs, 1)
	assert.Equal(t, "x", errs[0].Child)
	var pe *PanicError
	assert.ErrorAs(t, errs[0].Reason, &pe)
}

// OTP: a child whose terminate crashes after it called exit(normal) exits
// with the crash reason (an abnormal exit, child_terminated), and a
// permanent child is restarted: it is down at once, not half-stopped.
func TestChildThatPanicsWhileExitingIsRestarted(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	sup := startRoot(t, sys, OneForOne, []Spec{stopPanickerSpec(rec, "x", Infinity, false)}, observe(rec))
	mark := rec.mark()
	send(sys, pidOf(t, sup, "x"), exitWith{reason: ExitNormal})
	rec.waitFor(t, mark, "child_restarted(x)", 1)
	assert.Equal(t, []string{"x:Stopping", "child_terminated(x)", "x:Started", "child_restarted(x)"}, rec.since(mark))
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "x:running", ids(infos))
}

// A killed sub-supervisor is unregistered at once, but its protoactor
// process still finishes stopping once its killed children have: its
// parent, a protoactor parent, stops only after all its children did.
func TestKilledSubSupervisorFinishesStopping(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	mid := Sub("mid", OneForOne, workers(rec, "a"))
	mid.Shutdown = BrutalKill
	sup, err := Start(testCtx(t), sys, "root", OneForOne, []Spec{mid})
	require.NoError(t, err)
	watchTerminated(t, sys, rec, sup.PID())
	midSup, err := sup.Sub(testCtx(t), "mid")
	require.NoError(t, err)
	watchTerminated(t, sys, rec, midSup.PID())
	mark := rec.mark()

	require.NoError(t, sup.TerminateChild(testCtx(t), "mid"))
	rec.waitFor(t, mark, "root/mid:Terminated", 1)
	require.NoError(t, sup.Stop(testCtx(t)))
	rec.waitFor(t, mark, "root:Terminated", 1)
}
