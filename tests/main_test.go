package tests

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex"

	"github.com/tinkex-go/tinkex/limiter"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Two credentials. A and A′ use keyA on server A; B uses keyB on server B.
const (
	keyA      = "tml-acceptance-key-A-0123456789abcdef"
	keyB      = "tml-acceptance-key-B-fedcba9876543210"
	baseModel = "meta-llama/Llama-3.2-1B"
)

// world is two fake servers, a runtime with fast poll backoffs, and a
// recorder of every telemetry event, all stopped at the end of the test.
type world struct {
	srvA, srvB *tinkertest.Server
	rt         *tinkex.Runtime
	rec        *recorder
	logs       *syncBuffer
}

// newWorld starts the servers and the runtime. The runtime's logger writes
// to w.logs, so tests can check what it printed.
func newWorld(t *testing.T, rtOpts ...tinkex.RuntimeOption) *world {
	t.Helper()
	w := &world{
		srvA: tinkertest.NewServer(tinkertest.WithLongPollHold(20 * time.Millisecond)),
		srvB: tinkertest.NewServer(tinkertest.WithLongPollHold(20 * time.Millisecond)),
		logs: &syncBuffer{},
	}
	t.Cleanup(w.srvA.Close)
	t.Cleanup(w.srvB.Close)
	w.rec = newRecorder()
	bus := telemetry.NewBus()
	require.NoError(t, bus.Attach("acceptance-recorder", []string{"*"}, w.rec.handle))
	opts := append([]tinkex.RuntimeOption{
		tinkex.WithTelemetryBus(bus),
		tinkex.WithLogger(slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		tinkex.WithPollBackoff(tinkex.PollBackoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}),
		tinkex.WithLimiterOptions(limiter.WithThrottleWindow(time.Millisecond)),
	}, rtOpts...)
	rt, err := tinkex.Start(context.Background(), opts...)
	require.NoError(t, err)
	w.rt = rt
	t.Cleanup(func() { w.stop(t) })
	return w
}

// stop stops the runtime (idempotent).
func (w *world) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.rt.Stop(ctx))
}

// party is one ServiceClient with one TrainingClient and one
// SamplingClient.
type party struct {
	name string
	key  string
	srv  *tinkertest.Server
	svc  *tinkex.ServiceClient
	tc   *tinkex.TrainingClient
	sc   *tinkex.SamplingClient
	salt int // makes this party's data its own
}

// service creates a ServiceClient named name on srv with key, with every
// setting explicit (CI's environment may set TINKER_*).
func (w *world) service(t *testing.T, name string, srv *tinkertest.Server, key string, extra ...tinkex.ServiceOption) *tinkex.ServiceClient {
	t.Helper()
	opts := append([]tinkex.ServiceOption{
		tinkex.WithAPIKey(key), tinkex.WithBaseURL(srv.URL()), tinkex.WithName(name),
		tinkex.WithProjectID(""), tinkex.WithTags(), tinkex.WithTelemetry(true),
	}, extra...)
	svc, err := w.rt.NewServiceClient(ctxT(t), opts...)
	require.NoError(t, err)
	return svc
}

// party creates a ServiceClient and its TrainingClient, then its
// SamplingClient (in that order: the service subtree is rest_for_one).
func (w *world) party(t *testing.T, name string, srv *tinkertest.Server, key string, salt int, extra ...tinkex.ServiceOption) *party {
	t.Helper()
	p := &party{name: name, key: key, srv: srv, salt: salt}
	p.svc = w.service(t, name, srv, key, extra...)
	var err error
	p.tc, err = p.svc.CreateLoRATrainingClient(ctxT(t), baseModel, tinkex.WithRank(8))
	require.NoError(t, err)
	p.sc, err = p.svc.CreateSamplingClient(ctxT(t), tinkex.WithBaseModel(baseModel))
	require.NoError(t, err)
	return p
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recorder keeps every telemetry event in emission order and wakes
// waiters when an event they wait for arrives.
type recorder struct {
	mu      sync.Mutex
	events  []telemetry.Event
	waiters []*waiter
}

type waiter struct {
	match func(telemetry.Event) bool
	ch    chan struct{}
}

func newRecorder() *recorder { return &recorder{} }

func (r *recorder) handle(e telemetry.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	kept := r.waiters[:0]
	for _, w := range r.waiters {
		if w.match(e) {
			close(w.ch)
			continue
		}
		kept = append(kept, w)
	}
	r.waiters = kept
}

// await returns a channel closed once an event matching match has been
// recorded (at once if one already was).
func (r *recorder) await(match func(telemetry.Event) bool) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan struct{})
	for _, e := range r.events {
		if match(e) {
			close(ch)
			return ch
		}
	}
	r.waiters = append(r.waiters, &waiter{match: match, ch: ch})
	return ch
}

// indexed is an event and its position in emission order.
type indexed struct {
	i int
	telemetry.Event
}

// find returns the events matching match, in emission order.
func (r *recorder) find(match func(telemetry.Event) bool) []indexed {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []indexed
	for i, e := range r.events {
		if match(e) {
			out = append(out, indexed{i, e})
		}
	}
	return out
}

// named matches events called name whose config is fp ("" = any config).
func named(name, fp string) func(telemetry.Event) bool {
	return func(e telemetry.Event) bool {
		return e.Name == name && (fp == "" || e.Metadata[telemetry.KeyConfig] == fp)
	}
}

// wait blocks on ch, failing the test after a generous bound.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(60 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
