package tinkex

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

// TestCanceledResultNamesItsOperation: a Result the caller gave up on names
// the operation, not "future".
func TestCanceledResultNamesItsOperation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := newOpFuture[int]("optim_step")
	_, err := f.Result(ctx)
	require.ErrorIs(t, err, types.ErrCanceled)
	require.ErrorIs(t, err, context.Canceled)
	var e *types.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "optim_step", e.Op)
	assert.Equal(t, "tinkex: optim_step: canceled error: context canceled", err.Error())
}
