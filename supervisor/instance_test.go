package supervisor

import (
	"context"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A child record keeps one instance without a map, and more (a killed
// process that has not returned yet, its successor) in one made only then.
func TestInstancesKeepOneWithoutAMapAndMoreInOne(t *testing.T) {
	var is instances
	a, b, c := actor.NewPID("l", "a"), actor.NewPID("l", "b"), actor.NewPID("l", "c")
	ia := is.get(a)
	assert.Same(t, ia, is.get(a), "the same process gets the same instance")
	assert.Nil(t, is.more, "one instance: no map")

	ia.kill()
	ib, ic := is.get(b), is.get(c)
	require.NotSame(t, ia, ib)
	assert.Same(t, ib, is.get(b))
	assert.Same(t, ic, is.get(c))
	assert.Len(t, is.more, 2)
	assert.ErrorIs(t, context.Cause(ia.context()), ExitKilled)
	assert.True(t, ia.fenced.Load())
	assert.NoError(t, ib.context().Err(), "killing one leaves the others")

	ia.end() // the killed process returns
	assert.Nil(t, is.one)
	ib.end()
	assert.Len(t, is.more, 1)
	assert.Same(t, ic, is.get(c), "the last one is still found")
	assert.ErrorIs(t, context.Cause(ib.context()), ExitNormal)
	ic.end()
	assert.ErrorIs(t, context.Cause(ic.context()), ExitNormal, "a context first asked for after the end starts ended")
	assert.Nil(t, is.get(b).ctx, "no context until asked for")
	assert.Empty(t, is.more)
	assert.NotSame(t, ia, is.get(a), "a forgotten process would get a fresh instance")
}
