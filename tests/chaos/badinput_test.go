package chaos

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// badInputEnv is a fault-free fake server and a runtime with one client of
// each kind.
type badInputEnv struct {
	srv *tinkertest.Server
	rt  *tinkex.Runtime
	svc *tinkex.ServiceClient
	tc  *tinkex.TrainingClient
	sc  *tinkex.SamplingClient
}

func newBadInputEnv(t *testing.T, rtOpts ...tinkex.RuntimeOption) *badInputEnv {
	t.Helper()
	srv := tinkertest.NewServer(tinkertest.WithLongPollHold(20 * time.Millisecond))
	t.Cleanup(srv.Close)
	rt, err := tinkex.Start(context.Background(), rtOpts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(t, rt.Stop(ctx))
	})
	ctx := t.Context()
	svc, err := rt.NewServiceClient(ctx, tinkex.WithAPIKey(keyA), tinkex.WithBaseURL(srv.URL()), tinkex.WithTelemetry(false))
	require.NoError(t, err)
	tc, err := svc.CreateLoRATrainingClient(ctx, baseModel)
	require.NoError(t, err)
	sc, err := svc.CreateSamplingClient(ctx, tinkex.WithBaseModel(baseModel))
	require.NoError(t, err)
	return &badInputEnv{srv: srv, rt: rt, svc: svc, tc: tc, sc: sc}
}

// sent counts the requests a call could have caused (heartbeats aside).
func (e *badInputEnv) sent() int {
	n := 0
	for _, r := range e.srv.Requests(tinkertest.Match{}) {
		if r.Endpoint != tinkertest.EndpointHeartbeat && r.Endpoint != tinkertest.EndpointTelemetry {
			n++
		}
	}
	return n
}

func datumOf(t *testing.T, tokens []int, targets []int64, weights []float32) tinkex.Datum {
	t.Helper()
	d, err := tinkex.NewDatum(tinkex.ModelInputFromInts(tokens), map[string]any{"target_tokens": targets, "weights": weights})
	require.NoError(t, err)
	return d
}

// TestBadInput feeds the public API bad input: each call must fail with a
// KindValidation *Error before any request is sent, and never panic.
func TestBadInput(t *testing.T) {
	e := newBadInputEnv(t)
	params := tinkex.DefaultSamplingParams()
	prompt := tinkex.ModelInputFromInts([]int{1, 2, 3})
	good := []tinkex.Datum{datumOf(t, []int{1, 2}, []int64{2, 3}, []float32{1, 1})}
	withParams := func(f func(p *tinkex.SamplingParams)) tinkex.SamplingParams {
		p := tinkex.DefaultSamplingParams()
		f(&p)
		return p
	}
	adam := func(f func(p *tinkex.AdamParams)) tinkex.AdamParams {
		p := tinkex.DefaultAdamParams()
		f(&p)
		return p
	}
	sample := func(p tinkex.ModelInput, n int, sp tinkex.SamplingParams, opts ...tinkex.SampleOption) func(context.Context) error {
		return func(ctx context.Context) error { _, err := e.sc.Sample(ctx, p, n, sp, opts...); return err }
	}
	fwdbwd := func(data []tinkex.Datum, loss tinkex.LossFnType, cfg map[string]float64) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := e.tc.ForwardBackward(ctx, data, loss, tinkex.WithLossFnConfig(cfg)).Result(ctx)
			return err
		}
	}
	optim := func(p tinkex.AdamParams) func(context.Context) error {
		return func(ctx context.Context) error { _, err := e.tc.OptimStep(ctx, p).Result(ctx); return err }
	}
	newService := func(opts ...tinkex.ServiceOption) func(context.Context) error {
		return func(ctx context.Context) error {
			svc, err := e.rt.NewServiceClient(ctx, append([]tinkex.ServiceOption{tinkex.WithTelemetry(false)}, opts...)...)
			if err == nil {
				_ = svc.Close(ctx)
			}
			return err
		}
	}
	badShape := tinkex.TensorData{DType: tinkex.DTypeFloat32, Shape: []int64{2, 3}, Float32s: []float32{1, 2, 3, 4}}

	cases := []struct {
		name   string
		call   func(context.Context) error
		secret string // must not appear in the error
	}{
		{name: "sample nil prompt", call: sample(tinkex.ModelInput{}, 1, params)},
		{name: "sample empty prompt", call: sample(tinkex.ModelInputFromInts(nil), 1, params)},
		{name: "sample nil chunk", call: sample(tinkex.ModelInput{Chunks: []tinkex.Chunk{nil}}, 1, params)},
		{name: "sample zero num_samples", call: sample(prompt, 0, params)},
		{name: "sample negative num_samples", call: sample(prompt, -1, params)},
		{name: "sample enormous num_samples", call: sample(prompt, math.MaxInt32, params)},
		{name: "sample NaN temperature", call: sample(prompt, 1, withParams(func(p *tinkex.SamplingParams) { p.Temperature = math.NaN() }))},
		{name: "sample top_p above 1", call: sample(prompt, 1, withParams(func(p *tinkex.SamplingParams) { p.TopP = 1.5 }))},
		{name: "sample invalid UTF-8 stop string", call: sample(prompt, 1, withParams(func(p *tinkex.SamplingParams) { p.Stop = tinkex.StopStrings("ok", "\xff\xfe") }))},
		{name: "sample empty stop string", call: sample(prompt, 1, withParams(func(p *tinkex.SamplingParams) { p.Stop = tinkex.StopStrings("") }))},
		{name: "sample negative top-k prompt logprobs", call: sample(prompt, 1, params, tinkex.WithTopkPromptLogprobs(-3))},
		{name: "compute logprobs nil prompt", call: func(ctx context.Context) error { _, err := e.sc.ComputeLogprobs(ctx, tinkex.ModelInput{}); return err }},
		{name: "forward_backward nil data", call: fwdbwd(nil, tinkex.LossCrossEntropy, nil)},
		{name: "forward_backward empty prompt", call: fwdbwd([]tinkex.Datum{{ModelInput: tinkex.ModelInput{}, LossFnInputs: good[0].LossFnInputs}}, tinkex.LossCrossEntropy, nil)},
		{name: "forward_backward tensor shape does not match its data", call: fwdbwd([]tinkex.Datum{{ModelInput: prompt,
			LossFnInputs: map[string]tinkex.TensorData{"weights": badShape, "target_tokens": good[0].LossFnInputs["target_tokens"]}}}, tinkex.LossCrossEntropy, nil)},
		{name: "forward_backward weights shape differs from target_tokens", call: fwdbwd([]tinkex.Datum{datumOf(t, []int{1, 2, 3}, []int64{2, 3, 4}, []float32{1, 1})}, tinkex.LossCrossEntropy, nil)},
		{name: "forward_backward target_tokens longer than the prompt", call: fwdbwd([]tinkex.Datum{datumOf(t, []int{1, 2}, []int64{2, 3, 4, 5}, []float32{1, 1, 1, 1})}, tinkex.LossCrossEntropy, nil)},
		{name: "forward_backward unknown loss", call: fwdbwd(good, tinkex.LossFnType("bogus"), nil)},
		{name: "forward_backward NaN loss config", call: fwdbwd(good, tinkex.LossPPO, map[string]float64{"clip_low_threshold": math.NaN()})},
		{name: "optim_step NaN learning rate", call: optim(adam(func(p *tinkex.AdamParams) { p.LearningRate = math.NaN() }))},
		{name: "optim_step infinite learning rate", call: optim(adam(func(p *tinkex.AdamParams) { p.LearningRate = math.Inf(1) }))},
		{name: "optim_step negative learning rate", call: optim(adam(func(p *tinkex.AdamParams) { p.LearningRate = -1 }))},
		{name: "optim_step beta1 of 1", call: optim(adam(func(p *tinkex.AdamParams) { p.Beta1 = 1 }))},
		{name: "save_state empty name", call: func(ctx context.Context) error { _, err := e.tc.SaveState(ctx, " ").Result(ctx); return err }},
		{name: "save_state name with slash", call: func(ctx context.Context) error { _, err := e.tc.SaveState(ctx, "a/b").Result(ctx); return err }},
		{name: "save_state zero ttl", call: func(ctx context.Context) error {
			_, err := e.tc.SaveState(ctx, "x", tinkex.WithTTL(time.Millisecond)).Result(ctx)
			return err
		}},
		{name: "load_state not a tinker path", call: func(ctx context.Context) error {
			_, err := e.tc.LoadState(ctx, "s3://bucket/x").Result(ctx)
			return err
		}},
		{name: "lora rank zero", call: func(ctx context.Context) error {
			_, err := e.svc.CreateLoRATrainingClient(ctx, baseModel, tinkex.WithRank(0))
			return err
		}},
		{name: "sampling client without a model", call: func(ctx context.Context) error { _, err := e.svc.CreateSamplingClient(ctx); return err }},
		{name: "sampling client bad model path", call: func(ctx context.Context) error {
			_, err := e.svc.CreateSamplingClient(ctx, tinkex.WithModelPath("/tmp/weights"))
			return err
		}},
		{name: "base URL with user:password", secret: "hunter2secret",
			call: newService(tinkex.WithAPIKey(keyA), tinkex.WithBaseURL(strings.Replace(e.srv.URL(), "http://", "http://alice:hunter2secret@", 1)))},
		{name: "base URL with a key as user", secret: keyB[:5],
			call: newService(tinkex.WithAPIKey(keyA), tinkex.WithBaseURL(strings.Replace(e.srv.URL(), "http://", "http://"+keyB+"@", 1)))},
		{name: "base URL not http", call: newService(tinkex.WithAPIKey(keyA), tinkex.WithBaseURL("ftp://example.com"))},
		{name: "base URL unparsable", call: newService(tinkex.WithAPIKey(keyA), tinkex.WithBaseURL("http://[::1"))},
		{name: "empty API key", call: newService(tinkex.WithAPIKey(""), tinkex.WithBaseURL(e.srv.URL()))},
		{name: "malformed API key", secret: "not-a-tinker-key-0123456789",
			call: newService(tinkex.WithAPIKey("not-a-tinker-key-0123456789"), tinkex.WithBaseURL(e.srv.URL()))},
		{name: "negative max retries", call: newService(tinkex.WithAPIKey(keyA), tinkex.WithBaseURL(e.srv.URL()), tinkex.WithMaxRetries(-1))},
		{name: "bad client name", call: newService(tinkex.WithAPIKey(keyA), tinkex.WithBaseURL(e.srv.URL()), tinkex.WithName("a b/c"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			before := e.sent()
			err := callNoPanic(ctx, c.call)
			var te *types.Error
			require.ErrorAs(t, err, &te, "a typed error")
			assert.ErrorIs(t, err, tinkex.ErrValidation, "kind %s: %v", te.Kind, err)
			assert.NotEmpty(t, te.Message, "the error says what is wrong")
			assert.Equal(t, before, e.sent(), "nothing was sent")
			if c.secret != "" {
				assert.NotContains(t, err.Error(), c.secret)
				assert.NotContains(t, fmt.Sprintf("%+v %#v", err, err), c.secret)
			}
		})
	}
}

// callNoPanic turns a panic into an error, so a case that panics fails
// instead of ending the test binary.
func callNoPanic(ctx context.Context, f func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panicked: %v", r)
		}
	}()
	return f(ctx)
}

// TestOversizedResponseBody: a response larger than WithMaxResponseBytes
// fails the call with a typed error; nothing panics and the client stays
// usable.
func TestOversizedResponseBody(t *testing.T) {
	e := newBadInputEnv(t, tinkex.WithMaxResponseBytes(4096))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := tinkex.DefaultSamplingParams()
	big := 5000
	p.MaxTokens = &big
	err := callNoPanic(ctx, func(ctx context.Context) error {
		_, err := e.sc.Sample(ctx, tinkex.ModelInputFromInts([]int{1, 2, 3}), 8, p)
		return err
	})
	var te *types.Error
	require.ErrorAs(t, err, &te)
	assert.Contains(t, te.Error(), "cap")
	assert.False(t, errors.Is(err, tinkex.ErrCanceled))
	_, err = e.sc.Sample(ctx, tinkex.ModelInputFromInts([]int{1, 2, 3}), 1, tinkex.DefaultSamplingParams())
	require.NoError(t, err, "the client stays usable")
	assert.Positive(t, e.srv.Count(tinkertest.Match{Endpoint: tinkertest.EndpointAsample, Status: http.StatusOK}))
}
