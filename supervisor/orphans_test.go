package supervisor

import (
	"context"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A sibling whose ID extends the lost child's with "/" ("x/y" next to "x")
// has the PID "root/x/y", which looks like an actor x spawned itself; it is
// the supervisor's own child and must not be stopped with x's orphans.
func TestPanicWhileStoppingLeavesASiblingNamedLikeAnOrphan(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	var got events
	crash := Spec{ID: "x", Restart: Temporary, Shutdown: Infinity, Start: func() actor.Actor {
		return actor.ReceiveFunc(func(ctx actor.Context) {
			if _, ok := ctx.Message().(*actor.Stopping); ok {
				panic("crash in terminate")
			}
		})
	}}
	mark := rec.mark()
	sibling := Spec{ID: "x/y", Start: func() actor.Actor {
		p := &probe{name: "x/y", rec: rec}
		return actor.ReceiveFunc(func(ctx actor.Context) {
			if _, ok := ctx.Message().(*actor.Started); ok {
				_, _ = ctx.SpawnNamed(recordingActor(rec, "x/y's kid"), "kid")
			}
			p.Receive(ctx)
		})
	}}
	sup := startRoot(t, sys, OneForOne, []Spec{crash, sibling}, WithClock(newFake(epoch)), WithEventHook(got.hook))
	rec.waitFor(t, mark, "x/y:Started", 1)
	rec.waitFor(t, mark, "x/y's kid:Started", 1)
	siblingPID := pidOf(t, sup, "x/y")

	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	require.NoError(t, sup.TerminateChild(ctx, "x"))
	require.Len(t, got.of(EventShutdownError), 1)
	// The orphans were sent their Stop before TerminateChild returned; a
	// system message goes before a user one, so the sibling answering the
	// ping has handled any Stop it was sent.
	_, err := sys.Root.RequestFuture(siblingPID, ping{}, 10*time.Second).Result()
	require.NoError(t, err)
	_, err = sys.Root.RequestFuture(actor.NewPID(sys.Address(), "root/x/y/kid"), ping{}, 10*time.Second).Result()
	require.NoError(t, err, "what the sibling spawned was stopped as x's orphan")
	assert.NotContains(t, rec.since(mark), "x/y:Stopping", "the sibling x/y was stopped as x's orphan")
}

// An actor the child spawned under a name holding a "/" of its own
// ("root/x/a/b") is one of its actors too.
func TestPanicWhileStoppingStopsActorsWithASlashInTheirName(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	var got events
	spec := Spec{ID: "x", Shutdown: Infinity, Start: func() actor.Actor {
		return actor.ReceiveFunc(func(ctx actor.Context) {
			switch ctx.Message().(type) {
			case *actor.Started:
				_, _ = ctx.SpawnNamed(recordingActor(rec, "a/b"), "a/b")
			case *actor.Stopping:
				panic("crash in terminate")
			}
		})
	}}
	mark := rec.mark()
	sup := startRoot(t, sys, OneForOne, []Spec{spec}, WithClock(newFake(epoch)), WithEventHook(got.hook))
	rec.waitFor(t, mark, "a/b:Started", 1)
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	require.NoError(t, sup.TerminateChild(ctx, "x"))
	require.Len(t, got.of(EventShutdownError), 1)
	rec.waitFor(t, mark, "a/b:Stopped", 1)
}

// A child the supervisor killed (its stop outlived Shutdown) that then
// panics in its Stopping handler leaves the actors it spawned itself
// running, as a lost child would; they are stopped too.
func TestKilledChildPanickingInStoppingStopsItsOwnActors(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	var got events
	release := make(chan struct{})
	spec := Spec{ID: "x", Restart: Temporary, Shutdown: 50 * time.Millisecond, Start: func() actor.Actor {
		return actor.ReceiveFunc(func(ctx actor.Context) {
			switch ctx.Message().(type) {
			case *actor.Started:
				_, _ = ctx.SpawnNamed(recordingActor(rec, "kid"), "kid")
			case *actor.Stopping:
				<-release
				panic("crash in terminate")
			}
		})
	}}
	mark := rec.mark()
	sup := startRoot(t, sys, OneForOne, []Spec{spec}, WithEventHook(got.hook))
	rec.waitFor(t, mark, "kid:Started", 1)

	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	require.NoError(t, sup.TerminateChild(ctx, "x"))
	require.Len(t, got.of(EventShutdownError), 1) // killed
	close(release)
	rec.waitFor(t, mark, "kid:Stopped", 1)
}

// A killed temporary child is forgotten and its ID may be started again,
// under the same name: when the killed one then panics in Stopping, the
// actors under that name are the new child's, not orphans.
func TestKilledChildPanickingInStoppingLeavesItsSuccessorsActors(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	var got events
	release := make(chan struct{})
	spec := func(kid string, hang bool) Spec {
		return Spec{ID: "x", Restart: Temporary, Shutdown: 50 * time.Millisecond, Start: func() actor.Actor {
			return actor.ReceiveFunc(func(ctx actor.Context) {
				switch ctx.Message().(type) {
				case *actor.Started:
					_, _ = ctx.SpawnNamed(recordingActor(rec, kid), kid)
				case *actor.Stopping:
					if hang {
						<-release
						panic("crash in terminate")
					}
				}
			})
		}}
	}
	handled := make(chan struct{}, 1)
	mark := rec.mark()
	sup := startRoot(t, sys, OneForOne, []Spec{spec("old", true)}, WithEventHook(got.hook),
		withLateFailureHook(func(*actor.PID) { handled <- struct{}{} }))
	rec.waitFor(t, mark, "old:Started", 1)
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	require.NoError(t, sup.TerminateChild(ctx, "x")) // killed, forgotten
	_, err := sup.StartChild(ctx, spec("new", false))
	require.NoError(t, err)
	rec.waitFor(t, mark, "new:Started", 1)

	close(release)
	select {
	case <-handled: // the old one's panic reached the supervisor and was handled
	case <-ctx.Done():
		t.Fatal("the killed child's panic never reached its supervisor")
	}
	// A Stop sent while handling it goes before this ping (a system message
	// before a user one): the successor's actor answering it was not stopped.
	kid := actor.NewPID(sys.Address(), "root/x/new")
	_, err = sys.Root.RequestFuture(kid, ping{}, 10*time.Second).Result()
	require.NoError(t, err, "the successor's own actor was stopped as an orphan")
	assert.NotContains(t, rec.since(mark), "new:Stopped")
}

// recordingActor records "<name>:Started" and "<name>:Stopped" and answers
// a ping: an actor a child spawns itself.
func recordingActor(rec *recorder, name string) *actor.Props {
	return actor.PropsFromFunc(recordingReceive(rec, name))
}

// recordingReceive is recordingActor's Receive, for an actor that does
// more on top of it.
func recordingReceive(rec *recorder, name string) actor.ReceiveFunc {
	return func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *actor.Started:
			rec.add(name + ":Started")
		case *actor.Stopped:
			rec.add(name + ":Stopped")
		case ping:
			ctx.Respond(pong{name: name})
		}
	}
}
