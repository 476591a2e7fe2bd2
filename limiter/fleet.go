package limiter

import (
	"sync"
	"sync/atomic"
	"time"
)

// What a fleet of processes sharing one config needs from its limiters (see
// package cluster): a ceiling below the configured slot counts, granted by
// the fleet, and a backoff that flows both ways without echoing. None of it
// is used, and none of it costs more than one atomic load on the hot path,
// unless a cluster attaches.

// fleet is the fleet-facing state of a Limiter.
type fleet struct {
	// onReport is called after ReportRateLimited extended the deadline.
	onReport atomic.Pointer[func(time.Duration)]

	ceilMu sync.Mutex // serialises SetCeiling; the reservations below are atomics
	// reserved counts tokens the limiter itself holds in slots (throttled),
	// so that no caller can take them; debt counts tokens still to be
	// reserved, taken from the next releases.
	reserved, reservedThrottled atomic.Int64
	debt, debtThrottled         atomic.Int64
}

// OnReport sets f to be called, on the reporting goroutine, each time
// ReportRateLimited extends the backoff deadline (a 429 seen in this
// process), with the delay reported. f must not block; nil removes it.
// ApplyFleetBackoff does not call it, so a backoff learnt from the fleet is
// never reported back.
func (l *Limiter) OnReport(f func(time.Duration)) {
	if f == nil {
		l.fleet.onReport.Store(nil)
		return
	}
	l.fleet.onReport.Store(&f)
}

// ApplyFleetBackoff extends the backoff deadline to now+d, exactly like
// ReportRateLimited (extend-only, with the throttle window and the limiter
// actor's telemetry), but without calling the OnReport hook. It reports
// whether the deadline moved.
func (l *Limiter) ApplyFleetBackoff(d time.Duration) bool { return l.extendBackoff(d) }

// SetCeiling lets at most slots dispatches, and at most throttled of them
// while throttled, be in flight from now on, within the configured sizes
// (values are clamped to [0, configured]). Lowering takes effect as holders
// release: the limiter keeps the released slots instead of handing them on,
// so a ceiling is never overshot once reached. It never blocks and returns
// the bound in force now: how many dispatches (throttled dispatches) can be
// in flight at most at this instant, which is above the ceiling only while
// holders from before a lowering are still out.
func (l *Limiter) SetCeiling(slots, throttled int) (boundSlots, boundThrottled int) {
	f := &l.fleet
	f.ceilMu.Lock()
	defer f.ceilMu.Unlock()
	s := adjust(l.slots, l.slotCount, slots, &f.reserved, &f.debt)
	t := adjust(l.throttled, l.throttledCount, throttled, &f.reservedThrottled, &f.debtThrottled)
	return s, t
}

// Bound returns what SetCeiling last returned, updated as releases pay the
// reservation debt.
func (l *Limiter) Bound() (slots, throttled int) {
	return l.slotCount - int(l.fleet.reserved.Load()), l.throttledCount - int(l.fleet.reservedThrottled.Load())
}

// adjust moves the reservation of sem towards size-want tokens.
func adjust(sem chan struct{}, size, want int, reserved, debt *atomic.Int64) int {
	want = min(max(want, 0), size)
	target := int64(size - want)
	// Give back first: forgive debt, then return reserved tokens.
	for {
		r, d := reserved.Load(), debt.Load()
		if r+d <= target {
			break
		}
		if d > 0 {
			debt.CompareAndSwap(d, d-min(d, r+d-target))
			continue
		}
		reserved.Add(-1)
		<-sem // a reserved token is in the buffer, so this never waits
	}
	// Then reserve: free tokens now, the rest from the next releases.
	for reserved.Load()+debt.Load() < target {
		select {
		case sem <- struct{}{}:
			reserved.Add(1)
			continue
		default:
		}
		debt.Add(target - reserved.Load() - debt.Load())
	}
	return size - int(reserved.Load())
}

// keep reports whether a released token pays the reservation debt instead
// of going back to callers; the hot-path cost is one atomic load.
func keep(reserved, debt *atomic.Int64) bool {
	for {
		d := debt.Load()
		if d <= 0 {
			return false
		}
		if debt.CompareAndSwap(d, d-1) {
			reserved.Add(1)
			return true
		}
	}
}
