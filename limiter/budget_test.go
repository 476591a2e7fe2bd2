package limiter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/types"
)

func TestNewBudgetRefusesANonPositiveSize(t *testing.T) {
	for _, size := range []int64{0, -1} {
		_, err := NewBudget(size)
		assert.ErrorIs(t, err, types.ErrValidation)
	}
}

// A Budget follows BytesSemaphore: callers take at once while the budget
// is not negative (so one request larger than it passes alone), wait while
// it is, and are woken by releases.
func TestBudgetWaitsOnlyWhileNegative(t *testing.T) {
	b, err := NewBudget(100)
	require.NoError(t, err)
	ctx := context.Background()
	big, err := b.Acquire(ctx, 250) // larger than the whole budget: passes alone
	require.NoError(t, err)
	assert.Equal(t, int64(250), b.InUse())
	assert.Equal(t, int64(100), b.Size())

	got := waitingAcquire(t, b, 10)
	select {
	case <-got:
		t.Fatal("acquired while the budget was negative")
	default:
	}
	big.Release()
	big.Release() // a second release gives nothing back
	g := <-got
	assert.Equal(t, int64(10), g.Bytes())
	assert.Equal(t, int64(10), b.InUse())
	g.Release()
	assert.Zero(t, b.InUse())
	var nilGrant *Grant
	nilGrant.Release()
}

func TestBudgetAcquireFailsCleanly(t *testing.T) {
	b, err := NewBudget(10)
	require.NoError(t, err)
	_, err = b.Acquire(context.Background(), -1)
	assert.ErrorIs(t, err, types.ErrValidation)
	_, err = b.Acquire(context.Background(), MaxBytes+1)
	assert.ErrorIs(t, err, types.ErrValidation)

	hold, err := b.Acquire(context.Background(), 20)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.Acquire(ctx, 1)
		done <- err
	}()
	require.Eventually(t, func() bool { return b.bytes.waiters.Load() == 1 }, 10*time.Second, time.Millisecond)
	cancel()
	err = <-done
	assert.ErrorIs(t, err, types.ErrCanceled)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, b.bytes.waiters.Load())
	assert.Equal(t, int64(20), b.InUse(), "a canceled Acquire holds nothing")
	hold.Release()

	canceled, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	_, err = b.Acquire(canceled, 1)
	assert.ErrorIs(t, err, types.ErrCanceled)
}

// Resize keeps what is held: growing a budget that is negative wakes its
// waiters, shrinking it makes the next caller wait, and a size below 1 is
// refused.
func TestBudgetResizeKeepsWhatIsHeld(t *testing.T) {
	b, err := NewBudget(100)
	require.NoError(t, err)
	ctx := context.Background()
	big, err := b.Acquire(ctx, 150) // remaining -50
	require.NoError(t, err)
	got := waitingAcquire(t, b, 10)
	require.NoError(t, b.Resize(300)) // remaining 150: the waiter passes
	g := <-got
	assert.Equal(t, int64(300), b.Size())
	assert.Equal(t, int64(160), b.InUse())

	require.NoError(t, b.Resize(100)) // remaining -60: held bytes stay held
	assert.Equal(t, int64(160), b.InUse())
	assert.Equal(t, int64(-60), b.bytes.remaining.Load(), "the next caller waits")
	big.Release()
	g.Release()
	assert.Zero(t, b.InUse())
	assert.Equal(t, int64(100), b.bytes.remaining.Load())

	assert.ErrorIs(t, b.Resize(0), types.ErrValidation)
	assert.Equal(t, int64(100), b.Size(), "a refused size changes nothing")
}

// waitingAcquire acquires bytes from b on a goroutine of its own and
// returns once that caller is registered as a waiter (before it blocks); the
// grant arrives on the channel.
func waitingAcquire(t *testing.T, b *Budget, bytes int64) <-chan *Grant {
	t.Helper()
	got := make(chan *Grant, 1)
	go func() {
		g, err := b.Acquire(context.Background(), bytes)
		assert.NoError(t, err)
		got <- g
	}()
	require.Eventually(t, func() bool { return b.bytes.waiters.Load() == 1 }, 10*time.Second, time.Millisecond)
	return got
}
