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
	"github.com/tinkex-go/tinkex/types"
)

type acquired struct {
	p   *limiter.Permit
	err error
}

func acquireAsync(ctx context.Context, l *limiter.Limiter, bytes int64) <-chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		p, err := l.Acquire(ctx, bytes)
		ch <- acquired{p, err}
	}()
	return ch
}

// waiters polls until n callers are blocked in l; only the limiter's own
// goroutines can change the count, so this is a sync point, not a timing.
func waiters(t *testing.T, l *limiter.Limiter, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return l.Stats().Waiters == n }, 10*time.Second, time.Millisecond,
		"want %d waiters", n)
}

func got(t *testing.T, ch <-chan acquired) *limiter.Permit {
	t.Helper()
	select {
	case a := <-ch:
		require.NoError(t, a.err)
		return a.p
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Acquire did not return")
		return nil
	}
}

func notYet(t *testing.T, ch <-chan acquired) {
	t.Helper()
	select {
	case a := <-ch:
		require.FailNow(t, "Acquire returned while it should be waiting", "err=%v", a.err)
	default:
	}
}

func TestSlotLimit(t *testing.T) {
	l, _ := newLimiter(t)
	ctx := context.Background()
	held := make([]*limiter.Permit, 0, limiter.DefaultSlots)
	for range limiter.DefaultSlots {
		p, err := l.Acquire(ctx, 0)
		require.NoError(t, err)
		held = append(held, p)
	}
	assert.Equal(t, limiter.DefaultSlots, l.Stats().SlotsInUse)

	next := acquireAsync(ctx, l, 0)
	waiters(t, l, 1)
	notYet(t, next)
	held[0].Release()
	p := got(t, next)
	assert.Equal(t, limiter.DefaultSlots, l.Stats().SlotsInUse)
	p.Release()
	for _, h := range held[1:] {
		h.Release()
	}
	assert.Zero(t, l.Stats().SlotsInUse)
}

func TestThrottledSlotLimitAndWindow(t *testing.T) {
	l, fake := newLimiter(t)
	ctx := context.Background()
	require.True(t, l.ReportRateLimited(time.Second))
	fake.Advance(time.Second) // backoff over, throttle window running

	held := make([]*limiter.Permit, 0, limiter.DefaultThrottledSlots)
	for range limiter.DefaultThrottledSlots {
		p, err := l.Acquire(ctx, 10)
		require.NoError(t, err)
		require.True(t, p.Throttled())
		assert.Equal(t, int64(10*limiter.DefaultThrottledCostMultiple), p.Charged())
		held = append(held, p)
	}
	st := l.Stats()
	assert.Equal(t, limiter.DefaultThrottledSlots, st.ThrottledInUse)
	assert.True(t, st.Throttled)

	next := acquireAsync(ctx, l, 10)
	waiters(t, l, 1)
	notYet(t, next)

	fake.Advance(limiter.DefaultThrottleWindow)
	assert.False(t, l.Throttled())
	free, err := l.Acquire(ctx, 10)
	require.NoError(t, err, "after the window only the 400 slots apply")
	assert.False(t, free.Throttled())
	assert.Equal(t, int64(10), free.Charged())
	free.Release()

	notYet(t, next) // it queued for a throttled slot and still needs one
	held[0].Release()
	p := got(t, next)
	assert.True(t, p.Throttled())
	p.Release()
	for _, h := range held[1:] {
		h.Release()
	}
	st = l.Stats()
	assert.Zero(t, st.ThrottledInUse)
	assert.Zero(t, st.SlotsInUse)
	assert.Zero(t, st.BytesInUse)
}

func TestByteBudget(t *testing.T) {
	l, _ := newLimiter(t, limiter.WithByteBudget(100))
	ctx := context.Background()
	a, err := l.Acquire(ctx, 60)
	require.NoError(t, err)
	b, err := l.Acquire(ctx, 60) // 40 left, not negative: passes, budget goes to -20
	require.NoError(t, err)
	assert.Equal(t, int64(120), l.Stats().BytesInUse)

	c := acquireAsync(ctx, l, 1)
	waiters(t, l, 1)
	notYet(t, c)
	a.Release() // back to 40
	got(t, c).Release()
	b.Release()
	assert.Zero(t, l.Stats().BytesInUse)
}

func TestOversizeRequestPassesAlone(t *testing.T) {
	l, _ := newLimiter(t, limiter.WithByteBudget(100))
	ctx := context.Background()
	big, err := l.Acquire(ctx, 1000)
	require.NoError(t, err, "a request larger than the budget passes when nothing else is held")

	small := acquireAsync(ctx, l, 1)
	waiters(t, l, 1)
	notYet(t, small)
	big.Release()
	got(t, small).Release()
}

func TestThrottledCostExhaustsBudget(t *testing.T) {
	l, fake := newLimiter(t, limiter.WithByteBudget(100))
	ctx := context.Background()
	require.True(t, l.ReportRateLimited(time.Second))
	fake.Advance(time.Second)

	p, err := l.Acquire(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, int64(200), p.Charged(), "10 bytes cost 200 while throttled")
	assert.Equal(t, int64(200), l.Stats().BytesInUse)

	q := acquireAsync(ctx, l, 1)
	waiters(t, l, 1)
	notYet(t, q)
	p.Release()
	got(t, q).Release()
}

func TestAcquireWaitsOutBackoff(t *testing.T) {
	l, fake := newLimiter(t)
	ctx := context.Background()
	require.True(t, l.ReportRateLimited(3*time.Second))
	ch := acquireAsync(ctx, l, 5)
	<-fake.BlockUntil(1)
	notYet(t, ch)
	assert.Zero(t, l.Stats().SlotsInUse, "nothing is held while waiting out a backoff")
	fake.Advance(3 * time.Second)
	p := got(t, ch)
	assert.True(t, p.Throttled())
	p.Release()
}

func TestBackOffReleasesWhileSleeping(t *testing.T) {
	l, fake := newLimiter(t, limiter.WithSlots(1), limiter.WithByteBudget(100))
	ctx := context.Background()
	p, err := l.Acquire(ctx, 80)
	require.NoError(t, err)

	type result struct {
		p   *limiter.Permit
		err error
	}
	done := make(chan result, 1)
	go func() {
		np, err := l.BackOff(ctx, p, 5*time.Second) // this holder got a 429
		done <- result{np, err}
	}()
	<-fake.BlockUntil(1)
	st := l.Stats()
	assert.Zero(t, st.SlotsInUse, "the slot is released while its holder sleeps")
	assert.Zero(t, st.BytesInUse, "the bytes are released while their holder sleeps")
	assert.Equal(t, 5*time.Second, st.BackoffRemaining)

	fake.Advance(5 * time.Second)
	r := <-done
	require.NoError(t, r.err)
	assert.Equal(t, int64(80), r.p.Bytes())
	assert.True(t, r.p.Throttled())
	assert.Equal(t, 1, l.Stats().SlotsInUse)
	p.Release() // the old permit is already released: a no-op
	assert.Equal(t, 1, l.Stats().SlotsInUse)
	r.p.Release()
	r.p.Release()
	assert.Zero(t, l.Stats().SlotsInUse)
	assert.Zero(t, l.Stats().BytesInUse)
}

func TestAcquireCanceledHoldsNothing(t *testing.T) {
	l, _ := newLimiter(t, limiter.WithSlots(1), limiter.WithByteBudget(10))
	bg := context.Background()
	p, err := l.Acquire(bg, 20)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(bg)
	ch := acquireAsync(ctx, l, 1)
	waiters(t, l, 1)
	cancel()
	a := <-ch
	assert.ErrorIs(t, a.err, context.Canceled)
	assert.ErrorIs(t, a.err, types.ErrCanceled)
	assert.Nil(t, a.p)
	p.Release()
	st := l.Stats()
	assert.Zero(t, st.SlotsInUse)
	assert.Zero(t, st.BytesInUse)
	assert.Zero(t, st.Waiters)
}

func TestAcquireValidatesBytes(t *testing.T) {
	l, _ := newLimiter(t)
	for _, n := range []int64{-1, limiter.MaxBytes + 1} {
		p, err := l.Acquire(context.Background(), n)
		assert.Nil(t, p)
		assert.ErrorIs(t, err, types.ErrValidation)
	}
}

// TestHammer runs 1,000 goroutines against one limiter, with backoffs coming
// and going, and checks the slot and throttled-slot bounds on every acquire.
func TestHammer(t *testing.T) {
	const (
		workers   = 1000
		rounds    = 20
		slots     = 40
		throttled = 4
	)
	l, err := limiter.New(limiter.WithSlots(slots), limiter.WithThrottledSlots(throttled),
		limiter.WithByteBudget(4096), limiter.WithThrottleWindow(50*time.Microsecond))
	require.NoError(t, err)

	var inUse, throttledInUse, maxInUse, maxThrottled atomic.Int64
	var violations atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	hold := func(p *limiter.Permit) {
		n := inUse.Add(1)
		if n > slots {
			violations.Add(1)
		}
		raise(&maxInUse, n)
		if p.Throttled() {
			tn := throttledInUse.Add(1)
			if tn > throttled {
				violations.Add(1)
			}
			raise(&maxThrottled, tn)
		}
	}
	drop := func(p *limiter.Permit) {
		inUse.Add(-1)
		if p.Throttled() {
			throttledInUse.Add(-1)
		}
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				p, err := l.Acquire(ctx, int64(w%200))
				if err != nil {
					violations.Add(1)
					return
				}
				hold(p)
				if (w+r)%997 == 0 {
					drop(p)
					p, err = l.BackOff(ctx, p, 20*time.Microsecond)
					if err != nil {
						violations.Add(1)
						return
					}
					hold(p)
				}
				drop(p)
				p.Release()
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, violations.Load())
	assert.LessOrEqual(t, maxInUse.Load(), int64(slots))
	assert.LessOrEqual(t, maxThrottled.Load(), int64(throttled))
	st := l.Stats()
	assert.Zero(t, st.SlotsInUse)
	assert.Zero(t, st.ThrottledInUse)
	assert.Zero(t, st.BytesInUse)
	assert.Zero(t, st.Waiters)
}

func raise(v *atomic.Int64, n int64) {
	for {
		cur := v.Load()
		if n <= cur || v.CompareAndSwap(cur, n) {
			return
		}
	}
}
