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
	// local is the deadline of ReportRateLimited's reports alone (0 = none),
	// in the units of Limiter.now; ApplyFleetBackoff never moves it.
	local atomic.Int64

	ceilMu sync.Mutex // serialises SetCeiling; the reservations below are atomics
	// The reservations of slots and throttled.
	res, resThrottled reservation
}

// reservation is what the limiter holds back from callers in one
// semaphore: reserved, the tokens it holds itself (so no caller can take
// them), and debt, the tokens still to reserve, taken from the next
// releases. Both are one word, so that a release paying the debt moves one
// token from debt to reserved at once: SetCeiling never sees the token in
// neither (it would reserve it twice, leaving the bound one below the
// ceiling until the next SetCeiling).
type reservation struct{ v atomic.Int64 }

const debtMask = 1<<32 - 1

func packReservation(reserved, debt int64) int64 { return reserved<<32 | debt }

func (x *reservation) load() (v, reserved, debt int64) {
	v = x.v.Load()
	return v, v >> 32, v & debtMask
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

// LocalBackoffRemaining returns how long the backoff asked for by this
// process's own reports (ReportRateLimited) still lasts, or 0: a backoff
// learnt from the fleet (ApplyFleetBackoff) does not count, even when it is
// the one in force. A member reports this to the fleet, never
// BackoffRemaining, so that the fleet's deadline is not echoed back to it
// re-based on the receiver's clock, later by the time the message took.
func (l *Limiter) LocalBackoffRemaining() time.Duration {
	d := l.fleet.local.Load()
	if d == 0 {
		return 0
	}
	return max(time.Duration(d-l.now()), 0)
}

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
	s := adjust(l.slots, l.slotCount, slots, &f.res)
	t := adjust(l.throttled, l.throttledCount, throttled, &f.resThrottled)
	return s, t
}

// Bound returns what SetCeiling last returned, updated as releases pay the
// reservation debt.
func (l *Limiter) Bound() (slots, throttled int) {
	_, r, _ := l.fleet.res.load()
	_, rt, _ := l.fleet.resThrottled.load()
	return l.slotCount - int(r), l.throttledCount - int(rt)
}

// adjust moves the reservation x of sem towards size-want tokens.
func adjust(sem chan struct{}, size, want int, x *reservation) int {
	want = min(max(want, 0), size)
	target := int64(size - want)
	// Give back first: forgive debt, then return reserved tokens.
	for {
		v, r, d := x.load()
		if r+d <= target {
			break
		}
		if d > 0 {
			x.v.CompareAndSwap(v, packReservation(r, d-min(d, r+d-target)))
			continue
		}
		if x.v.CompareAndSwap(v, packReservation(r-1, 0)) {
			<-sem // a reserved token is in the buffer, so this never waits
		}
	}
	// Then reserve: free tokens now, the rest from the next releases.
	for {
		v, r, d := x.load()
		if r+d >= target {
			return size - int(r)
		}
		select {
		case sem <- struct{}{}:
			x.v.Add(1 << 32)
			continue
		default:
		}
		x.v.CompareAndSwap(v, packReservation(r, target-r))
	}
}

// keep reports whether a released token pays the reservation debt instead
// of going back to callers; the hot-path cost is one atomic load.
func (x *reservation) keep() bool {
	for {
		v := x.v.Load()
		if v&debtMask == 0 {
			return false
		}
		if x.v.CompareAndSwap(v, v+1<<32-1) { // one token from debt to reserved
			return true
		}
	}
}
