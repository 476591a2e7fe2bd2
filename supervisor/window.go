package supervisor

import "time"

// window is a supervisor's restart history: one window over all its
// children, as in OTP (not per child, as protoactor counts), kept exactly as
// OTP's supervisor.erl keeps it. add_restart/1 reads
// erlang:monotonic_time(second), keeps the earlier restarts R with
// R >= Now - Period (inPeriod: Now =< Then + Period) and allows the restart
// while the count, this one included, is =< Intensity. Times are whole
// seconds, so two restarts 5.7 s apart may be 5 whole seconds apart and both
// count in a 5 s period.
type window struct {
	intensity int
	period    int64   // whole seconds, >= 1
	times     []int64 // whole-second readings, oldest first, all within period of the newest
}

func newWindow(intensity int, period time.Duration) window {
	return window{intensity: intensity, period: periodSeconds(period)}
}

// periodSeconds is period in OTP's unit, whole seconds: rounded up, at
// least 1 (OTP requires a positive integer).
func periodSeconds(period time.Duration) int64 {
	s := int64((period + time.Second - 1) / time.Second)
	return max(s, 1)
}

// add records a restart at now and reports whether it is allowed.
func (w *window) add(now time.Time) bool {
	sec := wholeSeconds(now)
	w.prune(sec)
	w.times = append(w.times, sec)
	return len(w.times) <= w.intensity
}

// count returns the restarts recorded within the period ending at now.
func (w *window) count(now time.Time) int {
	threshold := wholeSeconds(now) - w.period
	n := 0
	for _, t := range w.times {
		if t >= threshold {
			n++
		}
	}
	return n
}

// prune drops the restarts older than the period ending at sec. Readings
// never decrease, so the old ones are a prefix.
func (w *window) prune(sec int64) {
	threshold := sec - w.period
	i := 0
	for i < len(w.times) && w.times[i] < threshold {
		i++
	}
	w.times = w.times[i:]
}

// monoOrigin anchors wholeSeconds. Like Erlang's monotonic time, whose
// origin is arbitrary, it is only compared with itself.
var (
	monoOrigin = time.Now()
	monoOffset = time.Duration(monoOrigin.Nanosecond())
)

// wholeSeconds is OTP's erlang:monotonic_time(second) for a Clock reading:
// the floor of the seconds since an origin on a whole wall-clock second at
// process start. A system-clock reading is measured with Go's monotonic
// clock, so wall-clock steps do not move it; a reading without a monotonic
// part (a fake clock's) counts its wall seconds.
func wholeSeconds(t time.Time) int64 {
	d := t.Sub(monoOrigin) + monoOffset
	s := int64(d / time.Second)
	if d < 0 && d%time.Second != 0 {
		s--
	}
	return s
}
