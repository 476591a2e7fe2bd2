// Package clock is the time source of a tinkex runtime: every backoff,
// poll deadline, restart-intensity window, rate-limit backoff and telemetry
// timestamp reads time and waits on timers through a Clock.
//
// A runtime uses Real unless started with tinkex.WithClock. Implement Clock
// to put tinkex on your own time source, or use NewFake in your tests to
// drive tinkex's retries and backoffs without sleeping: advance it with
// Advance, and use BlockUntil to learn that the code under test has started
// waiting. (testing/synctest works too, with the Real clock.)
package clock

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the source of time for tinkex components.
type Clock interface {
	// Now returns the current time. Real clocks include a monotonic reading.
	Now() time.Time
	// NewTimer returns a timer that fires once after d. A d <= 0 fires at once.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer, like *time.Timer.
type Timer interface {
	// C delivers the fire time once.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether it stopped it.
	Stop() bool
}

// Real is the wall clock.
var Real Clock = realClock{}

// Or returns c, or Real when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

// AfterFuncer is implemented by clocks that can call a function once a
// duration has passed without a goroutine waiting meanwhile (Real and Fake
// do). AfterFunc uses it.
type AfterFuncer interface {
	// AfterFunc calls f in its own goroutine once d has passed. The
	// returned Timer's C is nil; Stop cancels the call if f has not
	// started.
	AfterFunc(d time.Duration, f func()) Timer
}

// AfterFunc calls f in its own goroutine once d has passed on c, and returns
// a Timer whose Stop cancels the call if f has not started (its C is nil).
// Nothing runs while it waits when c implements AfterFuncer, as Real and
// Fake do; for any other Clock a goroutine waits on c.NewTimer(d).
func AfterFunc(c Clock, d time.Duration, f func()) Timer {
	c = Or(c)
	if a, ok := c.(AfterFuncer); ok {
		return a.AfterFunc(d, f)
	}
	w := &waitingFunc{t: c.NewTimer(d), stop: make(chan struct{})}
	go func() {
		select {
		case <-w.t.C():
			if w.state.CompareAndSwap(armed, fired) {
				f()
			}
		case <-w.stop:
		}
	}()
	return w
}

// waitingFunc is AfterFunc's timer on a Clock without AfterFunc. Its state
// decides, once, between f running and Stop winning, so that Stop reports
// false exactly when f runs (as time.AfterFunc's Timer does).
type waitingFunc struct {
	t     Timer
	state atomic.Int32 // armed, then fired or stopped
	stop  chan struct{}
}

const (
	armed int32 = iota
	fired
	stopped
)

func (w *waitingFunc) C() <-chan time.Time { return nil }

func (w *waitingFunc) Stop() bool {
	if !w.state.CompareAndSwap(armed, stopped) {
		return false // f runs (or ran), or Stop was called before
	}
	w.t.Stop()
	close(w.stop)
	return true
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// AfterFunc implements AfterFuncer with time.AfterFunc.
func (realClock) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

// Fake is a manually advanced clock. Its zero value is not usable; call NewFake.
// All methods are safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	waiters []waiter
}

type waiter struct {
	n  int
	ch chan struct{}
}

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// NewTimer returns a timer that fires when the fake time reaches Now()+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, at: f.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.ch <- f.now
		t.fired = true
		return t
	}
	f.timers = append(f.timers, t)
	f.notifyLocked()
	return t
}

// AfterFunc implements AfterFuncer: f runs in its own goroutine once the
// fake time reaches Now()+d (at once for d <= 0). Until then the timer
// counts as pending, as NewTimer's do.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, at: f.now.Add(d), fn: fn}
	if d <= 0 {
		t.fired = true
		go fn()
		return t
	}
	f.timers = append(f.timers, t)
	f.notifyLocked()
	return t
}

// Advance moves the fake time forward by d and fires every timer that is due,
// in deadline order.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	sort.SliceStable(f.timers, func(i, j int) bool { return f.timers[i].at.Before(f.timers[j].at) })
	kept := f.timers[:0]
	for _, t := range f.timers {
		if !t.at.After(f.now) {
			t.fired = true
			if t.fn != nil {
				go t.fn()
			} else {
				t.ch <- f.now
			}
			continue
		}
		kept = append(kept, t)
	}
	f.timers = kept
}

// Set moves the fake time to t (forward only) and fires due timers.
func (f *Fake) Set(t time.Time) {
	if d := t.Sub(f.Now()); d > 0 {
		f.Advance(d)
	}
}

// Pending reports how many timers are armed and not yet fired or stopped.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// BlockUntil returns a channel that is closed once at least n timers are
// pending. Tests use it to know that code is waiting before they Advance.
func (f *Fake) BlockUntil(n int) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	if len(f.timers) >= n {
		close(ch)
		return ch
	}
	f.waiters = append(f.waiters, waiter{n: n, ch: ch})
	return ch
}

func (f *Fake) notifyLocked() {
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if len(f.timers) >= w.n {
			close(w.ch)
			continue
		}
		kept = append(kept, w)
	}
	f.waiters = kept
}

type fakeTimer struct {
	f     *Fake
	at    time.Time
	ch    chan time.Time // nil for an AfterFunc timer
	fn    func()         // an AfterFunc timer's function
	fired bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	if t.fired {
		return false
	}
	for i, o := range t.f.timers {
		if o == t {
			t.f.timers = append(t.f.timers[:i], t.f.timers[i+1:]...)
			return true
		}
	}
	return false
}
