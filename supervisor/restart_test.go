package supervisor

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRestartTypeByExitReason(t *testing.T) {
	reasons := []struct {
		name     string
		msg      any
		abnormal bool
	}{
		{"normal", exitWith{reason: ExitNormal}, false},
		{"shutdown", exitWith{reason: ExitShutdown}, false},
		{"wrapped shutdown", exitWith{reason: fmt.Errorf("done: %w", ExitShutdown)}, false},
		// Not OTP, a documented choice (package doc, note f): OTP's
		// {normal, Term} is abnormal, an error wrapping ExitNormal is not.
		{"wrapped normal", exitWith{reason: fmt.Errorf("batch done: %w", ExitNormal)}, false},
		{"abnormal exit", exitWith{reason: errors.New("lost connection")}, true},
		{"panic", crash{value: "boom"}, true},
	}
	types := []RestartType{Permanent, Transient, Temporary}
	for _, rt := range types {
		for _, r := range reasons {
			t.Run(rt.String()+"/"+r.name, func(t *testing.T) {
				wantRestart := rt == Permanent || (rt == Transient && r.abnormal)
				sys := newSystem(t)
				rec := newRecorder()
				sup := startRoot(t, sys, OneForOne, []Spec{worker(rec, "other", Permanent), worker(rec, "x", rt)},
					WithIntensity(3, DefaultPeriod), observe(rec))

				mark := rec.mark()
				send(sys, pidOf(t, sup, "x"), r.msg)
				_, panicked := r.msg.(crash)
				if wantRestart {
					rec.waitFor(t, mark, "child_restarted(x)", 1)
				} else {
					rec.waitFor(t, mark, "x:Stopped", 1) // also a panicked actor is stopped
					rec.waitFor(t, mark, "child_stopped(x)", 1)
				}
				synced(t, sup)
				// OTP: supervisor(3), "Supervision Principles" (restart types)
				// and supervisor.erl do_restart/3: child_terminated is an error
				// report for any exit of a permanent child and for an abnormal
				// exit of the others; a transient or temporary child that exits
				// with normal, shutdown or {shutdown, _} is not reported.
				wantReport := rt == Permanent || r.abnormal
				assert.Equal(t, wantReport, slices.Contains(rec.since(mark), "child_terminated(x)"), "child_terminated report")
				events := lifecycle(rec.since(mark))
				assert.NotContains(t, events, "other:Stopping", "a sibling is untouched under one_for_one")

				infos, err := sup.WhichChildren(testCtx(t))
				require.NoError(t, err)
				switch {
				case wantRestart:
					assert.Equal(t, "other:running x:running", ids(infos))
					assert.Equal(t, 1, infos[1].Restarts)
					assert.Equal(t, "x", pingChild(t, sys, pidOf(t, sup, "x")))
					if panicked {
						assert.Equal(t, []string{"x:Restarting", "x:Started"}, events, "a panic restarts the actor in place")
					} else {
						assert.Equal(t, []string{"x:Stopping", "x:Stopped", "x:Started"}, events)
					}
				case rt == Temporary:
					assert.Equal(t, "other:running", ids(infos), "a temporary's spec is removed")
					assert.NotContains(t, events, "x:Started")
				default:
					assert.Equal(t, "other:running x:stopped", ids(infos), "a transient's spec is kept")
					assert.NotContains(t, events, "x:Started")
				}
			})
		}
	}
}

func TestStopSelfWithoutExitIsNormal(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	sup := startRoot(t, sys, OneForOne, []Spec{worker(rec, "x", Transient)}, observe(rec))
	mark := rec.mark()
	sys.Root.Stop(pidOf(t, sup, "x"))
	rec.waitFor(t, mark, "child_stopped(x)", 1)
	synced(t, sup)
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	assert.Equal(t, "x:stopped", ids(infos))
}

func TestPanicReason(t *testing.T) {
	err := errors.New("typed")
	assert.Same(t, err, panicReason(err))
	var pe *PanicError
	require.ErrorAs(t, panicReason(42), &pe)
	assert.Equal(t, 42, pe.Value)
	assert.Equal(t, "panic: 42", pe.Error())
	assert.True(t, isNormal(nil))
	assert.False(t, isNormal(panicReason("x")))
}

// lifecycle keeps the events children saw, dropping the supervisor's.
func lifecycle(events []string) []string {
	return slices.DeleteFunc(events, func(e string) bool { return strings.HasSuffix(e, ")") })
}

// OTP: supervisor.erl do_restart/3 reports child_terminated when the
// supervisor handles the child's EXIT, before restart/2; while it waits in
// shutdown/1 for a sibling to stop it handles nothing else, so the EXIT
// waits its turn. Here x crashes while its supervisor waits for slow to
// stop: child_terminated(x) comes once that stop is over, before x's
// restart. (OTP 25.2.3, the same scenario: slow terminates, x terminates,
// slow is released, then child_terminated for x, then x starts again.)
func TestExitIsReportedWhenItIsHandled(t *testing.T) {
	sys := newSystem(t)
	rec := newRecorder()
	hang := make(chan struct{})
	slow := worker(rec, "slow", Permanent, func(p *probe) { p.hang = hang })
	slow.Shutdown = Infinity
	sup := startRoot(t, sys, OneForOne, []Spec{slow, worker(rec, "x", Permanent)}, observe(rec))
	ctx := testCtx(t)
	mark := rec.mark()
	done := make(chan error, 1)
	go func() { done <- sup.TerminateChild(ctx, "slow") }()
	rec.waitFor(t, mark, "slow:Stopping", 1)
	send(sys, pidOf(t, sup, "x"), crash{value: "boom"})
	awaitExitArrived(t, sup, "x")
	assert.NotContains(t, rec.since(mark), "child_terminated(x)", "not while the supervisor waits on slow's stop")
	close(hang)
	require.NoError(t, <-done)
	rec.waitFor(t, mark, "child_restarted(x)", 1)
	evs := rec.since(mark)
	reported := slices.Index(evs, "child_terminated(x)")
	require.GreaterOrEqual(t, reported, 0, "events: %v", evs)
	assert.Less(t, slices.Index(evs, "slow:Stopped"), reported, "after slow's stop: %v", evs)
	assert.Less(t, reported, slices.Index(evs, "x:Restarting"), "before x's restart: %v", evs)
}
