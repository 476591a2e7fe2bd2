package supervisor

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func significant(s Spec) Spec {
	s.Significant = true
	return s
}

// OTP: supervisor(3), "sup_flags()", auto_shutdown any_significant: the
// supervisor shuts itself down (reason shutdown, children stopped in
// reverse start order) when any significant child terminates by itself:
// a transient one normally, a temporary one for any reason. A transient
// one that crashes is restarted, and a termination the supervisor causes
// (terminate_child) never triggers it.
func TestAutoShutdownAnySignificant(t *testing.T) {
	for _, tt := range []struct {
		name     string
		rt       RestartType
		act      func(t *testing.T, sup *Supervisor)
		shutdown bool
	}{
		{"transient exits normally", Transient, func(t *testing.T, sup *Supervisor) {
			send(sup.system, pidOf(t, sup, "sig"), exitWith{reason: ExitNormal})
		}, true},
		{"temporary crashes", Temporary, func(t *testing.T, sup *Supervisor) { send(sup.system, pidOf(t, sup, "sig"), crash{value: "boom"}) }, true},
		{"transient crashes and is restarted", Transient, func(t *testing.T, sup *Supervisor) { send(sup.system, pidOf(t, sup, "sig"), crash{value: "boom"}) }, false},
		{"terminated by its supervisor", Transient, func(t *testing.T, sup *Supervisor) { require.NoError(t, sup.TerminateChild(testCtx(t), "sig")) }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sys := newSystem(t)
			rec := newRecorder()
			sup, err := Start(testCtx(t), sys, "root", OneForOne,
				[]Spec{worker(rec, "a", Permanent), significant(worker(rec, "sig", tt.rt)), worker(rec, "c", Permanent)},
				WithAutoShutdown(AnySignificant), WithIntensity(3, time.Minute), observe(rec))
			require.NoError(t, err)
			t.Cleanup(func() { _ = sup.Stop(testCtx(t)) })
			mark := rec.mark()
			tt.act(t, sup)
			if !tt.shutdown {
				synced(t, sup)
				select {
				case <-sup.Done():
					t.Fatal("the supervisor shut down")
				default:
				}
				return
			}
			awaitDone(t, sup, "no auto shutdown")
			assert.ErrorIs(t, sup.Err(), ExitShutdown)
			assert.NotErrorIs(t, sup.Err(), ErrIntensityExceeded)
			assert.Equal(t, []string{"c:Stopping", "c:Stopped", "a:Stopping", "a:Stopped"},
				slicesWithout(lifecycle(rec.since(mark)), "sig:"), "siblings stopped in reverse start order")
		})
	}
}

// slicesWithout drops the events of the child whose name starts prefix.
func slicesWithout(events []string, prefix string) []string {
	var out []string
	for _, e := range events {
		if len(e) < len(prefix) || e[:len(prefix)] != prefix {
			out = append(out, e)
		}
	}
	return out
}

// OTP: supervisor(3), "sup_flags()", auto_shutdown all_significant: the
// supervisor shuts down when the last active significant child terminates
// by itself.
func TestAutoShutdownAllSignificant(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	sup, err := Start(testCtx(t), sys, "root", OneForOne,
		[]Spec{worker(rec, "a", Permanent), significant(worker(rec, "s1", Temporary)), significant(worker(rec, "s2", Transient))},
		WithAutoShutdown(AllSignificant), observe(rec))
	require.NoError(t, err)
	t.Cleanup(func() { _ = sup.Stop(testCtx(t)) })
	mark := rec.mark()
	send(sys, pidOf(t, sup, "s1"), exitWith{reason: ExitNormal})
	rec.waitFor(t, mark, "child_stopped(s1)", 1)
	synced(t, sup)
	select {
	case <-sup.Done():
		t.Fatal("shut down while s2 runs")
	default:
	}
	send(sys, pidOf(t, sup, "s2"), exitWith{reason: ExitShutdown})
	awaitDone(t, sup, "no auto shutdown after the last significant child")
	assert.ErrorIs(t, sup.Err(), ExitShutdown)
}

// OTP: supervisor(3), "sup_flags()" and "child_spec()": significant is
// invalid for a permanent child (bad_combination) and under auto_shutdown
// never; an auto-shut-down supervisor exits with shutdown, so its parent
// does not restart it when it is transient.
func TestSignificantRulesAndNestedAutoShutdown(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	_, err := Start(testCtx(t), sys, "bad", OneForOne, []Spec{significant(worker(rec, "p", Permanent))}, WithAutoShutdown(AnySignificant))
	assert.ErrorIs(t, err, ErrInvalidSpec)
	_, err = Start(testCtx(t), sys, "bad", OneForOne, []Spec{significant(worker(rec, "t", Transient))})
	assert.ErrorIs(t, err, ErrInvalidSpec, "auto_shutdown never accepts no significant child")
	_, err = Start(testCtx(t), sys, "bad", OneForOne, nil, WithAutoShutdown(AutoShutdown(7)))
	assert.ErrorIs(t, err, ErrInvalidSpec)

	job := Sub("job", OneForOne, []Spec{significant(worker(rec, "task", Transient))}, WithAutoShutdown(AnySignificant))
	job.Restart = Transient
	sup := startRoot(t, sys, OneForOne, []Spec{job, worker(rec, "other", Permanent)}, observe(rec))
	_, err = sup.StartChild(testCtx(t), significant(worker(rec, "x", Transient)))
	assert.ErrorIs(t, err, ErrInvalidSpec, "the root has auto_shutdown never")
	jobSup, err := sup.Sub(testCtx(t), "job")
	require.NoError(t, err)
	mark := rec.mark()
	send(sys, pidOf(t, jobSup, "task"), exitWith{reason: ExitNormal})
	rec.waitFor(t, mark, "child_stopped(job)", 1)
	synced(t, sup)
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "job:stopped other:running", ids(infos))
	assert.Equal(t, "never", Never.String())
	assert.Equal(t, "all_significant", AllSignificant.String())
}

// OTP: supervisor(3), "start_child/2" and "Module:init/1": a start function
// that returns ignore is not an error; the child is not running and its
// spec is kept, except a temporary child's, which is discarded.
func TestIgnore(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	ign := func(p *probe) { p.ignore = true }
	sup := startRoot(t, sys, OneForOne, []Spec{worker(rec, "a", Permanent), worker(rec, "skip", Permanent, ign), worker(rec, "tmp", Temporary, ign)}, observe(rec))
	ctx := testCtx(t)
	infos, err := sup.WhichChildren(ctx)
	require.NoError(t, err)
	assert.Equal(t, "a:running skip:stopped", ids(infos))

	mark := rec.mark()
	pid, err := sup.StartChild(ctx, worker(rec, "dyn", Transient, ign))
	require.NoError(t, err)
	assert.Nil(t, pid)
	pid, err = sup.StartChild(ctx, worker(rec, "dyntmp", Temporary, ign))
	require.NoError(t, err)
	assert.Nil(t, pid)
	synced(t, sup)
	infos, err = sup.WhichChildren(ctx)
	require.NoError(t, err)
	assert.Equal(t, "a:running skip:stopped dyn:stopped", ids(infos))
	assert.NotContains(t, rec.since(mark), "start_error(dyn)")
	assert.NotContains(t, rec.since(mark), "child_restarted(dyn)")
	assert.Equal(t, []string{"dyn:Started", "dyn:Stopping", "dyn:Stopped", "dyntmp:Started", "dyntmp:Stopping", "dyntmp:Stopped"},
		lifecycle(rec.since(mark)))
	assert.ErrorIs(t, errIgnored, ExitNormal, "Ignore after Started is a normal exit")
}

// OTP: supervisor(3), "get_childspec/2": the child specification map of
// the child, or {error, not_found}.
func TestGetChildSpec(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	w := worker(rec, "w", Transient)
	w.Shutdown = 3 * time.Second
	sup := startRoot(t, sys, OneForOne, []Spec{w, Sub("s", RestForOne, nil)})
	ctx := testCtx(t)
	spec, err := sup.GetChildSpec(ctx, "w")
	require.NoError(t, err)
	assert.Equal(t, "w", spec.ID)
	assert.Equal(t, Transient, spec.Restart)
	assert.Equal(t, 3*time.Second, spec.Shutdown)
	spec, err = sup.GetChildSpec(ctx, "s")
	require.NoError(t, err)
	assert.Equal(t, KindSupervisor, spec.Kind)
	_, err = sup.GetChildSpec(ctx, "nope")
	assert.ErrorIs(t, err, ErrNotFound)
	var se *Error
	require.True(t, errors.As(err, &se))
	assert.Equal(t, "get_childspec", se.Op)
}

// OTP: supervisor(3), "which_children/1" lists the children last started
// first. This package lists them in start order, the order Tree shows and
// strategies use (a documented difference, see doc.go); dynamic children
// come after the static ones, as they were started after them.
func TestWhichChildrenIsInStartOrder(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	sup := startRoot(t, sys, OneForOne, workers(rec, "a", "b"))
	_, err := sup.StartChild(testCtx(t), worker(rec, "c", Permanent))
	require.NoError(t, err)
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "a:running b:running c:running", ids(infos))
}

// exitsBehindAStop: while a TerminateChild of slow (a first child that hangs
// in Stopping) waits, child x1 gets m1 and, once its exit is reported, x2
// gets m2; then slow is released, so both exits are queued behind the stop,
// in that order. It returns once the supervisor has handled them, and
// reports whether it shut itself down.
func exitsBehindAStop(t *testing.T, strategy Strategy, auto AutoShutdown, children func(*recorder) []Spec,
	x1 string, m1 any, x2 string, m2 any,
) (sup *Supervisor, shut bool) {
	t.Helper()
	sys, rec, hang := newSystem(t), newRecorder(), make(chan struct{})
	slow := worker(rec, "slow", Permanent, func(p *probe) { p.hang = hang })
	slow.Shutdown = Infinity
	sup, err := Start(testCtx(t), sys, "root", strategy, append([]Spec{slow}, children(rec)...),
		WithAutoShutdown(auto), WithIntensity(3, time.Minute), observe(rec))
	require.NoError(t, err)
	t.Cleanup(func() { _ = sup.Stop(testCtx(t)) })
	mark, done := rec.mark(), make(chan error, 1)
	go func() { done <- sup.TerminateChild(testCtx(t), "slow") }()
	rec.waitFor(t, mark, "slow:Stopping", 1)
	send(sys, pidOf(t, sup, x1), m1)
	awaitExitArrived(t, sup, x1)
	send(sys, pidOf(t, sup, x2), m2)
	awaitExitArrived(t, sup, x2)
	close(hang)
	require.NoError(t, <-done)
	_ = sup.sync(testCtx(t)) // fails once the supervisor has shut down
	select {
	case <-sup.Done():
		t.Logf("auto-shut down: %v", sup.Err())
		return sup, true
	default:
		return sup, false
	}
}

// OTP: supervisor.erl do_auto_shutdown/2, all_significant: the supervisor
// shuts down once no significant child has a pid, and a child's pid is
// cleared only when its EXIT is handled. A significant child whose exit is
// still queued runs: s1's exit does not shut the supervisor down, and s2's
// abnormal exit, handled next, restarts s2.
func TestAllSignificantCountsAChildWithAQueuedExitAsRunning(t *testing.T) {
	sup, shut := exitsBehindAStop(t, OneForOne, AllSignificant, func(rec *recorder) []Spec {
		return []Spec{significant(worker(rec, "s1", Temporary)), significant(worker(rec, "s2", Transient))}
	}, "s1", crash{value: "boom"}, "s2", exitWith{reason: errors.New("lost")})
	require.False(t, shut, "s2's exit was still queued")
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "slow:stopped s2:running", ids(infos))
}

// OTP: supervisor.erl restart/2 leaves a child whose restart failed with
// the pid {restarting, Old}, not undefined, until try_again_restart: for
// all_significant it still runs. Here s1 exits while s2's restart is
// failing; s1's exit, handled before the retry, does not shut the
// supervisor down, and the retry starts s2.
func TestAllSignificantCountsAChildAwaitingARetryAsRunning(t *testing.T) {
	sys, rec := newSystem(t), newRecorder()
	var mu sync.Mutex
	starts, entered, release := 0, make(chan struct{}), make(chan struct{})
	s2 := significant(Spec{ID: "s2", Restart: Transient, Start: func() actor.Actor {
		mu.Lock()
		defer mu.Unlock()
		starts++
		if starts == 2 {
			return &blockThenFail{entered: entered, release: release, exit: errors.New("cannot reconnect")}
		}
		return &probe{name: "s2", rec: rec}
	}})
	sup, err := Start(testCtx(t), sys, "root", OneForOne, []Spec{significant(worker(rec, "s1", Temporary)), s2},
		WithAutoShutdown(AllSignificant), WithIntensity(3, time.Minute), observe(rec))
	require.NoError(t, err)
	t.Cleanup(func() { _ = sup.Stop(testCtx(t)) })
	mark := rec.mark()
	send(sys, pidOf(t, sup, "s2"), crash{value: "boom"})
	<-entered
	send(sys, pidOf(t, sup, "s1"), exitWith{reason: errors.New("bye")})
	awaitExitArrived(t, sup, "s1")
	close(release)
	rec.waitFor(t, mark, "start_error(s2)", 1)
	synced(t, sup)                                  // queued behind s1's exit and the retry
	rec.waitFor(t, mark, "child_terminated(s1)", 1) // reported as it was handled
	select {
	case <-sup.Done():
		t.Fatalf("auto-shut down: %v", sup.Err())
	default:
	}
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "s2:running", ids(infos))
}

// OTP: supervisor.erl restart/3 (one_for_all, rest_for_one) terminates the
// group with terminate_children/2, whose shutdown/1 consumes the EXIT of a
// child that died first (unlink_flush) and which removes a temporary child:
// its exit is never handled on its own. Here tmp's exit, queued behind a's,
// is absorbed by a's group restart, so it does not trigger
// any_significant, and tmp is forgotten.
func TestGroupRestartAbsorbsASiblingsQueuedExit(t *testing.T) {
	for _, strategy := range []Strategy{OneForAll, RestForOne} {
		t.Run(strategy.String(), func(t *testing.T) {
			sup, shut := exitsBehindAStop(t, strategy, AnySignificant, func(rec *recorder) []Spec {
				return []Spec{worker(rec, "a", Permanent), significant(worker(rec, "tmp", Temporary))}
			}, "a", crash{value: "boom"}, "tmp", exitWith{reason: errors.New("bye")})
			require.False(t, shut, "tmp's exit was absorbed by a's restart")
			infos, err := sup.WhichChildren(testCtx(t))
			require.NoError(t, err)
			want := "slow:stopped a:running"
			if strategy == OneForAll {
				want = "slow:running a:running" // the group restart starts slow again
			}
			assert.Equal(t, want, ids(infos))
		})
	}
}

// OTP: supervisor.erl do_terminate/2 reports the EXIT that shutdown/1
// consumed from a child that died first as shutdown_error, unless the
// child's shutdown accepts it: shutdown after a graceful stop, killed after
// brutal_kill, and for a child that is not permanent also shutdown,
// {shutdown, Term} and normal (OTP 25's shutdown/1; compared with OTP
// 25.2.3's own runs of the same scenarios). Here b's exit, queued behind
// a's crash, is absorbed by a's group restart.
func TestAbsorbedExitIsReportedAsOTPsShutdownError(t *testing.T) {
	shutdownX := fmt.Errorf("drained: %w", ExitShutdown) // {shutdown, drained}
	cases := []struct {
		name     string
		restart  RestartType
		shutdown time.Duration
		exit     error
		want     int // shutdown_error(b) reports
	}{
		{"permanent crash", Permanent, 0, errors.New("bye"), 1},
		{"temporary crash", Temporary, 0, errors.New("bye"), 1},
		{"permanent normal", Permanent, 0, ExitNormal, 1},
		{"permanent shutdown", Permanent, 0, ExitShutdown, 0},
		{"permanent shutdown tuple", Permanent, 0, shutdownX, 1},
		{"transient shutdown tuple", Transient, 0, shutdownX, 0},
		{"transient normal", Transient, 0, ExitNormal, 0},
		{"brutal permanent shutdown", Permanent, BrutalKill, ExitShutdown, 1},
		{"brutal permanent shutdown tuple", Permanent, BrutalKill, shutdownX, 1},
		{"brutal permanent killed", Permanent, BrutalKill, ExitKilled, 0},
		{"brutal transient shutdown", Transient, BrutalKill, ExitShutdown, 0},
		{"brutal transient shutdown tuple", Transient, BrutalKill, shutdownX, 0},
		{"brutal temporary crash", Temporary, BrutalKill, errors.New("bye"), 1},
	}
	for _, strategy := range []Strategy{OneForAll, RestForOne} {
		for _, tc := range cases {
			t.Run(strategy.String()+"/"+tc.name, func(t *testing.T) {
				var rec *recorder
				exitsBehindAStop(t, strategy, Never, func(r *recorder) []Spec {
					rec = r
					b := worker(r, "b", tc.restart)
					if tc.shutdown != 0 {
						b.Shutdown = tc.shutdown
					}
					return []Spec{worker(r, "a", Permanent), b}
				}, "a", crash{value: "boom"}, "b", exitWith{reason: tc.exit})
				got := 0
				for _, ev := range rec.since(0) {
					if ev == "shutdown_error(b)" {
						got++
					}
				}
				assert.Equal(t, tc.want, got, "events: %v", rec.since(0))
				// OTP never handles an absorbed EXIT, so it gets no
				// child_terminated, whatever its reason.
				assert.NotContains(t, rec.since(0), "child_terminated(b)")
			})
		}
	}
}
