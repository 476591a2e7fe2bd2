package tinkex

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

func TestAwaitAllReturnsValuesInOrder(t *testing.T) {
	a, b := newOpFuture[int]("test"), newOpFuture[int]("test")
	b.complete(2, nil) // completes first
	go a.complete(1, nil)
	got, err := AwaitAll(context.Background(), a, b)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, got)

	none, err := AwaitAll[int](context.Background())
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestAwaitAllReturnsTheFirstErrorToArrive(t *testing.T) {
	pending, failed := newOpFuture[int]("test"), newOpFuture[int]("test")
	boom := types.NewError(types.KindServer, "optim_step", "boom")
	failed.fail(boom)
	// pending never completes: AwaitAll must not wait for it.
	_, err := AwaitAll(context.Background(), pending, failed)
	assert.ErrorIs(t, err, boom)
	select {
	case <-pending.Done():
		t.Fatal("the pending future was completed")
	default:
	}
}

func TestAwaitAllHonoursContextAndNil(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := AwaitAll(ctx, newOpFuture[int]("test"))
	require.ErrorIs(t, err, types.ErrCanceled)
	var e *types.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "await_all", e.Op)

	_, err = AwaitAll(context.Background(), Resolved(1, nil), nil)
	assert.ErrorIs(t, err, types.ErrValidation)
	assert.ErrorIs(t, WaitAll(context.Background(), nil), types.ErrValidation)
}

func TestWaitAllMixesValueTypes(t *testing.T) {
	fb := Resolved(&types.ForwardBackwardOutput{}, nil)
	opt := newOpFuture[*types.OptimStepResponse]("test")
	go opt.complete(&types.OptimStepResponse{}, nil)
	require.NoError(t, WaitAll(context.Background(), fb, opt))
	_, err := opt.Result(context.Background())
	require.NoError(t, err)
}
