package tinkex

import (
	"context"
	"errors"
	"iter"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/tokenizer"
	"github.com/tinkex-go/tinkex/types"
)

func firstErr[T any](seq iter.Seq2[T, error]) error {
	for _, err := range seq {
		return err
	}
	return nil
}

// Every operation of every client, after its ServiceClient closed and after
// the runtime stopped, ends with ErrClientStopped and sends nothing: the
// methods TestEverythingFailsAfterClose and TestRestAfterClose do not list
// too (tokenizers, REST writes and iterators, file downloads, sampler saves).
func TestEveryOperationFailsAfterCloseAndStop(t *testing.T) {
	for _, how := range []string{"close", "stop"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, nil)
			svc := e.service(t)
			tc := trainer(t, svc)
			sc := sampler(t, e, svc)
			ckpt, err := tc.SaveState(ctxT(t), "c1").Result(ctxT(t))
			require.NoError(t, err)
			rest := svc.Rest()
			if how == "close" {
				require.NoError(t, svc.Close(ctxT(t)))
			} else {
				require.NoError(t, e.rt.Stop(ctxT(t)))
			}
			before := e.srv.Count(tinkertest.Match{})
			ctx := ctxT(t)
			p := ckpt.Path
			hub := tokenizer.WithEndpoint("http://127.0.0.1:1") // never reached
			calls := map[string]func() error{
				"Forward": func() error {
					_, err := tc.Forward(ctx, []types.Datum{datum(t, 1, 2)}, types.LossCrossEntropy, nil).Result(ctx)
					return err
				},
				"ForwardBackward": func() error {
					_, err := tc.ForwardBackward(ctx, []types.Datum{datum(t, 1, 2)}, types.LossCrossEntropy, nil).Result(ctx)
					return err
				},
				"SaveState":                func() error { _, err := tc.SaveState(ctx, "c2").Result(ctx); return err },
				"LoadState":                func() error { _, err := tc.LoadState(ctx, p).Result(ctx); return err },
				"LoadStateWithOptimizer":   func() error { _, err := tc.LoadStateWithOptimizer(ctx, p).Result(ctx); return err },
				"SaveWeightsForSampler":    func() error { _, err := tc.SaveWeightsForSampler(ctx, "s1").Result(ctx); return err },
				"SaveWeightsAndGetSampler": func() error { _, err := tc.SaveWeightsAndGetSamplingClient(ctx); return err },
				"TrainingGetTokenizer":     func() error { _, err := tc.GetTokenizer(ctx, hub); return err },
				"SamplingGetTokenizer":     func() error { _, err := sc.GetTokenizer(ctx, hub); return err },
				"SampleAsync": func() error {
					_, err := sc.SampleAsync(ctx, prompt, 1, types.DefaultSamplingParams()).Result(ctx)
					return err
				},
				"ComputeLogprobs": func() error { _, err := sc.ComputeLogprobs(ctx, prompt); return err },
				"CreateTrainingClientFromStateWithOptimizer": func() error {
					_, err := svc.CreateTrainingClientFromStateWithOptimizer(ctx, p)
					return err
				},
				"TrainingRuns":               func() error { return firstErr(rest.TrainingRuns(ctx)) },
				"UserCheckpoints":            func() error { return firstErr(rest.UserCheckpoints(ctx)) },
				"Sessions":                   func() error { return firstErr(rest.Sessions(ctx)) },
				"GetTrainingRunByTinkerPath": func() error { _, err := rest.GetTrainingRunByTinkerPath(ctx, p); return err },
				"GetCheckpoint":              func() error { _, err := rest.GetCheckpoint(ctx, p); return err },
				"PublishCheckpoint":          func() error { return rest.PublishCheckpoint(ctx, p) },
				"UnpublishCheckpoint":        func() error { return rest.UnpublishCheckpoint(ctx, p) },
				"SetCheckpointTTL":           func() error { return rest.SetCheckpointTTL(ctx, p, time.Hour) },
				"ClearCheckpointTTL":         func() error { return rest.ClearCheckpointTTL(ctx, p) },
				"ListSessions":               func() error { _, err := rest.ListSessions(ctx); return err },
				"GetSession":                 func() error { _, err := rest.GetSession(ctx, "s"); return err },
				"AssignSessionProject":       func() error { return rest.AssignSessionProject(ctx, "s", "proj") },
				"GetAuditLog":                func() error { _, err := rest.GetAuditLog(ctx, "all", time.Time{}); return err },
				"DownloadCheckpointToFile": func() error {
					_, err := rest.DownloadCheckpointToFile(ctx, p, filepath.Join(t.TempDir(), "a.tar"))
					return err
				},
			}
			for name, f := range calls {
				done := make(chan error, 1)
				go func() { done <- f() }()
				select {
				case err := <-done:
					assert.ErrorIs(t, err, types.ErrClientStopped, name)
				case <-time.After(20 * time.Second):
					t.Fatalf("%s did not return after %s", name, how)
				}
			}
			assert.Equal(t, before, e.srv.Count(tinkertest.Match{}), "no request after %s", how)
		})
	}
}

// The runtime stopping while a training submit is in flight, with more
// operations queued behind it: every one of them ends (ErrClientStopped or
// ErrSeqGap), none waits for the caller's deadline, and nothing is sent
// after Stop returns.
func TestStopMidSubmitEndsQueuedOperations(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t)
	tc := trainer(t, svc)
	fault := e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, Delay: time.Hour})
	ctx := ctxT(t)
	first := tc.OptimStep(ctx, types.DefaultAdamParams())
	require.Eventually(t, func() bool { return e.srv.FaultHits(fault) == 1 }, 10*time.Second, time.Millisecond)
	queued := []interface{ Err(context.Context) error }{
		resultErr(tc.ForwardBackward(ctx, []types.Datum{datum(t, 1, 2)}, types.LossCrossEntropy, nil)),
		resultErr(tc.SaveState(ctx, "q")),
	}
	require.NoError(t, e.rt.Stop(ctxT(t)))
	after := e.srv.Count(tinkertest.Match{})
	short, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := first.Result(short)
	require.Error(t, err)
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
	assert.ErrorIs(t, err, types.ErrClientStopped)
	for i, q := range queued {
		err := q.Err(short)
		require.Error(t, err, i)
		assert.True(t, errors.Is(err, types.ErrClientStopped) || errors.Is(err, types.ErrSeqGap), "queued op %d: %v", i, err)
		assert.NotErrorIs(t, err, context.DeadlineExceeded)
	}
	assert.Equal(t, after, e.srv.Count(tinkertest.Match{}), "nothing sent after Stop returned")
}

type futureErr[T any] struct{ f *Future[T] }

func (f futureErr[T]) Err(ctx context.Context) error { _, err := f.f.Result(ctx); return err }

func resultErr[T any](f *Future[T]) futureErr[T] { return futureErr[T]{f} }
