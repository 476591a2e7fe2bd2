package clock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestFakeFiresInOrderOnlyWhenDue(t *testing.T) {
	start := time.Unix(1000, 0)
	f := NewFake(start)
	t2 := f.NewTimer(2 * time.Second)
	t1 := f.NewTimer(time.Second)
	require.Equal(t, 2, f.Pending())

	f.Advance(999 * time.Millisecond)
	select {
	case <-t1.C():
		t.Fatal("fired early")
	default:
	}
	f.Advance(time.Millisecond)
	assert.Equal(t, start.Add(time.Second), <-t1.C())
	assert.Equal(t, 1, f.Pending())
	assert.False(t, t1.Stop(), "a fired timer cannot be stopped")
	assert.True(t, t2.Stop())
	assert.Equal(t, 0, f.Pending())
	f.Advance(time.Hour)
	select {
	case <-t2.C():
		t.Fatal("stopped timer fired")
	default:
	}
}

func TestFakeZeroDurationFiresAtOnce(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	tm := f.NewTimer(0)
	<-tm.C()
	assert.Equal(t, 0, f.Pending())
}

func TestBlockUntil(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	ready := f.BlockUntil(1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-f.NewTimer(time.Minute).C()
	}()
	<-ready
	f.Advance(time.Minute)
	<-done
	f.Set(time.Unix(30, 0)) // backwards: no-op
	assert.Equal(t, time.Unix(60, 0), f.Now())
}

func TestOr(t *testing.T) {
	assert.Equal(t, Real, Or(nil))
	f := NewFake(time.Unix(0, 0))
	assert.Equal(t, Clock(f), Or(f))
	tm := Real.NewTimer(time.Hour)
	assert.True(t, tm.Stop())
	assert.WithinDuration(t, time.Now(), Real.Now(), time.Minute)
}

func TestAfterFuncOnTheFakeRunsWhenDueAndCountsAsPending(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	ran := make(chan time.Time, 2)
	tm := AfterFunc(f, time.Second, func() { ran <- f.Now() })
	assert.Nil(t, tm.C(), "an AfterFunc timer has no channel")
	assert.Equal(t, 1, f.Pending())
	f.Advance(999 * time.Millisecond)
	select {
	case <-ran:
		t.Fatal("ran early")
	default:
	}
	f.Advance(time.Millisecond)
	assert.Equal(t, time.Unix(1, 0), <-ran)
	assert.Equal(t, 0, f.Pending())
	assert.False(t, tm.Stop(), "a timer that fired cannot be stopped")

	stopped := AfterFunc(f, time.Second, func() { ran <- time.Time{} })
	assert.True(t, stopped.Stop())
	f.Advance(time.Hour)
	AfterFunc(f, 0, func() { ran <- f.Now() })
	assert.Equal(t, time.Unix(3601, 0), <-ran, "d <= 0 runs at once")
	select {
	case <-ran:
		t.Fatal("a stopped AfterFunc ran")
	default:
	}
}

func TestAfterFuncOnTheRealClock(t *testing.T) {
	ran := make(chan struct{})
	tm := AfterFunc(Real, time.Millisecond, func() { close(ran) })
	<-ran
	assert.False(t, tm.Stop())
	assert.True(t, AfterFunc(Real, time.Hour, func() { t.Error("a stopped AfterFunc ran") }).Stop())
}

func TestAfterFuncOnAClockWithoutOne(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	c := struct{ Clock }{f} // a Clock without Fake's AfterFunc
	ran := make(chan struct{})
	AfterFunc(c, time.Second, func() { close(ran) })
	<-f.BlockUntil(1)
	f.Advance(time.Second)
	<-ran

	stopped := AfterFunc(c, time.Second, func() { t.Error("a stopped AfterFunc ran") })
	<-f.BlockUntil(1)
	assert.True(t, stopped.Stop())
	assert.False(t, stopped.Stop(), "stopping twice is harmless")
	f.Advance(time.Hour) // the waiting goroutine has ended: goleak checks at exit
}

// On a Clock without AfterFunc, Stop reports false exactly when f runs, also
// when the timer has fired and the waiting goroutine has not yet taken it.
func TestAfterFuncStopFalseMeansFRuns(t *testing.T) {
	c := struct{ Clock }{NewFake(time.Unix(0, 0))}
	for range 1000 {
		done := make(chan struct{})
		tm := AfterFunc(c, 0, func() { close(done) })
		if tm.Stop() {
			continue
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Stop reported false, and f never ran")
		}
	}
}
