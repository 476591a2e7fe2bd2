package tinkex

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

type ctxKey struct{}

// bind's two paths keep the same guarantee: the bound context ends with
// errClientStopped when the lifetime stops, ends with the caller's context,
// keeps the caller's values, and stop's drained waits for every bound call
// to leave.
func TestLifetimeBind(t *testing.T) {
	base := context.WithValue(context.Background(), ctxKey{}, "v")
	cancelable, cancelCaller := context.WithCancel(base)
	defer cancelCaller()
	for name, parent := range map[string]context.Context{"never canceled": base, "cancelable": cancelable} {
		t.Run(name, func(t *testing.T) {
			l := newLifetime()
			ctx, done := l.bind(parent)
			assert.Equal(t, "v", ctx.Value(ctxKey{}), "the caller's values")
			require.NoError(t, ctx.Err())
			l.stop()
			select {
			case <-ctx.Done():
			default:
				t.Fatal("stop did not cancel the bound call")
			}
			assert.ErrorIs(t, context.Cause(ctx), errClientStopped)
			select {
			case <-l.calls.drained:
				t.Fatal("drained before the call left")
			default:
			}
			done()
			<-l.calls.drained

			ctx2, done2 := l.bind(parent)
			assert.ErrorIs(t, context.Cause(ctx2), errClientStopped, "a call after stop starts canceled")
			done2()
		})
	}

	l := newLifetime()
	parent, cancel := context.WithCancel(context.Background())
	ctx, done := l.bind(parent)
	cancel()
	<-ctx.Done()
	assert.ErrorIs(t, context.Cause(ctx), context.Canceled, "the caller's cancel")
	done()
	l.stop()
	<-l.calls.drained
}

// A Sample in flight when Close runs, under a caller's context that is
// never canceled and under one that can be, ends with ErrClientStopped.
func TestSampleInFlightEndsOnClose(t *testing.T) {
	for _, name := range []string{"background", "cancelable"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			svc := e.service(t)
			sc := sampler(t, e, svc)
			// Every poll answers try_again: the sample never completes.
			e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointRetrieveFuture, QueueState: "active"})
			ctx := context.Background()
			if name == "cancelable" {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
			}
			done := make(chan error, 1)
			go func() {
				_, err := sc.Sample(ctx, prompt, 1, types.DefaultSamplingParams())
				done <- err
			}()
			require.Eventually(t, func() bool {
				return e.srv.Count(tinkertest.Match{Endpoint: tinkertest.EndpointRetrieveFuture}) >= 2
			}, 30*time.Second, time.Millisecond, "the sample is polling")
			require.NoError(t, svc.Close(ctxT(t)))
			select {
			case err := <-done:
				assert.ErrorIs(t, err, types.ErrClientStopped)
			case <-time.After(30 * time.Second):
				t.Fatal("the sample in flight did not end after Close")
			}
		})
	}
}
