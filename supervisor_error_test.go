package tinkex

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/types"
)

// The supervisor package has its own error type; the runtime hands callers
// *types.Error with the matching kind and the supervisor's sentinel still in
// the chain.
func TestSupervisorErrorsBecomeTinkexErrors(t *testing.T) {
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
	ctx := context.Background()
	sup, err := supervisor.Start(ctx, sys, "root", supervisor.OneForOne, nil)
	require.NoError(t, err)
	canceled, cancel := context.WithCancel(ctx)
	cancel()

	tests := []struct {
		name     string
		call     func() error
		kind     types.Kind
		sentinel error
	}{
		{"unknown child", func() error { return sup.TerminateChild(ctx, "nope") }, types.KindValidation, supervisor.ErrNotFound},
		{"bad spec", func() error { _, err := sup.StartChild(ctx, supervisor.Spec{}); return err }, types.KindValidation, supervisor.ErrInvalidSpec},
		{"canceled", func() error { _, err := sup.WhichChildren(canceled); return err }, types.KindCanceled, context.Canceled},
		{"stopped", func() error {
			require.NoError(t, sup.Stop(ctx))
			_, err := sup.WhichChildren(ctx)
			return err
		}, types.KindClientStopped, supervisor.ErrStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := supervisorError(tt.call())
			assert.Equal(t, tt.kind, types.KindOf(err))
			assert.ErrorIs(t, err, tt.sentinel)
			var se *supervisor.Error
			assert.ErrorAs(t, err, &se)
		})
	}
	plain := errors.New("not from the supervisor")
	assert.Same(t, plain, supervisorError(plain))
	assert.NoError(t, supervisorError(nil))
}
