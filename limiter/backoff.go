package limiter

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// ReportRateLimited records a 429 (or any server push-back) for this config:
// the shared backoff deadline becomes now+d unless it is already later. It
// never shortens a backoff, never blocks, and reports whether it extended
// the deadline. The throttle window is extended to d plus the window.
//
// It runs on the caller's goroutine (an atomic compare-and-swap) so the very
// next Wait on any goroutine sees it, and then tells the limiter actor, if
// one is attached, with a non-blocking send so it can emit telemetry.
// A d <= 0 is ignored.
func (l *Limiter) ReportRateLimited(d time.Duration) bool {
	if d <= 0 {
		return false
	}
	now := l.now()
	// The local deadline records this process's own reports even when the
	// fleet's deadline is already later (see LocalBackoffRemaining).
	extend(&l.fleet.local, now+int64(d))
	if !l.extendBackoffAt(now, d) {
		return false
	}
	if f := l.fleet.onReport.Load(); f != nil {
		(*f)(d)
	}
	return true
}

// extendBackoff is ReportRateLimited without the fleet hook and the local
// deadline.
func (l *Limiter) extendBackoff(d time.Duration) bool {
	if d <= 0 {
		return false
	}
	return l.extendBackoffAt(l.now(), d)
}

func (l *Limiter) extendBackoffAt(now int64, d time.Duration) bool {
	want := now + int64(d)
	if !extend(&l.deadline, want) {
		return false
	}
	extend(&l.throttleUntil, want+int64(l.window))
	if n := l.notify.Load(); n != nil {
		n.root.Send(n.pid, &backoffReported{delay: d, until: want})
	}
	return true
}

// extend moves v forward to want and reports whether it did.
func extend(v *atomic.Int64, want int64) bool {
	for {
		cur := v.Load()
		if cur >= want {
			return false
		}
		if v.CompareAndSwap(cur, want) {
			return true
		}
	}
}

// Wait blocks while a backoff is active and returns nil once its deadline
// has passed, re-checking because the deadline may have been extended
// meanwhile. With no backoff active it returns nil at once, without reading
// the clock or ctx. If ctx ends first it returns a KindCanceled *types.Error
// that also matches ctx's error with errors.Is.
func (l *Limiter) Wait(ctx context.Context) error {
	if l.deadline.Load() == 0 {
		return nil
	}
	return l.waitSlow(ctx)
}

func (l *Limiter) waitSlow(ctx context.Context) error {
	for {
		d := l.deadline.Load()
		if d == 0 {
			return nil
		}
		now := l.now()
		if now >= d {
			l.deadline.CompareAndSwap(d, 0)
			return nil
		}
		if err := ctx.Err(); err != nil {
			return types.CanceledError("limiter wait", ctx.Err())
		}
		t := l.clk.NewTimer(time.Duration(d - now))
		l.waiters.Add(1)
		select {
		case <-t.C():
			l.waiters.Add(-1)
		case <-ctx.Done():
			l.waiters.Add(-1)
			t.Stop()
			return types.CanceledError("limiter wait", ctx.Err())
		}
	}
}

// BackoffRemaining returns how long the current backoff still lasts, or 0.
func (l *Limiter) BackoffRemaining() time.Duration {
	if l.deadline.Load() == 0 {
		return 0
	}
	return l.remainingAt(l.now())
}

// Throttled reports whether the limiter is throttled: during a backoff and
// for the throttle window after it ends.
func (l *Limiter) Throttled() bool {
	if l.throttleUntil.Load() == 0 {
		return false
	}
	return l.throttledAt(l.now())
}

func (l *Limiter) remainingAt(now int64) time.Duration {
	d := l.deadline.Load()
	if d == 0 {
		return 0
	}
	if now >= d {
		l.deadline.CompareAndSwap(d, 0)
		return 0
	}
	return time.Duration(d - now)
}

func (l *Limiter) throttledAt(now int64) bool {
	t := l.throttleUntil.Load()
	if t == 0 {
		return false
	}
	if now >= t {
		l.throttleUntil.CompareAndSwap(t, 0)
		return false
	}
	return true
}

// Sampling 429 backoff floors (BEHAVIOR "Sampling 429 backoff").
const (
	SamplingBackoff         = time.Second
	SamplingBackoffLarge    = 5 * time.Second
	SamplingLargePromptSize = 128 << 10 // bytes of prompt estimate above which the large floor applies
)

// SamplingBackoffFor is the sampling 429 rule, in this one place: how long
// a sampler backs off after a 429. It is the server's Retry-After (0 when
// absent), but at least 1 s, or 5 s when the prompt estimate is over
// 128 KiB; a hint above types.MaxRetryAfter is implausible and ignored (the
// floor applies).
func SamplingBackoffFor(retryAfter time.Duration, promptBytes int64) time.Duration {
	floor := SamplingBackoff
	if promptBytes > SamplingLargePromptSize {
		floor = SamplingBackoffLarge
	}
	if retryAfter > types.MaxRetryAfter {
		retryAfter = 0
	}
	return max(retryAfter, floor)
}
