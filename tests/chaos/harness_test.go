package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"

	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/supervisor"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// The credentials of the three configs: c1 and c2 share keyA.
const (
	keyA      = "tml-QX7chaosAlphaKey-5b1e0c7d9a2f4e6b8c0d"
	keyB      = "tml-QZ9chaosBravoKey-1f3a5c7e9b0d2f4a6c8e"
	baseModel = "meta-llama/Llama-3.2-1B"
)

var configs = []struct{ name, key string }{{"c1", keyA}, {"c2", keyA}, {"c3", keyB}}

const (
	opDeadline      = 2 * time.Minute // per request: generous; reaching it means hung
	trainingWindow  = 8               // training futures in flight per model
	samplingWorkers = 24
	crashEvery      = 20 // completed requests per injected actor crash
)

type opKind int

const (
	opSample opKind = iota
	opForwardBackward
	opOptimStep
)

func (k opKind) String() string {
	return [...]string{"sample", "forward_backward", "optim_step"}[k]
}

// op is one request of the mix and how it ended.
type op struct {
	idx    int
	kind   opKind
	client int // index of the config (and of its training and sampling client)
	lr     float64

	err      error
	hung     bool
	start    time.Time
	duration time.Duration
}

// options of one chaos run.
type runOptions struct {
	requests int
	seed     uint64
	// capture, when set, receives the debug log, every bus event and a
	// Prometheus registry (the secrets test).
	logger   *slog.Logger
	registry *prometheus.Registry
}

// harness is one chaos run: a fake server with the fault plan, a runtime
// with three ServiceClients, one training and one sampling client each.
type harness struct {
	t         *testing.T
	opts      runOptions
	srv       *tinkertest.Server
	rt        *tinkex.Runtime
	transport *http.Transport
	svcs      []*tinkex.ServiceClient
	trainers  []*tinkex.TrainingClient
	samplers  []*tinkex.SamplingClient
	faults    map[int]faultKind
	events    *eventLog

	mu       sync.Mutex
	rng      *rand.Rand
	crashes  map[string]int // tree child id → crashes sent to it
	expected map[string]int // tree child id → restarts those crashes call for
	problems []string       // crashes whose restarts did not all arrive
	done     atomic.Int64
	stopper  *stopper
}

// eventLog keeps every telemetry event of the run.
type eventLog struct {
	mu        sync.Mutex
	events    []telemetry.Event
	restarted chan string // child id of every child_restarted event
}

func newEventLog() *eventLog { return &eventLog{restarted: make(chan string, 100_000)} }

func (l *eventLog) handle(e telemetry.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
	if e.Name == telemetry.SupervisorChildRestarted {
		id, _ := e.Metadata[telemetry.KeyChild].(string)
		l.restarted <- id
	}
}

func (l *eventLog) all() []telemetry.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]telemetry.Event(nil), l.events...)
}

func (l *eventLog) count(name string) int {
	n := 0
	for _, e := range l.all() {
		if e.Name == name {
			n++
		}
	}
	return n
}

func newHarness(t *testing.T, o runOptions) *harness {
	t.Helper()
	h := &harness{t: t, opts: o, faults: map[int]faultKind{}, crashes: map[string]int{}, expected: map[string]int{},
		events: newEventLog(), rng: rand.New(rand.NewPCG(o.seed, 0x5eed))}
	h.srv = tinkertest.NewServer(tinkertest.WithLongPollHold(20*time.Millisecond), tinkertest.WithLogLimit(50*o.requests+10_000))
	h.transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}
	bus := telemetry.NewBus()
	require.NoError(t, bus.Attach("chaos-events", []string{"*"}, h.events.handle))
	logger := o.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rtOpts := []tinkex.RuntimeOption{
		tinkex.WithTelemetryBus(bus),
		tinkex.WithLogger(logger),
		tinkex.WithEventLogs(false), // o.logger, when set, gets the events through its own AttachLogger
		tinkex.WithPollBackoff(tinkex.PollBackoff{Initial: time.Millisecond, Max: 5 * time.Millisecond,
			TryAgainInitial: time.Millisecond, TryAgainMax: 5 * time.Millisecond}),
		// Crashes are spread over the run; intensity this high means no
		// crash escalates past its own service's rest_for_one restart,
		// which is what the run checks.
		tinkex.WithServiceIntensity(max(1000, o.requests), time.Hour),
		tinkex.WithLimiterOptions(limiter.WithThrottleWindow(100 * time.Millisecond)),
	}
	if o.registry != nil {
		rtOpts = append(rtOpts, tinkex.WithPrometheus(o.registry))
	}
	rt, err := tinkex.Start(context.Background(), rtOpts...)
	require.NoError(t, err)
	h.rt = rt
	h.stopper = &stopper{t: t, rt: rt, srv: h.srv, transport: h.transport}
	// Covers a failed set-up; after the run's own stop it finds nothing to
	// stop, and it holds no reference that would keep the run's memory.
	t.Cleanup(h.stopper.stop)
	if o.logger != nil {
		detach, err := telemetry.AttachLogger(bus, o.logger, telemetry.LoggerOptions{MinLevel: slog.LevelDebug})
		require.NoError(t, err)
		t.Cleanup(detach)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hc := &http.Client{Transport: h.transport, Timeout: requestTimeout}
	for _, c := range configs {
		// The second retry layer is off (its resends back off 1, 2, 4… s,
		// beyond the per-request timeout): every request ends as its HTTP
		// layer's faults call for, which the analysis checks exactly. The
		// second layer has its own tests (httpclient, actors, tests).
		svc, err := rt.NewServiceClient(ctx, tinkex.WithAPIKey(c.key), tinkex.WithBaseURL(h.srv.URL()),
			tinkex.WithName(c.name), tinkex.WithHTTPClient(hc), tinkex.WithTelemetry(true), tinkex.WithCallRetryBudget(0))
		require.NoError(t, err)
		tc, err := svc.CreateLoRATrainingClient(ctx, baseModel)
		require.NoError(t, err)
		sc, err := svc.CreateSamplingClient(ctx, tinkex.WithBaseModel(baseModel))
		require.NoError(t, err)
		h.svcs, h.trainers, h.samplers = append(h.svcs, svc), append(h.trainers, tc), append(h.samplers, sc)
	}
	for _, p := range faultPlan(o.requests) {
		h.faults[h.srv.Inject(p.fault)] = p.kind
	}
	return h
}

// stop stops the runtime and the server and closes the connections.
func (h *harness) stop() { h.stopper.stop() }

// stopper stops what a harness started, once; it then forgets it.
type stopper struct {
	t         *testing.T
	mu        sync.Mutex
	rt        *tinkex.Runtime
	srv       *tinkertest.Server
	transport *http.Transport
}

func (s *stopper) stop() {
	s.mu.Lock()
	rt, srv, transport := s.rt, s.srv, s.transport
	s.rt, s.srv, s.transport = nil, nil, nil
	s.mu.Unlock()
	if rt != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		assert.NoError(s.t, rt.Stop(ctx))
	}
	if srv != nil {
		srv.Close()
	}
	if transport != nil {
		transport.CloseIdleConnections()
	}
}

// plan builds the mix: half samples, the rest forward_backward and
// optim_step, spread over the three configs at random (seeded).
func (h *harness) plan() []*op {
	ops := make([]*op, h.opts.requests)
	for i := range ops {
		o := &op{idx: i, client: h.rng.IntN(len(configs))}
		switch r := h.rng.IntN(10); {
		case r < 5:
			o.kind = opSample
		case r < 8:
			o.kind = opForwardBackward
		default:
			o.kind = opOptimStep
			o.lr = float64(i+1) * 1e-7
		}
		ops[i] = o
	}
	return ops
}

func samplePrompt(idx int) types.ModelInput { return types.ModelInputFromInts([]int{idx + 1, 2, 3}) }

func fwdbwdData(t *testing.T, idx int) []types.Datum {
	tokens := []int{idx%1000 + 1, 5, 7}
	d, err := types.NewDatum(types.ModelInputFromInts(tokens), map[string]any{
		"target_tokens": []int64{5, 7, 9}, "weights": []float32{1, 1, 1}})
	require.NoError(t, err)
	return []types.Datum{d}
}

// execute runs every op and records how it ended.
func (h *harness) execute(ops []*op) {
	crashReq := make(chan struct{}, 1)
	crasherDone := make(chan struct{})
	go func() {
		defer close(crasherDone)
		for range crashReq {
			h.crashRandom()
		}
	}()
	defer func() {
		close(crashReq)
		<-crasherDone
	}()
	record := func(o *op, err error, ctx context.Context) {
		o.err, o.duration = err, time.Since(o.start)
		o.hung = err != nil && ctx.Err() != nil
		if n := h.done.Add(1); n%crashEvery == 0 {
			select {
			case crashReq <- struct{}{}:
			default: // the previous crash is still being restarted
			}
		}
	}
	var wg sync.WaitGroup
	samples := make(chan *op)
	for range samplingWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range samples {
				ctx, cancel := context.WithTimeout(context.Background(), opDeadline)
				o.start = time.Now()
				_, err := h.samplers[o.client].Sample(ctx, samplePrompt(o.idx), 1, types.DefaultSamplingParams())
				record(o, err, ctx)
				cancel()
			}
		}()
	}
	for c := range configs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tc := h.trainers[c]
			window := make(chan struct{}, trainingWindow)
			var inflight sync.WaitGroup
			defer inflight.Wait()
			for _, o := range ops {
				if o.client != c || o.kind == opSample {
					continue
				}
				window <- struct{}{}
				ctx, cancel := context.WithTimeout(context.Background(), opDeadline)
				o.start = time.Now()
				var wait func() error
				if o.kind == opForwardBackward {
					f := tc.ForwardBackward(ctx, fwdbwdData(h.t, o.idx), tinkex.LossCrossEntropy, tinkex.WithLossFnConfig(map[string]float64{"chaos_op": float64(o.idx)}))
					wait = func() error { _, err := f.Result(ctx); return err }
				} else {
					p := tinkex.DefaultAdamParams()
					p.LearningRate = o.lr
					f := tc.OptimStep(ctx, p)
					wait = func() error { _, err := f.Result(ctx); return err }
				}
				inflight.Add(1)
				go func() {
					defer inflight.Done()
					defer cancel()
					record(o, wait(), ctx)
					<-window
				}()
			}
		}()
	}
	for _, o := range ops {
		if o.kind == opSample {
			samples <- o
		}
	}
	close(samples)
	wg.Wait()
}

// crashRandom makes a random training or sampling actor panic and waits
// for the restarts that calls for: the service supervisors are
// rest_for_one, so the crashed child and every child started after it in
// its service restart once. Crashes are serialized so each one's restarts
// can be told apart.
func (h *harness) crashRandom() {
	h.mu.Lock()
	c := h.rng.IntN(len(configs))
	training := h.rng.IntN(2) == 0
	h.mu.Unlock()
	tree, err := h.tree()
	if err != nil {
		h.addProblem("tree before a crash: " + err.Error())
		return
	}
	var id string
	var pid *actor.PID
	if training {
		id, pid = "training:"+h.trainers[c].ModelID(), inspect.PID(h.trainers[c])
	} else {
		id, pid = "sampling:"+h.samplers[c].SamplerID(), inspect.PID(h.samplers[c])
	}
	want := restForOne(tree, id)
	if len(want) == 0 {
		h.addProblem(id + " is not in the tree")
		return
	}
	h.mu.Lock()
	h.crashes[id]++
	for _, w := range want {
		h.expected[w]++
	}
	reason := fmt.Sprintf("chaos crash %d", len(h.crashes))
	h.mu.Unlock()
	inspect.ActorSystem(h.rt).Root.Send(pid, &inspect.Crash{Reason: reason})

	pending := map[string]int{}
	for _, w := range want {
		pending[w]++
	}
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for len(pending) > 0 {
		select {
		case got := <-h.events.restarted:
			if pending[got]--; pending[got] <= 0 {
				delete(pending, got)
			}
		case <-timeout.C:
			h.addProblem(fmt.Sprintf("crash of %s: restarts of %v never reported", id, sortedKeys(pending)))
			return
		}
	}
}

func (h *harness) addProblem(p string) {
	h.mu.Lock()
	h.problems = append(h.problems, p)
	h.mu.Unlock()
}

// restForOne returns id and the ids of its later siblings.
func restForOne(n supervisor.Node, id string) []string {
	for i, c := range n.Children {
		if c.ID == id {
			out := []string{}
			for _, s := range n.Children[i:] {
				out = append(out, s.ID)
			}
			return out
		}
		if found := restForOne(c, id); found != nil {
			return found
		}
	}
	return nil
}

func (h *harness) crashesSent() map[string]int {
	c, _, _ := h.expectations()
	return c
}

// restartCounts walks the tree: node id → restarts, for every node.
func restartCounts(n supervisor.Node, into map[string]int) {
	into[n.ID] += n.Restarts
	for _, c := range n.Children {
		restartCounts(c, into)
	}
}

func (h *harness) tree() (supervisor.Node, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.rt.Tree(ctx)
}

// expectations returns the crashes sent, the restarts they call for and
// the crashes whose restarts did not arrive.
func (h *harness) expectations() (crashes, expected map[string]int, problems []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	crashes, expected = map[string]int{}, map[string]int{}
	for k, v := range h.crashes {
		crashes[k] = v
	}
	for k, v := range h.expected {
		expected[k] = v
	}
	return crashes, expected, append([]string(nil), h.problems...)
}

// kindName names an outcome for the figures.
func kindName(err error) string {
	if err == nil {
		return "ok"
	}
	var e *types.Error
	if !errors.As(err, &e) {
		return "untyped"
	}
	return e.Kind.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return strings.TrimSpace(s)
}
