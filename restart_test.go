package tinkex

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// optimStepSeqs returns the seq_ids of the optim_step requests the fake
// received, in arrival order.
func optimStepSeqs(e *env) []int64 {
	var seqs []int64
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep}) {
		seqs = append(seqs, r.SeqID)
	}
	return seqs
}

// gate is an http.RoundTripper that holds requests whose path ends in
// suffix until released, and reports each one it holds.
type gate struct {
	suffix  string
	held    chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate(suffix string) *gate {
	return &gate{suffix: suffix, held: make(chan struct{}, 100), release: make(chan struct{})}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, g.suffix) {
		g.held <- struct{}{}
		select {
		case <-g.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// gatedTraining is a service whose optim_step submits are held by a gate
// (opened at the end of the test at the latest), and a training client on it.
func gatedTraining(t *testing.T) (*env, *gate, *ServiceClient, *TrainingClient) {
	t.Helper()
	e := newEnv(t, nil)
	g := newGate("/api/v1/optim_step")
	t.Cleanup(g.open)
	svc := e.service(t, WithHTTPClient(&http.Client{Transport: g}))
	tc := trainer(t, svc)
	return e, g, svc, tc
}

func findNode(n supervisor.Node, prefix string) (supervisor.Node, bool) {
	if strings.HasPrefix(n.ID, prefix) {
		return n, true
	}
	for _, c := range n.Children {
		if f, ok := findNode(c, prefix); ok {
			return f, true
		}
	}
	return supervisor.Node{}, false
}

// A crash of the training actor fails the operations it had not submitted
// with ErrClientRestarted, lets the submitted one finish, and the restarted
// actor continues the seq_ids without a gap.
func TestTrainingActorCrashFailsQueuedAndContinuesSeq(t *testing.T) {
	e, g, _, tc := gatedTraining(t)
	ctx := ctxT(t)

	first := tc.OptimStep(ctx, types.DefaultAdamParams()) // held in the gate: in flight
	<-g.held
	queued := []*Future[*types.OptimStepResponse]{
		tc.OptimStep(ctx, types.DefaultAdamParams()),
		tc.OptimStep(ctx, types.DefaultAdamParams()),
	}
	e.rt.system.Root.Send(tc.pid.Load(), &inspect.Crash{Reason: "test"})
	for _, f := range queued {
		_, err := f.Result(ctx)
		assert.ErrorIs(t, err, types.ErrClientRestarted)
		assert.True(t, types.IsRetryable(err))
	}
	g.open()
	_, err := first.Result(ctx)
	require.NoError(t, err, "the operation already being submitted completes")

	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
	seqs := optimStepSeqs(e)
	assert.Equal(t, []int64{1, 2}, seqs, "gapless across the restart; nothing sent for the failed ops")

	// The supervisor counts the restart when the restarted actor's start
	// acknowledgement reaches it, which may come after the actor's first
	// answer: wait for the tree to show it, with a deadline.
	var n supervisor.Node
	require.Eventually(t, func() bool {
		tree, err := e.rt.Tree(ctx)
		require.NoError(t, err)
		var ok bool
		n, ok = findNode(tree, "training:")
		require.True(t, ok, tree.String())
		return n.Restarts == 1 && n.Status == supervisor.Running
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, 1, n.Restarts)
	assert.Equal(t, supervisor.Running, n.Status)
}

// A crash of the sampling actor does not disturb samples; it restarts.
func TestSamplingActorCrashKeepsSession(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	sc, err := svc.CreateSamplingClient(ctx, WithBaseModel("meta-llama/Llama-3.2-1B"))
	require.NoError(t, err)
	prompt := types.ModelInputFromInts([]int{1, 2})
	_, err = sc.Sample(ctx, prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)

	e.rt.system.Root.Send(sc.pid.Load(), &inspect.Crash{Reason: "test"})
	require.Eventually(t, func() bool {
		tree, err := e.rt.Tree(ctx)
		if err != nil {
			return false
		}
		n, ok := findNode(tree, "sampling:")
		return ok && n.Restarts == 1 && n.Status == supervisor.Running
	}, 10*time.Second, time.Millisecond)

	_, err = sc.Sample(ctx, prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)
	reqs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAsample})
	require.Len(t, reqs, 2)
	assert.Equal(t, []int64{0, 1}, []int64{reqs[0].SeqID, reqs[1].SeqID})
	assert.Equal(t, 1, e.srv.CountEndpoint(tinkertest.EndpointCreateSamplingSession), "the session is kept")
	probe, err := e.rt.system.Root.RequestFuture(sc.pid.Load(), &inspect.Probe{}, 5*time.Second).Result()
	require.NoError(t, err)
	assert.Equal(t, &inspect.ProbeReply{Actor: "sampling", ID: sc.SamplerID()}, probe)
}

// Exceeding the service supervisor's intensity restarts the whole subtree;
// the clients come back (their specs are the subtree's init) and keep
// working with their seq_ids, and other services are untouched.
func TestServiceSubtreeRestartsAsAUnit(t *testing.T) {
	e := newEnv(t, nil, WithServiceIntensity(1, time.Hour))
	ctx := ctxT(t)
	a := e.service(t, WithName("a"))
	b := e.service(t, WithName("b"), WithAPIKey(keyB))
	tcA := trainer(t, a)
	tcB := trainer(t, b)
	_, err := tcA.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)

	restarted := func(id string) int {
		tree, err := e.rt.Tree(ctx)
		require.NoError(t, err)
		n, ok := findNode(tree, id)
		require.True(t, ok, tree.String())
		return n.Restarts
	}
	e.rt.system.Root.Send(tcA.pid.Load(), &inspect.Crash{Reason: "1"})
	require.Eventually(t, func() bool { return restarted("training:"+tcA.ModelID()) == 1 }, 10*time.Second, time.Millisecond)
	e.rt.system.Root.Send(tcA.pid.Load(), &inspect.Crash{Reason: "2"}) // second restart within the period: intensity 1 exceeded
	require.Eventually(t, func() bool { return restarted("service:a") == 1 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, 0, restarted("service:b"))
	assert.Equal(t, 0, restarted("training:"+tcB.ModelID()))

	require.Eventually(t, func() bool {
		_, err := e.rt.system.Root.RequestFuture(tcA.pid.Load(), &inspect.Probe{}, time.Second).Result()
		return err == nil
	}, 10*time.Second, 5*time.Millisecond)
	_, err = tcA.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
	var seqs []int64
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep, ModelID: tcA.ModelID()}) {
		seqs = append(seqs, r.SeqID)
	}
	assert.Equal(t, []int64{1, 2}, seqs)
	_, err = tcB.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
}

// Close fails queued work with ErrClientStopped and refuses new work.
func TestCloseFailsQueuedWork(t *testing.T) {
	e, g, svc, tc := gatedTraining(t)
	ctx := ctxT(t)
	sc, err := svc.CreateSamplingClient(ctx, WithBaseModel("meta-llama/Llama-3.2-1B"))
	require.NoError(t, err)

	inflight := tc.OptimStep(ctx, types.DefaultAdamParams())
	<-g.held
	queued := tc.OptimStep(ctx, types.DefaultAdamParams())
	closed := make(chan error, 1)
	go func() { closed <- svc.Close(context.Background()) }()

	_, err = queued.Result(ctx)
	assert.ErrorIs(t, err, types.ErrClientStopped)
	_, err = inflight.Result(ctx)
	assert.ErrorIs(t, err, types.ErrClientStopped, "the in-flight submit is canceled by Close")
	require.NoError(t, <-closed)

	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	assert.ErrorIs(t, err, types.ErrClientStopped)
	_, err = sc.Sample(ctx, types.ModelInputFromInts([]int{1}), 1, types.DefaultSamplingParams())
	assert.ErrorIs(t, err, types.ErrClientStopped)
	_, err = svc.CreateSamplingClient(ctx, WithBaseModel("meta-llama/Llama-3.2-1B"))
	assert.ErrorIs(t, err, types.ErrClientStopped)
	require.NoError(t, svc.Close(ctx), "closing twice is harmless")
	assert.Empty(t, e.rt.Services())
}

// A crash of the session actor restarts its later siblings (rest_for_one):
// a training client's unsent operations fail with ErrClientRestarted, not
// ErrClientStopped, and the client goes on working.
func TestSiblingRestartFailsQueuedAsRestarted(t *testing.T) {
	e, g, _, tc := gatedTraining(t)
	ctx := ctxT(t)
	first := tc.OptimStep(ctx, types.DefaultAdamParams())
	<-g.held
	queued := tc.OptimStep(ctx, types.DefaultAdamParams())
	tree, err := e.rt.Tree(ctx)
	require.NoError(t, err)
	session, ok := findNode(tree, "session")
	require.True(t, ok)
	pid := e.rt.system.NewLocalPID(session.PID)
	e.rt.system.Root.Send(pid, &inspect.Crash{Reason: "session"})
	_, err = queued.Result(ctx)
	assert.ErrorIs(t, err, types.ErrClientRestarted)
	g.open()
	_, err = first.Result(ctx)
	require.NoError(t, err)
	// Once the restarted actor answers, the client works again (an operation
	// sent while it was down fails fast with ErrClientRestarted instead).
	require.Eventually(t, func() bool {
		_, err := e.rt.system.Root.RequestFuture(tc.pid.Load(), &inspect.Probe{}, time.Second).Result()
		return err == nil
	}, 10*time.Second, time.Millisecond)
	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
}

// A caller that gives up while its operation is being submitted gets
// ErrCanceled, but the submit (its seq_id taken) still reaches the server,
// so later operations do not wait behind a gap.
func TestCanceledDuringSubmitLeavesNoSeqGap(t *testing.T) {
	e, g, _, tc := gatedTraining(t)
	ctx := ctxT(t)
	var err error

	opCtx, cancel := context.WithCancel(ctx)
	first := tc.OptimStep(opCtx, types.DefaultAdamParams())
	<-g.held
	cancel()
	_, err = first.Result(ctx)
	assert.ErrorIs(t, err, types.ErrCanceled)
	g.open()

	queuedCtx, cancelQueued := context.WithCancel(ctx)
	cancelQueued()
	_, err = tc.OptimStep(queuedCtx, types.DefaultAdamParams()).Result(ctx)
	assert.ErrorIs(t, err, types.ErrCanceled, "canceled before its turn: nothing taken, nothing sent")

	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err, "no gap: the canceled op's seq_id reached the server")
	seqs := optimStepSeqs(e)
	assert.Equal(t, []int64{1, 2}, seqs)
}

// A chunk refused for good does not keep the other chunks from being sent:
// each holds a seq_id the server waits for.
func TestRefusedChunkStillSendsTheOthers(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithClientConfig(map[string]any{"fwdbwd_max_chunk_len": 1})})
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointForwardBackward, Status: 400, Times: 1})
	data := []types.Datum{datum(t, 1, 2), datum(t, 3, 4), datum(t, 5, 6)}
	_, err := tc.ForwardBackward(ctx, data, types.LossCrossEntropy).Result(ctx)
	assert.ErrorIs(t, err, types.ErrUser)
	var seqs []int64
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointForwardBackward}) {
		seqs = append(seqs, r.SeqID)
	}
	assert.ElementsMatch(t, []int64{1, 2, 3}, seqs, "all three chunks were sent")
	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err, "the model is not stalled")
}

// The submit queue: operations are submitted one at a time in call order,
// each only once the one before it has been sent, and an operation whose
// caller gave up before its turn is skipped without taking a seq_id.
func TestTrainingQueueSubmitsOneAtATimeInCallOrder(t *testing.T) {
	e, g, _, tc := gatedTraining(t)
	ctx := ctxT(t)
	a := tc.OptimStep(ctx, types.DefaultAdamParams()) // seq 1, held in the gate
	<-g.held
	canceled, cancel := context.WithCancel(ctx)
	b := tc.OptimStep(canceled, types.DefaultAdamParams())
	cancel()
	c := tc.OptimStep(ctx, types.DefaultAdamParams())
	d := tc.OptimStep(ctx, types.DefaultAdamParams())
	// Calls queue synchronously: nothing behind a takes a seq_id while a's
	// submit is held.
	assert.Equal(t, int64(2), tc.NextSeqID())
	tc.mu.Lock()
	assert.Len(t, tc.queue, 3)
	assert.True(t, tc.sending)
	tc.mu.Unlock()

	g.open()
	for _, f := range []*Future[*types.OptimStepResponse]{a, c, d} {
		_, err := f.Result(ctx)
		require.NoError(t, err)
	}
	_, err := b.Result(ctx)
	assert.ErrorIs(t, err, types.ErrCanceled)
	seqs := optimStepSeqs(e)
	assert.Equal(t, []int64{1, 2, 3}, seqs, "a, c, d in call order; nothing sent for b")
	tc.mu.Lock()
	assert.Empty(t, tc.queue)
	assert.False(t, tc.sending, "the last submit hands the turn back")
	tc.mu.Unlock()
}

// A submit in flight across a restart keeps its place: an operation called
// after the restarted actor is up waits for it, so the server sees the
// seq_ids in call order. Both a crash (restart in place) and a sibling's
// restart (a stop and a new actor) are covered.
func TestTrainingOrderHoldsAcrossARestart(t *testing.T) {
	for _, how := range []string{"crash", "sibling"} {
		t.Run(how, func(t *testing.T) {
			e, g, _, tc := gatedTraining(t)
			ctx := ctxT(t)
			first := tc.OptimStep(ctx, types.DefaultAdamParams())
			<-g.held
			old := tc.pid.Load()
			target := old
			if how == "sibling" {
				tree, err := e.rt.Tree(ctx)
				require.NoError(t, err)
				session, ok := findNode(tree, "session")
				require.True(t, ok)
				target = e.rt.system.NewLocalPID(session.PID)
			}
			e.rt.system.Root.Send(target, &inspect.Crash{Reason: how})
			// Wait (bounded) for the training actor's restart to be over.
			require.Eventually(t, func() bool {
				tree, err := e.rt.Tree(ctx)
				if err != nil {
					return false
				}
				n, ok := findNode(tree, "training:")
				return ok && n.Status == supervisor.Running && n.Restarts == 1
			}, 10*time.Second, time.Millisecond)
			if how == "sibling" {
				assert.NotSame(t, old, tc.pid.Load(), "a sibling restart starts a new actor (same name, new process)")
			}
			second := tc.OptimStep(ctx, types.DefaultAdamParams())
			assert.Equal(t, int64(2), tc.NextSeqID(), "the second waits for the first, held in flight")
			g.open()
			_, err := first.Result(ctx)
			require.NoError(t, err)
			_, err = second.Result(ctx)
			require.NoError(t, err)
			seqs := optimStepSeqs(e)
			assert.Equal(t, []int64{1, 2}, seqs)
		})
	}
}

// A storm: four goroutines call operations while the training actor
// crashes and the session's crash restarts it as a sibling, again and
// again. Every future ends (a result, or ErrClientRestarted for what was
// queued at a restart), and the server sees the seq_ids in order with no
// gap: 1, 2, 3, … as many as were submitted.
func TestTrainingQueueHoldsOrderThroughARestartStorm(t *testing.T) {
	e := newEnv(t, nil, WithServiceIntensity(1000, time.Second))
	svc := e.service(t)
	tc := trainer(t, svc)
	ctx := ctxT(t)

	const callers, crashes = 4, 12
	// Each caller keeps two operations in flight until the storm is over.
	stormOver := make(chan struct{})
	var mu sync.Mutex
	ok, restarted, calls := 0, 0, 0
	record := func(f *Future[*types.OptimStepResponse]) {
		_, err := f.Result(ctx)
		mu.Lock()
		defer mu.Unlock()
		calls++
		switch {
		case err == nil:
			ok++
		case errors.Is(err, types.ErrClientRestarted):
			restarted++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pending []*Future[*types.OptimStepResponse]
			for {
				for len(pending) < 2 {
					pending = append(pending, tc.OptimStep(ctx, types.DefaultAdamParams()))
				}
				record(pending[0])
				pending = pending[1:]
				select {
				case <-stormOver:
					for _, f := range pending {
						record(f)
					}
					return
				default:
				}
			}
		}()
	}
	for i := range crashes {
		target := tc.pid.Load()
		if i%2 == 1 {
			tree, err := e.rt.Tree(ctx)
			require.NoError(t, err)
			session, found := findNode(tree, "session")
			require.True(t, found)
			target = e.rt.system.NewLocalPID(session.PID)
		}
		e.rt.system.Root.Send(target, &inspect.Crash{Reason: "storm"})
		// Wait (bounded) until the training actor is back before the next.
		require.Eventually(t, func() bool {
			tree, err := e.rt.Tree(ctx)
			if err != nil {
				return false
			}
			n, found := findNode(tree, "training:")
			return found && n.Status == supervisor.Running && n.Restarts == i+1
		}, 10*time.Second, time.Millisecond)
	}
	close(stormOver)
	wg.Wait()
	assert.Equal(t, calls, ok+restarted)
	assert.Positive(t, restarted, "the storm failed some queued operations")
	seqs := optimStepSeqs(e)
	want := make([]int64, ok)
	for i := range want {
		want[i] = int64(i + 1)
	}
	assert.Equal(t, want, seqs, "every success sent once, in seq order, no gap; nothing sent for the restarted")
	assert.Equal(t, int64(ok+1), tc.NextSeqID())
	t.Logf("%d succeeded, %d failed with ErrClientRestarted", ok, restarted)
}

// An operation whose caller gives up while it waits in the queue ends at
// once with ErrCanceled, not when its turn comes (the submit ahead of it
// may take minutes of retries); it takes no seq_id.
func TestCanceledQueuedOperationEndsAtOnce(t *testing.T) {
	e, g, _, tc := gatedTraining(t)
	ctx := ctxT(t)
	first := tc.OptimStep(ctx, types.DefaultAdamParams())
	<-g.held
	c, cancel := context.WithCancel(ctx)
	queued := tc.OptimStep(c, types.DefaultAdamParams())
	cancel()
	select {
	case <-queued.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the canceled operation still waits while the submit ahead of it is held")
	}
	_, err := queued.Result(ctx)
	assert.ErrorIs(t, err, types.ErrCanceled)
	g.open()
	_, err = first.Result(ctx)
	require.NoError(t, err)
	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
	seqs := optimStepSeqs(e)
	assert.Equal(t, []int64{1, 2}, seqs, "the canceled operation took no seq_id")
}

// watchCountingCtx counts the watches registered on it that were not
// stopped: context.AfterFunc and derived contexts use its AfterFunc method,
// since its Done is its own channel (closed when the wrapped context ends),
// not the wrapped cancelCtx's.
type watchCountingCtx struct {
	context.Context
	done   chan struct{}
	active atomic.Int64
}

func newWatchCountingCtx(base context.Context) *watchCountingCtx {
	c := &watchCountingCtx{Context: base, done: make(chan struct{})}
	context.AfterFunc(base, func() { close(c.done) })
	return c
}

func (c *watchCountingCtx) Done() <-chan struct{} { return c.done }

func (c *watchCountingCtx) AfterFunc(f func()) func() bool {
	c.active.Add(1)
	stop := context.AfterFunc(c.Context, f)
	var once sync.Once
	return func() bool {
		stopped := stop()
		once.Do(func() { c.active.Add(-1) })
		return stopped
	}
}

// Queued operations failed by a restart leave nothing registered with
// their caller's context (which may live far longer than the operation),
// and neither do the ones that completed.
func TestQueuedOperationsLeaveNoWatchOnTheCallersContext(t *testing.T) {
	e, g, _, tc := gatedTraining(t)
	base, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	ctx := newWatchCountingCtx(base)
	first := tc.OptimStep(ctx, types.DefaultAdamParams())
	<-g.held
	queued := []*Future[*types.OptimStepResponse]{
		tc.OptimStep(ctx, types.DefaultAdamParams()),
		tc.OptimStep(ctx, types.DefaultAdamParams()),
	}
	assert.Positive(t, ctx.active.Load(), "the queued operations watch their context")
	e.rt.system.Root.Send(tc.pid.Load(), &inspect.Crash{Reason: "test"})
	for _, f := range queued {
		_, err := f.Result(base)
		assert.ErrorIs(t, err, types.ErrClientRestarted)
	}
	g.open()
	_, err := first.Result(base)
	require.NoError(t, err)
	_, err = tc.OptimStep(ctx, types.DefaultAdamParams()).Result(base)
	require.NoError(t, err)
	// The last operation's goroutine ends just after its future completes:
	// wait (bounded) for its last registration to go.
	require.Eventually(t, func() bool { return ctx.active.Load() == 0 }, 10*time.Second, time.Millisecond,
		"registrations left: %d", ctx.active.Load())
}
