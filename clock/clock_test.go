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
