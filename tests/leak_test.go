package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
)

// Scenario 8. Once the runtime has stopped (and the fake servers have
// closed), none of the goroutines it started is left: not the actors, the
// limiter timers, the heartbeats, the pollers, the telemetry batchers nor
// the HTTP connections. (TestMain checks the same for the whole suite.)
func TestNoGoroutineLeakAfterStop(t *testing.T) {
	before := goleak.IgnoreCurrent()
	w := newWorld(t, tinkex.WithServiceIntensity(1, time.Hour))
	a := w.party(t, "a", w.srvA, keyA, 1)
	b := w.party(t, "b", w.srvB, keyB, 2)
	ctx := ctxT(t)

	// Some of everything: training, sampling with a 429 backoff, a crash and
	// restart, futures still being polled and samples still waiting when the
	// runtime stops.
	w.srvA.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointAsample, Status: 429, RetryAfter: "1", Times: 1})
	for _, p := range []*party{a, b} {
		steps := p.train(ctx, t, 1, nil)
		require.NoError(t, steps[0].fbErr)
		require.NoError(t, steps[0].optErr)
	}
	for _, s := range b.sample(ctx, 10, nil) {
		require.NoError(t, s.err)
	}
	w.awaitRestart(t, b)
	w.srvB.PauseProcessing()
	pending := b.tc.OptimStep(ctx, tinkex.DefaultAdamParams())
	waiting := a.sc.SampleAsync(ctx, a.prompt(0), 1, sampleParams())
	wait(t, w.rec.await(named(telemetry.LimiterBackoffSet, a.svc.Fingerprint())), "A's sample to be in backoff")
	require.Eventually(t, func() bool {
		return w.srvB.Count(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep, ModelID: b.tc.ModelID()}) == 2
	}, 30*time.Second, time.Millisecond, "B's optim_step submitted and being polled")

	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.rt.Stop(stopCtx))
	_, err := pending.Result(ctx)
	require.ErrorIs(t, err, tinkex.ErrClientStopped, "work in flight at Stop fails, typed")
	_, err = waiting.Result(ctx)
	require.ErrorIs(t, err, tinkex.ErrClientStopped)
	w.srvA.Close()
	w.srvB.Close()
	goleak.VerifyNone(t, before)
}
