package limiter_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/limiter"
)

func TestSetCeilingLowersAtOnceWhenSlotsAreFree(t *testing.T) {
	l, err := limiter.New(limiter.WithSlots(4), limiter.WithThrottledSlots(2))
	require.NoError(t, err)
	s, th := l.SetCeiling(1, 0)
	assert.Equal(t, 1, s)
	assert.Equal(t, 0, th)
	ctx := context.Background()
	p := got(t, acquireAsync(ctx, l, 0))
	second := acquireAsync(ctx, l, 0)
	waiters(t, l, 1) // the ceiling of 1 holds the second caller
	s, _ = l.SetCeiling(2, 0)
	assert.Equal(t, 2, s)
	q := got(t, second)
	p.Release()
	q.Release()
	s, th = l.Bound()
	assert.Equal(t, 2, s)
	assert.Equal(t, 0, th)
	s, th = l.SetCeiling(99, 99) // clamped to the configured sizes
	assert.Equal(t, 4, s)
	assert.Equal(t, 2, th)
}

func TestSetCeilingBelowHoldersTakesEffectAsTheyRelease(t *testing.T) {
	l, err := limiter.New(limiter.WithSlots(3))
	require.NoError(t, err)
	ctx := context.Background()
	held := []*limiter.Permit{got(t, acquireAsync(ctx, l, 0)), got(t, acquireAsync(ctx, l, 0)), got(t, acquireAsync(ctx, l, 0))}
	s, _ := l.SetCeiling(1, 10)
	assert.Equal(t, 3, s, "three holders are still out")
	held[0].Release()
	s, _ = l.Bound()
	assert.Equal(t, 2, s, "the released slot is kept, not handed on")
	next := acquireAsync(ctx, l, 0)
	held[1].Release()
	waiters(t, l, 1)
	s, _ = l.Bound()
	assert.Equal(t, 1, s)
	held[2].Release()
	p := got(t, next) // the one slot under the ceiling
	p.Release()
	assert.Equal(t, 0, l.Stats().SlotsInUse)
}

func TestThrottledCeilingOfZeroHoldsThrottledCallers(t *testing.T) {
	l, err := limiter.New(limiter.WithSlots(4), limiter.WithThrottledSlots(2), limiter.WithThrottleWindow(time.Hour))
	require.NoError(t, err)
	l.SetCeiling(4, 0)
	l.ApplyFleetBackoff(time.Nanosecond) // throttled for the window, backoff already over
	require.True(t, l.Throttled())
	ctx, cancel := context.WithCancel(context.Background())
	ch := acquireAsync(ctx, l, 0)
	waiters(t, l, 1)
	cancel()
	assert.Error(t, (<-ch).err)
	l.SetCeiling(4, 1)
	p := got(t, acquireAsync(context.Background(), l, 0))
	assert.True(t, p.Throttled())
	p.Release()
}

func TestOnReportSeesLocalReportsOnly(t *testing.T) {
	l, err := limiter.New()
	require.NoError(t, err)
	var reported []time.Duration
	l.OnReport(func(d time.Duration) { reported = append(reported, d) })
	assert.True(t, l.ApplyFleetBackoff(time.Hour), "a fleet backoff extends")
	assert.Empty(t, reported, "a fleet backoff is not reported back")
	assert.False(t, l.ReportRateLimited(time.Second), "shorter: no extension, no report")
	assert.True(t, l.ReportRateLimited(2*time.Hour))
	assert.Equal(t, []time.Duration{2 * time.Hour}, reported)
	l.OnReport(nil)
	l.ReportRateLimited(3 * time.Hour)
	assert.Len(t, reported, 1)
	assert.Greater(t, l.BackoffRemaining(), 2*time.Hour)
}

// The backoff of this process's own 429s is kept apart from the fleet's,
// so a member reports only what it saw itself: the fleet's deadline is not
// counted even while it is the one in force, and an own report that does
// not extend the deadline is still recorded.
func TestLocalBackoffRemainingCountsOwnReportsOnly(t *testing.T) {
	l, fake := newLimiter(t)
	assert.Zero(t, l.LocalBackoffRemaining())
	require.True(t, l.ApplyFleetBackoff(time.Minute))
	assert.Zero(t, l.LocalBackoffRemaining(), "a fleet backoff is not local")
	assert.Equal(t, time.Minute, l.BackoffRemaining())

	assert.False(t, l.ReportRateLimited(10*time.Second), "shorter than the fleet's: no extension")
	assert.Equal(t, 10*time.Second, l.LocalBackoffRemaining(), "but it is this process's own backoff")
	assert.False(t, l.ReportRateLimited(0))
	assert.False(t, l.ReportRateLimited(-time.Second))
	assert.Equal(t, 10*time.Second, l.LocalBackoffRemaining(), "a non-positive report changes nothing")

	fake.Advance(4 * time.Second)
	assert.Equal(t, 6*time.Second, l.LocalBackoffRemaining())
	assert.False(t, l.ReportRateLimited(time.Second), "the local deadline only extends")
	assert.Equal(t, 6*time.Second, l.LocalBackoffRemaining())
	require.True(t, l.ApplyFleetBackoff(2*time.Minute))
	assert.Equal(t, 6*time.Second, l.LocalBackoffRemaining(), "the fleet never moves it")

	fake.Advance(6 * time.Second)
	assert.Zero(t, l.LocalBackoffRemaining(), "over when the own 429 said")
	assert.Equal(t, 2*time.Minute-6*time.Second, l.BackoffRemaining(), "the fleet's still holds")
	fake.Advance(time.Hour)
	assert.Zero(t, l.LocalBackoffRemaining())
}

// Callers acquiring and releasing while the ceiling moves up and down never
// hold more slots than the bound in force, and every token comes back: at
// the end the full size is available again.
func TestCeilingUnderConcurrentUseConservesSlots(t *testing.T) {
	const size = 16
	l, err := limiter.New(limiter.WithSlots(size))
	require.NoError(t, err)
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var over atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				p, err := l.Acquire(ctx, 0)
				if err != nil {
					over.Add(1)
					return
				}
				if bound, _ := l.Bound(); l.Stats().SlotsInUse > size || bound < 0 {
					over.Add(1)
				}
				p.Release()
			}
		}()
	}
	for i := range 2000 {
		c := 1 + i%size
		l.SetCeiling(c, 10)
		if i%100 == 0 {
			// Once the bound has come down to the ceiling (the holders
			// from before have released), no more than c are in flight.
			require.Eventually(t, func() bool { b, _ := l.Bound(); return b == c }, 10*time.Second, time.Microsecond)
			for range 100 {
				assert.LessOrEqual(t, l.Stats().SlotsInUse, c)
			}
		}
	}
	l.SetCeiling(size, 10)
	close(stop)
	wg.Wait()
	assert.Zero(t, over.Load())
	s, _ := l.Bound()
	assert.Equal(t, size, s, "every reserved slot came back")
	var held []*limiter.Permit
	for range size {
		held = append(held, got(t, acquireAsync(ctx, l, 0)))
	}
	assert.Equal(t, size, l.Stats().SlotsInUse)
	for _, p := range held {
		p.Release()
	}
}
