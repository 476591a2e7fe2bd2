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
	sup := startRoot(t, sys, OneForOne, []Spec{crash, worker(rec, "x/y", Permanent)}, WithClock(newFake(epoch)), WithEventHook(got.hook))
	rec.waitFor(t, mark, "x/y:Started", 1)

	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	require.NoError(t, sup.TerminateChild(ctx, "x"))
	require.Len(t, got.of(EventShutdownError), 1)
	// A round trip through the supervisor: whatever it did about x is done.
	_, err := sup.WhichChildren(ctx)
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond)
	assert.NotContains(t, rec.since(mark), "x/y:Stopping", "the sibling x/y was stopped as x's orphan")
	infos, err := sup.WhichChildren(ctx)
	require.NoError(t, err)
	for _, in := range infos {
		if in.ID == "x/y" {
			assert.Equal(t, Running, in.Status)
		}
	}
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
				_, _ = ctx.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
					switch ctx.Message().(type) {
					case *actor.Started:
						rec.add("kid:Started")
					case *actor.Stopped:
						rec.add("kid:Stopped")
					}
				}), "kid")
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
					ctx.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
						switch ctx.Message().(type) {
						case *actor.Started:
							rec.add(kid + ":Started")
						case *actor.Stopped:
							rec.add(kid + ":Stopped")
						}
					}))
				case *actor.Stopping:
					if hang {
						<-release
						panic("crash in terminate")
					}
				}
			})
		}}
	}
	mark := rec.mark()
	sup := startRoot(t, sys, OneForOne, []Spec{spec("old", true)}, WithEventHook(got.hook))
	rec.waitFor(t, mark, "old:Started", 1)
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	require.NoError(t, sup.TerminateChild(ctx, "x")) // killed, forgotten
	_, err := sup.StartChild(ctx, spec("new", false))
	require.NoError(t, err)
	rec.waitFor(t, mark, "new:Started", 1)

	close(release)
	time.Sleep(100 * time.Millisecond) // the old one's panic reaches the supervisor
	_, err = sup.WhichChildren(ctx)
	require.NoError(t, err)
	time.Sleep(50 * time.Millisecond)
	assert.NotContains(t, rec.since(mark), "new:Stopped", "the successor's own actor was stopped as an orphan")
}
