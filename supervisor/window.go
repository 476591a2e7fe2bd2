package supervisor

import "time"

// window is a supervisor's restart history: one sliding window over all its
// children, as in OTP (not per child, as protoactor counts).
type window struct {
	intensity int
	period    time.Duration
	times     []time.Time // oldest first, all within period of the newest
}

// add records a restart at now and reports whether it is allowed, i.e.
// whether at most intensity restarts (this one included) happened within the
// period ending at now. Like OTP, a restart exactly period ago still counts.
func (w *window) add(now time.Time) bool {
	threshold := now.Add(-w.period)
	kept := w.times[:0]
	for _, t := range w.times {
		if !t.Before(threshold) {
			kept = append(kept, t)
		}
	}
	w.times = append(kept, now)
	return len(w.times) <= w.intensity
}

// count returns the restarts recorded within the period ending at now.
func (w *window) count(now time.Time) int {
	threshold := now.Add(-w.period)
	n := 0
	for _, t := range w.times {
		if !t.Before(threshold) {
			n++
		}
	}
	return n
}
