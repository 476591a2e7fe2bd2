package actors

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// After Close, every operation of the client fails with ErrClientStopped
// and sends nothing.
func TestEverythingFailsAfterClose(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t)
	tc := trainer(t, svc)
	sc := sampler(t, e, svc)
	ckpt, err := tc.SaveState(ctxT(t), "c1").Result(ctxT(t))
	require.NoError(t, err)
	rest := svc.Rest()
	require.NoError(t, svc.Close(ctxT(t)))
	before := e.srv.Count(tinkertest.Match{})

	ctx := ctxT(t)
	calls := map[string]func() error{
		"GetInfo":               func() error { _, err := tc.GetInfo(ctx); return err },
		"Unload":                func() error { _, err := tc.Unload(ctx); return err },
		"OptimStep":             func() error { _, err := tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx); return err },
		"GetServerCapabilities": func() error { _, err := svc.GetServerCapabilities(ctx); return err },
		"Sample":                func() error { _, err := sc.Sample(ctx, prompt, 1, types.DefaultSamplingParams()); return err },
		"CreateLoRATrainingClient": func() error {
			_, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B")
			return err
		},
		"CreateSamplingClient": func() error {
			_, err := svc.CreateSamplingClient(ctx, WithBaseModel("meta-llama/Llama-3.2-1B"))
			return err
		},
		"CreateTrainingClientFromState": func() error { _, err := svc.CreateTrainingClientFromState(ctx, ckpt.Path); return err },
		"ListTrainingRuns":              func() error { _, err := rest.ListTrainingRuns(ctx); return err },
		"GetTrainingRun":                func() error { _, err := rest.GetTrainingRun(ctx, tc.ModelID()); return err },
		"ListCheckpoints":               func() error { _, err := rest.ListCheckpoints(ctx, tc.ModelID()); return err },
		"ListUserCheckpoints":           func() error { _, err := rest.ListUserCheckpoints(ctx); return err },
		"GetWeightsInfo":                func() error { _, err := rest.GetWeightsInfo(ctx, ckpt.Path); return err },
		"GetSampler":                    func() error { _, err := rest.GetSampler(ctx, sc.SamplerID()); return err },
	}
	for name, f := range calls {
		assert.ErrorIs(t, f(), types.ErrClientStopped, name)
	}
	assert.Equal(t, before, e.srv.Count(tinkertest.Match{}), "no request after Close")
}

// countingTransport counts the requests tinkex hands to the network and
// how many are still in flight.
type countingTransport struct {
	started, inflight atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.started.Add(1)
	c.inflight.Add(1)
	defer c.inflight.Add(-1)
	return http.DefaultTransport.RoundTrip(r)
}

// An Unload polling when Runtime.Stop runs ends with ErrClientStopped;
// once Stop has returned no request is in flight and none is sent.
func TestUnloadInFlightStopsWithTheRuntime(t *testing.T) {
	srv := tinkertest.NewServer()
	t.Cleanup(srv.Close)
	rt, err := Start(context.Background(), withGetenv(noEnv),
		WithPollBackoff(PollBackoff{Initial: time.Millisecond, Max: 5 * time.Millisecond}))
	require.NoError(t, err)
	ct := &countingTransport{}
	hc := &http.Client{Transport: ct}
	svc, err := rt.NewServiceClient(ctxT(t), WithAPIKey(keyA), WithBaseURL(srv.URL()), WithHTTPClient(hc))
	require.NoError(t, err)
	tc := trainer(t, svc)

	// The unload's future never completes: every poll answers try_again.
	srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, QueueState: "active"})
	done := make(chan error, 1)
	go func() {
		_, err := tc.Unload(context.Background())
		done <- err
	}()
	require.Eventually(t, func() bool {
		return srv.Count(tinkertest.Match{Endpoint: tinkertest.EndpointRetrieveFuture}) >= 3
	}, 30*time.Second, time.Millisecond, "the unload is polling")

	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, rt.Stop(stopCtx))
	assert.Zero(t, ct.inflight.Load(), "no request in flight once Stop returned")
	sent := ct.started.Load()

	select {
	case err := <-done:
		assert.ErrorIs(t, err, types.ErrClientStopped)
	case <-time.After(30 * time.Second):
		t.Fatal("Unload still running after Stop returned")
	}
	assert.Equal(t, sent, ct.started.Load(), "no request sent after Stop returned")
	srv.Close() // waits for its handlers
	assert.LessOrEqual(t, int64(srv.Count(tinkertest.Match{})), sent, "the fake saw only what was sent before Stop returned")
	hc.CloseIdleConnections()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}
