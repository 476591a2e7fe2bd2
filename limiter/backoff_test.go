package limiter_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex/clock"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/types"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newLimiter(t *testing.T, opts ...limiter.Option) (*limiter.Limiter, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(epoch)
	l, err := limiter.New(append([]limiter.Option{limiter.WithClock(fake)}, opts...)...)
	require.NoError(t, err)
	return l, fake
}

// waitAsync runs l.Wait(ctx) in a goroutine and returns its result channel.
func waitAsync(ctx context.Context, l *limiter.Limiter) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- l.Wait(ctx) }()
	return ch
}

func requireBlocked(t *testing.T, ch <-chan error) {
	t.Helper()
	select {
	case err := <-ch:
		require.FailNow(t, "returned while it should still be waiting", "err=%v", err)
	default:
	}
}

func receive(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		require.FailNow(t, "timed out waiting for a result")
		return nil
	}
}

func TestWaitIdleReturnsAtOnce(t *testing.T) {
	l, fake := newLimiter(t)
	require.NoError(t, l.Wait(context.Background()))
	assert.Zero(t, fake.Pending(), "an idle Wait must not arm a timer")
	assert.Zero(t, l.BackoffRemaining())
	assert.False(t, l.Throttled())
}

func TestWaitWakesExactlyAtDeadline(t *testing.T) {
	l, fake := newLimiter(t)
	require.True(t, l.ReportRateLimited(5*time.Second))
	assert.Equal(t, 5*time.Second, l.BackoffRemaining())

	done := waitAsync(context.Background(), l)
	<-fake.BlockUntil(1)
	fake.Advance(5*time.Second - time.Nanosecond)
	// The timer is due only at the deadline, so the waiter cannot have woken.
	requireBlocked(t, done)
	assert.Equal(t, 1, fake.Pending())

	fake.Advance(time.Nanosecond)
	require.NoError(t, receive(t, done))
	assert.Zero(t, l.BackoffRemaining())
}

func TestWaitRechecksAnExtendedDeadline(t *testing.T) {
	l, fake := newLimiter(t)
	require.True(t, l.ReportRateLimited(5*time.Second))
	done := waitAsync(context.Background(), l)
	<-fake.BlockUntil(1)

	require.True(t, l.ReportRateLimited(10*time.Second), "a longer backoff extends")
	fake.Advance(5 * time.Second) // the original deadline
	<-fake.BlockUntil(1)          // the waiter re-checked and sleeps again
	requireBlocked(t, done)
	assert.Equal(t, 5*time.Second, l.BackoffRemaining())

	fake.Advance(5 * time.Second)
	require.NoError(t, receive(t, done))
}

func TestBackoffOnlyExtends(t *testing.T) {
	l, fake := newLimiter(t)
	require.True(t, l.ReportRateLimited(10*time.Second))
	assert.False(t, l.ReportRateLimited(5*time.Second), "a shorter backoff must not shorten the deadline")
	assert.Equal(t, 10*time.Second, l.BackoffRemaining())

	fake.Advance(2 * time.Second)
	assert.False(t, l.ReportRateLimited(8*time.Second), "ending at the same instant is not an extension")
	assert.True(t, l.ReportRateLimited(9*time.Second))
	assert.Equal(t, 9*time.Second, l.BackoffRemaining())

	assert.False(t, l.ReportRateLimited(0))
	assert.False(t, l.ReportRateLimited(-time.Second))
	assert.Equal(t, 9*time.Second, l.BackoffRemaining())
}

func TestSuccessDoesNotClearANewerBackoff(t *testing.T) {
	l, fake := newLimiter(t)
	ctx := context.Background()
	inflight, err := l.Acquire(ctx, 100)
	require.NoError(t, err)

	// Another request gets a 429 while the first is in flight; then the
	// first one succeeds and releases its permit.
	require.True(t, l.ReportRateLimited(3*time.Second))
	inflight.Release()
	assert.Equal(t, 3*time.Second, l.BackoffRemaining())

	done := waitAsync(ctx, l)
	<-fake.BlockUntil(1)
	requireBlocked(t, done)
	fake.Advance(3 * time.Second)
	require.NoError(t, receive(t, done))
}

func TestWaitCanceledMidBackoff(t *testing.T) {
	l, fake := newLimiter(t)
	require.True(t, l.ReportRateLimited(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	done := waitAsync(ctx, l)
	<-fake.BlockUntil(1)
	cancel()

	err := receive(t, done)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.ErrorIs(t, err, types.ErrCanceled)
	var te *types.Error
	require.True(t, errors.As(err, &te))
	assert.Equal(t, types.KindCanceled, te.Kind)
	assert.Zero(t, fake.Pending(), "the canceled waiter stops its timer")
	assert.Equal(t, time.Hour, l.BackoffRemaining(), "cancel does not touch the backoff")
}

func TestWaitWithDeadContextDuringBackoff(t *testing.T) {
	l, _ := newLimiter(t)
	require.True(t, l.ReportRateLimited(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	err := l.Wait(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, types.ErrCanceled)
}

func TestConfigsAreIsolated(t *testing.T) {
	fake := clock.NewFake(epoch)
	a, err := limiter.New(limiter.WithClock(fake))
	require.NoError(t, err)
	b, err := limiter.New(limiter.WithClock(fake))
	require.NoError(t, err)

	require.True(t, a.ReportRateLimited(time.Hour))
	waitingA := waitAsync(context.Background(), a)
	<-fake.BlockUntil(1)

	require.NoError(t, b.Wait(context.Background()))
	p, err := b.Acquire(context.Background(), 1<<20)
	require.NoError(t, err)
	assert.False(t, p.Throttled(), "B is not throttled by A's backoff")
	assert.Equal(t, int64(1<<20), p.Charged())
	p.Release()

	requireBlocked(t, waitingA)
	fake.Advance(time.Hour)
	require.NoError(t, receive(t, waitingA))
}

func TestThrottleWindow(t *testing.T) {
	l, fake := newLimiter(t)
	require.True(t, l.ReportRateLimited(2*time.Second))
	assert.True(t, l.Throttled(), "throttled during the backoff")
	fake.Advance(2 * time.Second)
	assert.Zero(t, l.BackoffRemaining())
	assert.True(t, l.Throttled(), "throttled right after the backoff")
	fake.Advance(limiter.DefaultThrottleWindow - time.Nanosecond)
	assert.True(t, l.Throttled(), "throttled until the window ends")
	fake.Advance(time.Nanosecond)
	assert.False(t, l.Throttled(), "no longer throttled 10 s after the backoff ended")
}

func TestNewValidatesOptions(t *testing.T) {
	cases := map[string]limiter.Option{
		"zero slots":           limiter.WithSlots(0),
		"zero throttled slots": limiter.WithThrottledSlots(0),
		"zero budget":          limiter.WithByteBudget(0),
		"negative window":      limiter.WithThrottleWindow(-time.Second),
		"zero multiplier":      limiter.WithThrottledCostMultiplier(0),
	}
	for name, opt := range cases {
		t.Run(name, func(t *testing.T) {
			l, err := limiter.New(opt)
			assert.Nil(t, l)
			assert.ErrorIs(t, err, types.ErrValidation)
		})
	}
}

func TestSamplingBackoffFor(t *testing.T) {
	cases := []struct {
		retryAfter time.Duration
		bytes      int64
		want       time.Duration
	}{
		{0, 100, time.Second},
		{300 * time.Millisecond, 100, time.Second},
		{3 * time.Second, 100, 3 * time.Second},
		{0, limiter.SamplingLargePromptSize, time.Second},
		{0, limiter.SamplingLargePromptSize + 1, 5 * time.Second},
		{2 * time.Second, 1 << 20, 5 * time.Second},
		{30 * time.Second, 1 << 20, 30 * time.Second},
		{types.MaxRetryAfter, 100, types.MaxRetryAfter},
		{types.MaxRetryAfter + time.Second, 100, time.Second}, // implausible: the floor
		{time.Hour, 1 << 20, 5 * time.Second},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, limiter.SamplingBackoffFor(c.retryAfter, c.bytes), "%+v", c)
	}
}
