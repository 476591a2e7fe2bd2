package supervisor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStartsChildrenInOrderAndStopsInReverse(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	sup, err := Start(testCtx(t), sys, "root", OneForOne, workers(rec, "a", "b", "c"))
	require.NoError(t, err)
	assert.Equal(t, []string{"a:Started", "b:Started", "c:Started"}, rec.since(0))

	mark := rec.mark()
	require.NoError(t, sup.Stop(testCtx(t)))
	assert.Equal(t, []string{"c:Stopping", "c:Stopped", "b:Stopping", "b:Stopped", "a:Stopping", "a:Stopped"}, rec.since(mark))
	assert.NoError(t, sup.Err())
}

func TestStrategies(t *testing.T) {
	tests := []struct {
		name     string
		strategy Strategy
		want     []string
	}{
		{"one_for_one restarts only b", OneForOne, []string{"b:Restarting", "b:Started"}},
		{"one_for_all stops c then a, then starts a, b, c", OneForAll, []string{
			"c:Stopping", "c:Stopped", "a:Stopping", "a:Stopped",
			"a:Started", "b:Restarting", "b:Started", "c:Started",
		}},
		{"rest_for_one stops c, then starts b and c", RestForOne, []string{
			"c:Stopping", "c:Stopped", "b:Restarting", "b:Started", "c:Started",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys := newSystem(t)
			rec := newRecorder()
			sup := startRoot(t, sys, tt.strategy, workers(rec, "a", "b", "c"))

			mark := rec.mark()
			send(sys, pidOf(t, sup, "b"), crash{value: "boom"})
			rec.waitFor(t, mark, "b:Started", 1)
			synced(t, sup)
			assert.Equal(t, tt.want, rec.since(mark))

			infos, err := sup.WhichChildren(testCtx(t))
			require.NoError(t, err)
			assert.Equal(t, "a:running b:running c:running", ids(infos))
			for _, id := range []string{"a", "b", "c"} {
				assert.Equal(t, id, pingChild(t, sys, pidOf(t, sup, id)))
			}
		})
	}
}

func TestTemporaryBystanderIsNotRestarted(t *testing.T) {
	for _, strategy := range []Strategy{OneForAll, RestForOne} {
		t.Run(strategy.String(), func(t *testing.T) {
			sys := newSystem(t)
			rec := newRecorder()
			children := []Spec{worker(rec, "a", Permanent), worker(rec, "b", Permanent), worker(rec, "tmp", Temporary)}
			sup := startRoot(t, sys, strategy, children)

			mark := rec.mark()
			send(sys, pidOf(t, sup, "b"), crash{value: "boom"})
			rec.waitFor(t, mark, "b:Started", 1)
			synced(t, sup)
			assert.Contains(t, rec.since(mark), "tmp:Stopped")
			assert.NotContains(t, rec.since(mark), "tmp:Started")

			infos, err := sup.WhichChildren(testCtx(t))
			require.NoError(t, err)
			assert.Equal(t, "a:running b:running", ids(infos), "the temporary's spec is removed")
		})
	}
}
