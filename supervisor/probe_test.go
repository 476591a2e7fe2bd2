package supervisor

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitBound is how long a test waits for something that should happen at
// once; only a broken supervisor makes a test wait that long.
const waitBound = 10 * time.Second

// newSystem returns a quiet actor system. Its dead-letter throttle window is
// short because each window owns a goroutine until it ends.
func newSystem(t testing.TB) *actor.ActorSystem {
	t.Helper()
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitBound)
	t.Cleanup(cancel)
	return ctx
}

// recorder keeps the lifecycle messages probes see, in the order they
// happened ("b:Restarting"). Lifecycle messages of different actors are
// ordered by the supervisor's message passing, so the order is meaningful.
type recorder struct {
	mu      sync.Mutex
	events  []string
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) add(ev string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// since returns the events recorded after mark.
func (r *recorder) since(mark int) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events[mark:])
}

// waitFor waits until ev has been recorded n times after mark.
func (r *recorder) waitFor(t testing.TB, mark int, ev string, n int) {
	t.Helper()
	deadline := time.After(waitBound)
	for {
		r.mu.Lock()
		count := 0
		for _, e := range r.events[mark:] {
			if e == ev {
				count++
			}
		}
		ch := r.changed
		r.mu.Unlock()
		if count >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("waited for %d× %q; recorded since mark: %v", n, ev, r.since(mark))
		}
	}
}

// awaitExitArrived waits until sup has taken in child id's exit (a panic,
// Exit or stop), which it reports as Restarting until it handles it:
// WhichChildren answers even while the supervisor waits on a stop, so this
// sees an exit that is still queued, which no event announces (OTP reports
// child_terminated only when it handles the exit).
func awaitExitArrived(t testing.TB, sup *Supervisor, id string) {
	t.Helper()
	deadline := time.Now().Add(waitBound)
	for {
		infos, err := sup.WhichChildren(testCtx(t))
		if err != nil {
			t.Fatalf("WhichChildren: %v", err)
		}
		for _, in := range infos {
			if in.ID == id && in.Status == Restarting {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %q's exit did not arrive within %v: %v", id, waitBound, infos)
		}
		runtime.Gosched() // each WhichChildren is a round trip to the supervisor
	}
}

// Messages a probe understands.
type (
	crash    struct{ value any }
	exitWith struct{ reason error }
	ping     struct{}
	pong     struct{ name string }
)

// probe is a worker that records its lifecycle and does what it is told.
type probe struct {
	name string
	rec  *recorder
	// hang, when set, blocks the Stopping handler until it is closed.
	hang chan struct{}
	// failStart makes Started panic.
	failStart bool
	// exitStart, when set, makes Started call Exit with it.
	exitStart error
	// ignore makes Started call Ignore.
	ignore bool
}

func (p *probe) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		p.rec.add(p.name + ":Started")
		if p.failStart {
			panic("start failed")
		}
		if p.exitStart != nil {
			Exit(ctx, p.exitStart)
		}
		if p.ignore {
			Ignore(ctx)
		}
	case *actor.Restarting:
		p.rec.add(p.name + ":Restarting")
	case *actor.Stopping:
		p.rec.add(p.name + ":Stopping")
		if p.hang != nil {
			<-p.hang
		}
	case *actor.Stopped:
		p.rec.add(p.name + ":Stopped")
	case crash:
		panic(m.value)
	case exitWith:
		Exit(ctx, m.reason)
	case ping:
		ctx.Respond(pong{name: p.name})
	}
}

type probeOpt func(*probe)

func worker(rec *recorder, id string, rt RestartType, opts ...probeOpt) Spec {
	return Spec{ID: id, Restart: rt, Start: func() actor.Actor {
		p := &probe{name: id, rec: rec}
		for _, o := range opts {
			o(p)
		}
		return p
	}}
}

func workers(rec *recorder, ids ...string) []Spec {
	out := make([]Spec, len(ids))
	for i, id := range ids {
		out[i] = worker(rec, id, Permanent)
	}
	return out
}

func startRoot(t *testing.T, sys *actor.ActorSystem, strategy Strategy, children []Spec, opts ...Option) *Supervisor {
	t.Helper()
	sup, err := Start(testCtx(t), sys, "root", strategy, children, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitBound)
		defer cancel()
		require.NoError(t, sup.Stop(ctx))
	})
	return sup
}

func pidOf(t *testing.T, sup *Supervisor, id string) *actor.PID {
	t.Helper()
	infos, err := sup.WhichChildren(testCtx(t))
	require.NoError(t, err)
	for _, ci := range infos {
		if ci.ID == id {
			require.NotNil(t, ci.PID, "child %q is not running", id)
			return ci.PID
		}
	}
	t.Fatalf("no child %q", id)
	return nil
}

func send(sys *actor.ActorSystem, pid *actor.PID, msg any) { sys.Root.Send(pid, msg) }

// pingChild asks a child for a pong: it answers only if it is running.
func pingChild(t *testing.T, sys *actor.ActorSystem, pid *actor.PID) string {
	t.Helper()
	res, err := sys.Root.RequestFuture(pid, ping{}, waitBound).Result()
	require.NoError(t, err)
	return res.(pong).name
}

func ids(infos []ChildInfo) string {
	var parts []string
	for _, ci := range infos {
		parts = append(parts, fmt.Sprintf("%s:%s", ci.ID, ci.Status))
	}
	return strings.Join(parts, " ")
}

func synced(t *testing.T, sup *Supervisor) {
	t.Helper()
	require.NoError(t, sup.sync(testCtx(t)))
}

// observe returns an event hook option that records each supervisor event
// into rec as "child_stopped(x)", so tests can wait for what a supervisor has
// done (not just for what its children saw).
func observe(rec *recorder) Option {
	return WithEventHook(func(e Event) { rec.add(fmt.Sprintf("%s(%s)", e.Type, e.Child)) })
}

// fakeClock is the project's fake clock as a supervisor Clock.
type fakeClock struct{ *clock.Fake }

func newFake(start time.Time) fakeClock { return fakeClock{clock.NewFake(start)} }

// NewTimer implements Clock.
func (f fakeClock) NewTimer(d time.Duration) Timer { return f.Fake.NewTimer(d) }

// awaitDone waits for a root supervisor to end; why says what should have
// ended it.
func awaitDone(t *testing.T, sup *Supervisor, why string) {
	t.Helper()
	select {
	case <-sup.Done():
	case <-time.After(waitBound):
		t.Fatal(why)
	}
}
