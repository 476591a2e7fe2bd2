package limiter

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/tinkex-go/tinkex/types"
)

// MaxBytes is the largest byte estimate Acquire accepts (1 TiB); larger
// values are certainly a bug in the caller's estimate.
const MaxBytes = 1 << 40

// Permit is the right to dispatch one request: one dispatch slot, one
// throttled slot when the limiter was throttled at acquisition, and the
// request's byte cost. Release it when the submit phase is over (it is not
// meant to be held while polling for results).
type Permit struct {
	l         *Limiter
	requested int64
	charged   int64
	throttled bool
	released  atomic.Bool
}

// Bytes returns the byte estimate the permit was acquired for.
func (p *Permit) Bytes() int64 { return p.requested }

// Charged returns the bytes taken from the budget: Bytes, multiplied by the
// throttled cost multiplier when the permit was acquired while throttled.
func (p *Permit) Charged() int64 { return p.charged }

// Throttled reports whether the permit was acquired while throttled (and so
// holds a throttled slot and a multiplied byte cost).
func (p *Permit) Throttled() bool { return p.throttled }

// Release gives the slots and bytes back and wakes waiters. It is safe to
// call more than once and on a nil *Permit; only the first call counts.
func (p *Permit) Release() {
	if p == nil || !p.released.CompareAndSwap(false, true) {
		return
	}
	l := p.l
	l.giveBytes(p.charged)
	l.slotsHeld.Add(-1)
	if !l.fleet.res.keep() {
		<-l.slots
	}
	if p.throttled {
		l.throttledHeld.Add(-1)
		if !l.fleet.resThrottled.keep() {
			<-l.throttled
		}
	}
}

// Acquire waits out any active backoff, then takes a dispatch slot, a
// throttled slot as well when the limiter is throttled, and bytes from the
// byte budget (bytes × the throttled cost multiplier when throttled). The
// budget follows the Python SDK's BytesSemaphore: a caller waits only while
// the remaining budget is negative, so a request larger than the whole
// budget still passes when it is alone. If a backoff starts while the caller
// is queued for slots or bytes, Acquire gives everything back and waits the
// backoff out before trying again, so queued callers do not stampede the
// server the moment a slot frees up during a backoff.
//
// It fails with a KindValidation *types.Error for bytes outside [0,
// MaxBytes], and with a KindCanceled one (matching ctx's error with
// errors.Is) when ctx ends first; it then holds nothing.
func (l *Limiter) Acquire(ctx context.Context, bytes int64) (*Permit, error) {
	if bytes < 0 || bytes > MaxBytes {
		return nil, types.ValidationError("limiter acquire", "byte estimate %d is outside [0, %d]", bytes, int64(MaxBytes))
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, types.CanceledError("limiter acquire", ctx.Err())
		}
		if err := l.Wait(ctx); err != nil {
			return nil, err
		}
		p := &Permit{l: l, requested: bytes, charged: bytes, throttled: l.Throttled()}
		if p.throttled {
			p.charged = bytes * l.multiplier
			if err := l.takeSlot(ctx, l.throttled, &l.throttledHeld); err != nil {
				return nil, err
			}
		}
		if err := l.takeSlot(ctx, l.slots, &l.slotsHeld); err != nil {
			if p.throttled {
				l.throttledHeld.Add(-1)
				<-l.throttled
			}
			return nil, err
		}
		if err := l.takeBytes(ctx, p.charged); err != nil {
			p.charged = 0
			p.Release()
			return nil, err
		}
		if l.deadline.Load() != 0 && l.BackoffRemaining() > 0 {
			p.Release()
			continue
		}
		return p, nil
	}
}

// BackOff is what a holder does after a 429: it reports the backoff d (see
// ReportRateLimited), releases p so its slots and bytes serve others while it
// sleeps, waits the backoff out and acquires a fresh permit for the same
// byte estimate. On error p is released and the returned permit is nil.
func (l *Limiter) BackOff(ctx context.Context, p *Permit, d time.Duration) (*Permit, error) {
	l.ReportRateLimited(d)
	var bytes int64
	if p != nil {
		bytes = p.requested
		p.Release()
	}
	return l.Acquire(ctx, bytes)
}

func (l *Limiter) takeSlot(ctx context.Context, sem chan struct{}, held *atomic.Int64) error {
	select {
	case sem <- struct{}{}:
		held.Add(1)
		return nil
	default:
	}
	l.waiters.Add(1)
	defer l.waiters.Add(-1)
	select {
	case sem <- struct{}{}:
		held.Add(1)
		return nil
	case <-ctx.Done():
		return types.CanceledError("limiter acquire", ctx.Err())
	}
}

func (l *Limiter) takeBytes(ctx context.Context, cost int64) error {
	return l.bytes.take(ctx, cost, &l.waiters)
}

func (l *Limiter) giveBytes(cost int64) { l.bytes.give(cost) }
