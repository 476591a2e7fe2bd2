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
