package supervisor

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// OTP: supervisor(3), "Supervision Principles" (more than intensity
// restarts within period seconds and the supervisor gives up); OTP Design
// Principles, "Restart Intensity and Period"; supervisor.erl add_restart/1,
// which reads erlang:monotonic_time(second) and keeps a restart R while
// R >= Now - Period.
func TestWindow(t *testing.T) {
	w := newWindow(2, 5*time.Second)
	assert.True(t, w.add(epoch))
	assert.True(t, w.add(epoch.Add(time.Second)))
	assert.False(t, w.add(epoch.Add(5*time.Second)), "a restart exactly one period ago still counts, as in OTP")
	w = newWindow(2, 5*time.Second)
	assert.True(t, w.add(epoch))
	assert.True(t, w.add(epoch.Add(time.Second)))
	assert.False(t, w.add(epoch.Add(5*time.Second+999*time.Millisecond)), "5.999 s is 5 whole seconds: still within the period")
	w = newWindow(2, 5*time.Second)
	assert.True(t, w.add(epoch.Add(999*time.Millisecond)))
	assert.True(t, w.add(epoch.Add(time.Second)))
	assert.True(t, w.add(epoch.Add(6*time.Second)), "second 0 is 6 whole seconds before second 6: dropped")
	assert.Equal(t, 2, w.count(epoch.Add(6*time.Second)))
	assert.Len(t, w.times, 2, "old restarts are dropped, not kept forever")
	zero := newWindow(0, time.Second)
	assert.False(t, zero.add(epoch), "intensity 0 never restarts")
	assert.Equal(t, int64(1), newWindow(1, time.Nanosecond).period, "OTP's period is at least 1 s")
	assert.Equal(t, int64(2), newWindow(1, 1500*time.Millisecond).period, "a fraction of a second is rounded up")
}

func TestWholeSecondsIsAFloor(t *testing.T) {
	assert.Equal(t, wholeSeconds(epoch), wholeSeconds(epoch.Add(999*time.Millisecond)))
	assert.Equal(t, wholeSeconds(epoch)+1, wholeSeconds(epoch.Add(time.Second)))
	assert.Equal(t, wholeSeconds(epoch)-1, wholeSeconds(epoch.Add(-time.Millisecond)))
	before := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC) // before the origin: floor, not truncation
	assert.Equal(t, wholeSeconds(before)-1, wholeSeconds(before.Add(-time.Millisecond)))
	now := time.Now()
	assert.LessOrEqual(t, wholeSeconds(now), wholeSeconds(time.Now()), "monotonic")
}

// OTP: supervisor(3), "Supervision Principles"; OTP Design Principles,
// "Restart Intensity and Period". Intensity 3 in 5 s, crashes at 0.03,
// 1.93, 3.83 and 5.73 s: in whole seconds they are 0, 1, 3 and 5, and
// 5 - 0 is not more than 5, so OTP counts four restarts in the period and
// gives up at the 4th crash. Measured apart in exact time (5.70 s) the first
// would have left the window.
func TestIntensityCountsWholeSecondsAsOTP(t *testing.T) {
	for _, tt := range []struct {
		name    string
		crashes []time.Duration
		givesUp bool
	}{
		{"gives up at 5.73 s", []time.Duration{30 * time.Millisecond, 1930 * time.Millisecond, 3830 * time.Millisecond, 5730 * time.Millisecond}, true},
		{"goes on at 6.03 s", []time.Duration{30 * time.Millisecond, 1930 * time.Millisecond, 3830 * time.Millisecond, 6030 * time.Millisecond}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sys := newSystem(t)
			rec := newRecorder()
			fake := newFake(epoch)
			sup, err := Start(testCtx(t), sys, "root", OneForOne, workers(rec, "a"), WithClock(fake), WithIntensity(3, 5*time.Second))
			require.NoError(t, err)
			t.Cleanup(func() { _ = sup.Stop(testCtx(t)) })
			mark := rec.mark()
			for i, at := range tt.crashes {
				fake.Set(epoch.Add(at))
				if i < len(tt.crashes)-1 || !tt.givesUp {
					crashAndWait(t, sup, rec, mark, "a", i+1)
					continue
				}
				send(sys, pidOf(t, sup, "a"), crash{value: "4th"})
				awaitDone(t, sup, "OTP gives up at the 4th crash")
				require.ErrorIs(t, sup.Err(), ErrIntensityExceeded)
				return
			}
			infos, err := sup.WhichChildren(testCtx(t))
			require.NoError(t, err)
			assert.Equal(t, 4, infos[0].Restarts)
		})
	}
}

// crashAndWait crashes child id of sup and waits until it has been started
// again (its nth Started since mark).
func crashAndWait(t *testing.T, sup *Supervisor, rec *recorder, mark int, id string, n int) {
	t.Helper()
	send(sup.system, pidOf(t, sup, id), crash{value: "boom"})
	rec.waitFor(t, mark, id+":Started", n)
	synced(t, sup)
}

func TestWindowSlides(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	fake := newFake(epoch)
	sup := startRoot(t, sys, OneForOne, workers(rec, "a"), WithClock(fake)) // 1 in 5 s

	mark := rec.mark()
	for i := 1; i <= 4; i++ {
		crashAndWait(t, sup, rec, mark, "a", i)
		// Whole seconds, as OTP: 6 s apart is always more than the 5 s period.
		fake.Advance(6 * time.Second)
	}
	select {
	case <-sup.Done():
		t.Fatal("gave up although restarts were spaced beyond the period")
	default:
	}
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, 4, infos[0].Restarts)
}

func TestRootGivesUpCleanly(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	fake := newFake(epoch)
	sup := startRoot(t, sys, OneForOne, workers(rec, "a", "b", "c"), WithClock(fake), WithIntensity(1, 5*time.Second))

	mark := rec.mark()
	crashAndWait(t, sup, rec, mark, "b", 1)
	fake.Advance(4 * time.Second)
	mark = rec.mark()
	send(sys, pidOf(t, sup, "b"), crash{value: "again"})
	awaitDone(t, sup, "root did not give up")
	assert.Equal(t, []string{
		"c:Stopping", "c:Stopped", "b:Stopping", "b:Stopped", "a:Stopping", "a:Stopped",
	}, rec.since(mark), "children stopped in reverse start order")

	err := sup.Err()
	var ie *IntensityError
	require.ErrorAs(t, err, &ie)
	assert.Equal(t, "root", ie.Supervisor)
	assert.Equal(t, "b", ie.Child)
	assert.ErrorIs(t, err, ErrIntensityExceeded)
	assert.ErrorIs(t, err, ExitShutdown, "OTP's exit reason for giving up is shutdown")
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "again", pe.Value)

	_, err = sup.WhichChildren(testCtx(t))
	assert.ErrorIs(t, err, ErrStopped)
}

func TestNestedSupervisorGivesUpAndIsRestartedFresh(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	fake := newFake(epoch)
	mid := Sub("mid", OneForOne, workers(rec, "w1", "w2", "w3"))
	sup := startRoot(t, sys, OneForOne, []Spec{worker(rec, "x", Permanent), mid, worker(rec, "y", Permanent)},
		WithClock(fake), WithIntensity(3, 5*time.Second))
	midSup, err := sup.Sub(testCtx(t), "mid")
	require.NoError(t, err)

	mark := rec.mark()
	crashAndWait(t, midSup, rec, mark, "w2", 1)
	mark = rec.mark()
	send(sys, pidOf(t, midSup, "w2"), crash{value: "again"})
	rec.waitFor(t, mark, "w3:Started", 1)
	synced(t, sup)
	assert.Equal(t, []string{
		"w3:Stopping", "w3:Stopped", "w2:Stopping", "w2:Stopped", "w1:Stopping", "w1:Stopped",
		"w1:Started", "w2:Started", "w3:Started",
	}, rec.since(mark), "mid stops its children in reverse order, then its parent restarts it fresh")

	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "x:running mid:running y:running", ids(infos))
	assert.Equal(t, []int{0, 1, 0}, []int{infos[0].Restarts, infos[1].Restarts, infos[2].Restarts})
	midSup, err = sup.Sub(testCtx(t), "mid")
	require.NoError(t, err)
	inner, err := midSup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "w1:running w2:running w3:running", ids(inner))
	assert.Equal(t, 0, inner[1].Restarts, "a fresh supervisor starts from its specs")
}

func TestEscalationChainToRoot(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	never := WithIntensity(0, 5*time.Second)
	leaf := Sub("leaf", OneForOne, workers(rec, "w"), never)
	mid := Sub("mid", OneForOne, []Spec{leaf}, never)
	sup := startRoot(t, sys, OneForOne, []Spec{worker(rec, "other", Permanent), mid}, never)
	midSup, err := sup.Sub(testCtx(t), "mid")
	require.NoError(t, err)
	leafSup, err := midSup.Sub(testCtx(t), "leaf")
	require.NoError(t, err)

	mark := rec.mark()
	send(sys, pidOf(t, leafSup, "w"), crash{value: "boom"})
	awaitDone(t, sup, "the failure did not escalate to the root")
	assert.Equal(t, []string{"w:Stopping", "w:Stopped", "other:Stopping", "other:Stopped"}, rec.since(mark))

	var chain []string
	for err := sup.Err(); err != nil; {
		var ie *IntensityError
		if !errors.As(err, &ie) {
			break
		}
		chain = append(chain, ie.Supervisor+"/"+ie.Child)
		err = ie.Reason
	}
	assert.Equal(t, []string{"root/mid", "mid/leaf", "leaf/w"}, chain)
}

func TestRestartThatFailsToStartCountsAndEscalates(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	starts := 0
	flaky := Spec{ID: "flaky", Start: func() actor.Actor {
		starts++
		return &probe{name: "flaky", rec: rec, failStart: starts > 1}
	}}
	sup := startRoot(t, sys, OneForOne, []Spec{flaky}, WithIntensity(3, time.Minute), observe(rec))
	mark := rec.mark()
	send(sys, pidOf(t, sup, "flaky"), crash{value: "boom"})
	awaitDone(t, sup, "restarts that fail to start did not exhaust the intensity")
	assert.ErrorIs(t, sup.Err(), ErrIntensityExceeded)
	assert.Equal(t, 4, starts, "the first start, then 3 restarts allowed, each failing in Started")
	assert.Equal(t, 3, count(rec.since(mark), "start_error(flaky)"), "each failed restart attempt is reported")
	assert.NotContains(t, rec.since(mark), "child_restarted(flaky)", "a failed restart is not a restart")
}

func TestTransientSupervisorThatGaveUpIsNotRestarted(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	inner := Sub("inner", OneForOne, workers(rec, "w"), WithIntensity(0, time.Second))
	inner.Restart = Transient
	sup := startRoot(t, sys, OneForOne, []Spec{inner, worker(rec, "other", Permanent)}, observe(rec))
	innerSup, err := sup.Sub(testCtx(t), "inner")
	require.NoError(t, err)
	mark := rec.mark()
	send(sys, pidOf(t, innerSup, "w"), crash{value: "boom"})
	rec.waitFor(t, mark, "child_stopped(inner)", 1)
	synced(t, sup)
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "inner:stopped other:running", ids(infos), "giving up is a shutdown exit, as in OTP")
}

func TestSubFuncRebuildsChildrenOnEveryStart(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	var mu sync.Mutex
	kept := workers(rec, "session")
	init := func() []Spec {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(kept)
	}
	svc := SubFunc("service", RestForOne, init, WithIntensity(0, time.Second))
	sup := startRoot(t, sys, OneForOne, []Spec{svc}, observe(rec))
	ctx := testCtx(t)
	svcSup, err := sup.Sub(ctx, "service")
	require.NoError(t, err)
	training := worker(rec, "training", Transient)
	_, err = svcSup.StartChild(ctx, training)
	require.NoError(t, err)
	mu.Lock()
	kept = append(kept, training)
	mu.Unlock()

	mark := rec.mark()
	send(sys, pidOf(t, svcSup, "session"), crash{value: "boom"})
	rec.waitFor(t, mark, "child_restarted(service)", 1)
	assert.Equal(t, []string{
		"training:Stopping", "training:Stopped", "session:Stopping", "session:Stopped",
		"session:Started", "training:Started",
	}, lifecycle(rec.since(mark)), "the dynamic child recorded by init comes back after the supervisor restarts")
}

// OTP: supervisor(3), "Supervision Principles" and supervisor.erl restart/2:
// a restart whose start fails is reported as start_error and tried again as
// a new restart, which counts against the intensity. It is a failed restart,
// not a restart followed by a crash: no child_restarted is reported for it.
func TestRestartThatExitsInStartedIsAFailedRestart(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	var mu sync.Mutex
	starts := 0
	flaky := Spec{ID: "flaky", Start: func() actor.Actor {
		mu.Lock()
		defer mu.Unlock()
		starts++
		p := &probe{name: "flaky", rec: rec}
		if starts > 1 {
			p.exitStart = errors.New("cannot reconnect")
		}
		return p
	}}
	sup := startRoot(t, sys, OneForOne, []Spec{worker(rec, "sibling", Permanent), flaky}, WithIntensity(3, time.Minute), observe(rec))
	mark := rec.mark()
	send(sys, pidOf(t, sup, "flaky"), crash{value: "boom"})
	awaitDone(t, sup, "restarts that fail to start did not exhaust the intensity")
	assert.ErrorIs(t, sup.Err(), ErrIntensityExceeded)
	mu.Lock()
	assert.Equal(t, 4, starts, "the first start, then 3 restarts allowed, each failing in Started")
	mu.Unlock()
	assert.NotContains(t, rec.since(mark), "child_restarted(flaky)")
	assert.Equal(t, 3, count(rec.since(mark), "start_error(flaky)"), "each failed restart attempt is reported")
	assert.Equal(t, 1, count(rec.since(mark), "intensity_exceeded(flaky)"))
}

func count(events []string, ev string) int {
	n := 0
	for _, e := range events {
		if e == ev {
			n++
		}
	}
	return n
}

// blockThenFail blocks in Started until release is closed, then fails its
// start: it panics, or calls Exit with exit when that is set.
type blockThenFail struct {
	entered, release chan struct{}
	exit             error
}

func (b *blockThenFail) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		close(b.entered)
		<-b.release
		if b.exit != nil {
			Exit(ctx, b.exit)
			return
		}
		panic("restart failed")
	}
}

// flaky is a child whose second start (its first restart) blocks in
// Started until release is closed, then fails: with exit, or by panicking
// when exit is nil. Later starts fail in Started too when failLater, else
// succeed.
type flaky struct {
	spec             Spec
	entered, release chan struct{}
	mu               sync.Mutex
	starts           int
}

func newFlaky(rec *recorder, exit error, failLater bool) *flaky {
	f := &flaky{entered: make(chan struct{}), release: make(chan struct{})}
	f.spec = Spec{ID: "flaky", Start: func() actor.Actor {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.starts++
		if f.starts == 2 {
			return &blockThenFail{entered: f.entered, release: f.release, exit: exit}
		}
		return &probe{name: "flaky", rec: rec, failStart: failLater && f.starts > 2}
	}}
	return f
}

// crashIntoItsRestart starts the child under a one_for_one root with
// intensity n an hour, crashes it, and returns once its restart is blocked
// in Started, with the recorder's mark from before the crash.
func (f *flaky) crashIntoItsRestart(t *testing.T, sys *actor.ActorSystem, rec *recorder, n int) (*Supervisor, int) {
	t.Helper()
	sup, err := Start(testCtx(t), sys, "root", OneForOne, []Spec{f.spec}, WithIntensity(n, time.Hour), observe(rec))
	require.NoError(t, err)
	t.Cleanup(func() { _ = sup.Stop(testCtx(t)) })
	mark := rec.mark()
	send(sys, pidOf(t, sup, "flaky"), crash{value: "boom"})
	<-f.entered
	return sup, mark
}

// count returns how many times the child was started.
func (f *flaky) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starts
}

// OTP: supervisor.erl restart/2: a failed restart is tried again through
// try_again_restart, a cast to itself, "leaving control back to gen_server
// before trying again. This way other incoming requests for the supervisor
// can be handled - e.g. a shutdown request for the supervisor or the
// child." A shutdown or a terminate_child queued while a restart is failing
// is handled before the next attempt, and the attempt is then not made
// (try_again_restart finds no restarting child).
func TestQueuedRequestsComeBeforeARetriedRestart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		request any
		exit    error // how the restart fails: nil panics
	}{
		{"shutdown/panic", &shutdownRequest{}, nil},
		{"shutdown/exit", &shutdownRequest{}, errors.New("cannot reconnect")},
		{"terminate_child/panic", &terminateChildRequest{id: "flaky"}, nil},
		{"terminate_child/exit", &terminateChildRequest{id: "flaky"}, errors.New("cannot reconnect")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys, rec := newSystem(t), newRecorder()
			f := newFlaky(rec, tc.exit, true)
			sup, mark := f.crashIntoItsRestart(t, sys, rec, 50)
			// What Stop and TerminateChild send, with no one to answer; the
			// read-only call after it, from the same sender, is answered
			// once the request is queued behind the restart.
			sys.Root.Send(sup.PID(), tc.request)
			_, err := sup.WhichChildren(testCtx(t))
			require.NoError(t, err)
			close(f.release)
			rec.waitFor(t, mark, "start_error(flaky)", 1)

			if _, ok := tc.request.(*shutdownRequest); ok {
				awaitDone(t, sup, "never ended")
				assert.NoError(t, sup.Err(), "shut down, not given up")
			} else {
				synced(t, sup) // queued behind the retry, if any
				infos, err := sup.WhichChildren(testCtx(t))
				require.NoError(t, err)
				assert.Equal(t, "flaky:stopped", ids(infos))
			}
			assert.Equal(t, 2, f.count(), "no attempt after the request")
		})
	}
}

// OTP: delete_child and restart_child of a child whose failed restart waits
// to be tried again return {error, restarting}; the retry goes on and
// starts it.
func TestDeleteAndRestartOfAChildAwaitingARetryAreRefused(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	f := newFlaky(rec, nil, false)
	sup, mark := f.crashIntoItsRestart(t, sys, rec, 5)
	// Both are queued behind the restart in progress (one sender, in
	// order); the restart fails and its retry is queued after them.
	del := sys.Root.RequestFuture(sup.PID(), &deleteChildRequest{id: "flaky"}, 10*time.Second)
	rst := sys.Root.RequestFuture(sup.PID(), &restartChildRequest{id: "flaky"}, 10*time.Second)
	_, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	close(f.release)
	for name, f := range map[string]*actor.Future{"delete_child": del, "restart_child": rst} {
		v, err := f.Result()
		require.NoError(t, err, name)
		r, ok := v.(*reply)
		require.True(t, ok, name)
		assert.ErrorIs(t, r.err, ErrRestarting, name)
	}
	rec.waitFor(t, mark, "start_error(flaky)", 1)
	synced(t, sup)
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "flaky:running", ids(infos), "the retry started it")
	assert.Equal(t, 3, f.count())
}

// OTP: supervisor.erl restart/2 and try_again_restart: a restart that fails
// to start is tried again whatever the child's restart type and the
// failure: it is a failed start, not an exit, so a transient child whose
// start returns a normal reason is started again; a rest_for_one or
// one_for_all restart then starts the rest of the group too.
func TestFailedRestartIsRetriedWhateverTheRestartType(t *testing.T) {
	for _, tc := range []struct {
		strategy Strategy
		crash    string
	}{
		{OneForOne, "b"},
		{RestForOne, "a"},
		{OneForAll, "a"},
	} {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			sys, rec := newSystem(t), newRecorder()
			var mu sync.Mutex
			starts := 0
			b := Spec{ID: "b", Restart: Transient, Start: func() actor.Actor {
				mu.Lock()
				defer mu.Unlock()
				starts++
				p := &probe{name: "b", rec: rec}
				if starts == 2 {
					p.exitStart = ExitNormal
				}
				return p
			}}
			sup := startRoot(t, sys, tc.strategy, []Spec{worker(rec, "a", Permanent), b, worker(rec, "c", Permanent)},
				WithIntensity(5, time.Minute), observe(rec))
			mark := rec.mark()
			send(sys, pidOf(t, sup, tc.crash), crash{value: "boom"})
			rec.waitFor(t, mark, "start_error(b)", 1)
			synced(t, sup) // queued behind the retry
			infos, err := sup.WhichChildren(testCtx(t))
			require.NoError(t, err)
			assert.Equal(t, "a:running b:running c:running", ids(infos))
			assert.Equal(t, 1, count(rec.since(mark), "child_restarted(b)"), "the retry restarted b")
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, 3, starts)
		})
	}
}

// OTP: a child whose failed restart waits to be tried again holds
// {restarting, Pid}: start_child answers already_present (not
// already_started), and count_children does not count it active, since no
// process of it is alive. Its panicked process is still suspended here; it
// is not a live actor either.
func TestAChildAwaitingARetryIsPresentButNotActive(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	f := newFlaky(rec, nil, false)
	hang := make(chan struct{})
	slow := worker(rec, "slow", Permanent, func(p *probe) { p.hang = hang })
	sup, err := Start(testCtx(t), sys, "root", OneForOne, []Spec{f.spec, slow}, WithIntensity(50, time.Hour), observe(rec))
	require.NoError(t, err)
	t.Cleanup(func() { _ = sup.Stop(testCtx(t)) })
	mark := rec.mark()
	send(sys, pidOf(t, sup, "flaky"), crash{value: "boom"})
	<-f.entered

	// Queued behind the restart in progress, in this order: the restart
	// fails, its retry is queued after them, and the stop of slow holds the
	// retry back while it hangs.
	start := sys.Root.RequestFuture(sup.PID(), &startChildRequest{spec: f.spec}, waitBound)
	term := sys.Root.RequestFuture(sup.PID(), &terminateChildRequest{id: "slow"}, waitBound)
	_, err = sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	close(f.release)

	v, err := start.Result()
	require.NoError(t, err)
	r, ok := v.(*reply)
	require.True(t, ok)
	assert.ErrorIs(t, r.err, ErrAlreadyPresent, "a failed restart waiting for its retry")
	assert.Nil(t, r.value, "no pid comes with already_present")
	rec.waitFor(t, mark, "start_error(flaky)", 1)
	rec.waitFor(t, mark, "slow:Stopping", 1)

	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "flaky:restarting slow:running", ids(infos))
	n, err := sup.CountChildren(testCtx(t))
	require.NoError(t, err)
	// slow's stop is in progress and its actor still runs (the supervisor
	// answers reads while it waits on a stop); flaky has none alive.
	assert.Equal(t, Counts{Specs: 2, Active: 1, Workers: 2}, n)

	close(hang)
	_, err = term.Result()
	require.NoError(t, err)
	synced(t, sup) // queued behind the retry
	infos, err = sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "flaky:running slow:stopped", ids(infos), "the retry started it")
	n, err = sup.CountChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, Counts{Specs: 2, Active: 1, Workers: 2}, n)
	_, err = sup.StartChild(testCtx(t), f.spec)
	assert.ErrorIs(t, err, ErrAlreadyStarted, "running again")
}

// OTP: count_children counts a process only while it is alive; a child
// that has crashed is not active, even before its exit is handled.
func TestAPanickedChildIsNotActiveBeforeItsExitIsHandled(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	hang := make(chan struct{})
	sup := startRoot(t, sys, OneForOne, []Spec{
		worker(rec, "slow", Permanent, func(p *probe) { p.hang = hang }),
		worker(rec, "b", Permanent),
	}, WithIntensity(50, time.Hour))
	mark := rec.mark()
	term := sys.Root.RequestFuture(sup.PID(), &terminateChildRequest{id: "slow"}, waitBound)
	rec.waitFor(t, mark, "slow:Stopping", 1)
	send(sys, pidOf(t, sup, "b"), crash{value: "boom"})
	awaitExitArrived(t, sup, "b") // queued behind the stop of slow

	n, err := sup.CountChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, Counts{Specs: 2, Active: 1, Workers: 2}, n, "slow still runs its Stopping; b is down")

	close(hang)
	_, err = term.Result()
	require.NoError(t, err)
	synced(t, sup)
	n, err = sup.CountChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, Counts{Specs: 2, Active: 1, Workers: 2}, n, "b restarted, slow stopped")
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "slow:stopped b:running", ids(infos))
}

// OTP: supervisor.erl restart_multiple_children/3 stops the group (pids
// undefined), and start_children stops at the child whose start fails;
// only that child becomes {restarting, Pid}. The group's later children,
// not yet started again, read as undefined (Stopped) until the retry starts
// them with the rest of the group. (OTP 25.2.3, the same scenario.)
func TestAGroupAfterAFailedRestartIsStoppedUntilTheRetry(t *testing.T) {
	for _, tc := range []struct {
		strategy Strategy
		between  string // WhichChildren while the retry waits
	}{
		{RestForOne, "a:running b:restarting c:stopped"},
		{OneForAll, "a:running b:restarting c:stopped"},
	} {
		t.Run(tc.strategy.String(), func(t *testing.T) {
			sys, rec := newSystem(t), newRecorder()
			var mu sync.Mutex
			starts := 0
			entered, release := make(chan struct{}), make(chan struct{})
			b := Spec{ID: "b", Start: func() actor.Actor {
				mu.Lock()
				defer mu.Unlock()
				starts++
				if starts == 2 {
					return &blockThenFail{entered: entered, release: release, exit: errors.New("fail")}
				}
				return &probe{name: "b", rec: rec}
			}}
			sup := startRoot(t, sys, tc.strategy, []Spec{worker(rec, "a", Permanent), b, worker(rec, "c", Permanent)},
				WithIntensity(5, time.Minute), observe(rec))
			mark := rec.mark()
			send(sys, pidOf(t, sup, "a"), crash{value: "boom"})
			<-entered

			// Queued behind the group restart, so handled before its retry:
			// a dynamic child whose Started blocks holds the retry back.
			lateEntered, lateRelease := make(chan struct{}), make(chan struct{})
			lateStarts := 0
			late := Spec{ID: "late", Start: func() actor.Actor {
				mu.Lock()
				defer mu.Unlock()
				if lateStarts++; lateStarts == 1 {
					return &slowStarter{probe: probe{name: "late", rec: rec}, entered: lateEntered, release: lateRelease}
				}
				return &probe{name: "late", rec: rec} // the retry restarts it with the group
			}}
			start := sys.Root.RequestFuture(sup.PID(), &startChildRequest{spec: late}, waitBound)
			_, err := sup.WhichChildren(testCtx(t))
			require.NoError(t, err)
			close(release)
			rec.waitFor(t, mark, "start_error(b)", 1)
			<-lateEntered

			infos, err := sup.WhichChildren(testCtx(t))
			require.NoError(t, err)
			assert.Equal(t, tc.between+" late:restarting", ids(infos), "late is being started (note h)")
			n, err := sup.CountChildren(testCtx(t))
			require.NoError(t, err)
			assert.Equal(t, Counts{Specs: 4, Active: 2, Workers: 4}, n, "a, and late being started")

			close(lateRelease)
			_, err = start.Result()
			require.NoError(t, err)
			synced(t, sup) // queued behind the retry
			infos, err = sup.WhichChildren(testCtx(t))
			require.NoError(t, err)
			assert.Equal(t, "a:running b:running c:running late:running", ids(infos), "the retry started the group")
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, 2, lateStarts, "late, after b, is in the retried group")
		})
	}
}
