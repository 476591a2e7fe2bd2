package tinkex

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// withInput returns d with loss function input key replaced.
func withInput(d types.Datum, key string, t types.TensorData) types.Datum {
	m := make(map[string]types.TensorData, len(d.LossFnInputs))
	for k, v := range d.LossFnInputs {
		m[k] = v
	}
	m[key] = t
	return types.Datum{ModelInput: d.ModelInput, LossFnInputs: m}
}

// Values that would poison the model on the server are refused before any
// HTTP, naming the datum and the field.
func TestPoisonousTrainingValuesRefusedBeforeSending(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	tc := trainer(t, e.service(t))
	before := e.srv.Count(tinkertest.Match{})
	good := datum(t, 1, 2, 3)
	nan := float32(math.NaN())
	for name, tt := range map[string]struct {
		bad  types.Datum
		want string
	}{
		"NaN weight":      {withInput(good, "weights", types.Float32Tensor([]float32{1, nan, 1})), `validation error: datum 1: loss_fn_inputs["weights"][1] is NaN`},
		"Inf weight":      {withInput(good, "weights", types.Float32Tensor([]float32{1, 1, float32(math.Inf(1))})), `validation error: datum 1: loss_fn_inputs["weights"][2] is +Inf`},
		"negative weight": {withInput(good, "weights", types.Float32Tensor([]float32{-1, 1, 1})), `loss_fn_inputs["weights"][0] is -1`},
		"negative target": {withInput(good, "target_tokens", types.Int64Tensor([]int64{2, -3, 4})), `loss_fn_inputs["target_tokens"][1] is -3`},
	} {
		for _, op := range []string{"forward_backward", "forward"} {
			data := []types.Datum{good, tt.bad}
			f := tc.ForwardBackward(ctx, data, types.LossCrossEntropy)
			if op == "forward" {
				f = tc.Forward(ctx, data, types.LossCrossEntropy)
			}
			_, err := f.Result(ctx)
			if assert.ErrorIs(t, err, types.ErrValidation, name) {
				assert.Contains(t, err.Error(), tt.want, name)
			}
		}
	}
	assert.Equal(t, before, e.srv.Count(tinkertest.Match{}), "nothing was sent")
	_, err := tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err, "the model is not poisoned")
}

// The low-severity bad inputs are refused before sending, each with a
// clear error.
func TestLowSeverityBadInputRefusedBeforeSending(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	sc := sampler(t, e, svc)
	before := e.srv.Count(tinkertest.Match{})
	zero := 0
	params := types.DefaultSamplingParams()
	params.MaxTokens = &zero

	cases := map[string]struct {
		err  error
		want string
	}{}
	add := func(name, want string, err error) {
		cases[name] = struct {
			err  error
			want string
		}{err, want}
	}
	_, err := sc.Sample(ctx, prompt, 1, params)
	add("max_tokens 0", "max_tokens must be at least 1", err)
	_, err = svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B", WithRank(types.MaxLoraRank+1))
	add("rank above the bound", "rank must be at most 1024", err)
	_, err = svc.CreateLoRATrainingClient(ctx, " \t ")
	add("white-space base model", "base_model is empty", err)
	_, err = svc.CreateSamplingClient(ctx, WithBaseModel("   "))
	add("white-space sampling base model", "white space only", err)
	for _, name := range []string{"a\x00b", "a/b", "..", ".hidden", "a b", "tab\tname", "ünï", string(make([]byte, 129))} {
		_, err = tc.SaveState(ctx, name).Result(ctx)
		add("save_state "+name, "is not valid", err)
		_, err = tc.SaveWeightsForSampler(ctx, name).Result(ctx)
		add("save_weights_for_sampler "+name, "is not valid", err)
	}
	_, err = e.rt.NewServiceClient(ctx, WithAPIKey(keyA), WithBaseURL("http://127.0.0.1:99999"))
	add("port out of range", "port must be in 1..65535", err)
	_, err = e.rt.NewServiceClient(ctx, WithAPIKey(keyA), WithBaseURL("http://127.0.0.1:0"))
	add("port 0", "port must be in 1..65535", err)

	for name, c := range cases {
		if assert.ErrorIs(t, c.err, types.ErrValidation, name) {
			assert.Contains(t, c.err.Error(), c.want, name)
		}
	}
	assert.Equal(t, before, e.srv.Count(tinkertest.Match{}), "nothing was sent")
	_, err = tc.SaveState(ctx, "ok-Name_1.2").Result(ctx)
	require.NoError(t, err, "a valid name still saves")
}

// A server whose certificate is not trusted fails the ServiceClient at
// once: one attempt, not ten retries with backoff.
func TestUntrustedCertificateFailsAtOnce(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithTLS()})
	_, err := e.rt.NewServiceClient(ctxT(t), WithAPIKey(keyA), WithBaseURL(e.srv.URL()))
	require.ErrorIs(t, err, types.ErrValidation)
	var te *types.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 1, te.Attempts)
	assert.Contains(t, err.Error(), "certificate failed verification")
	assert.Zero(t, e.srv.Count(tinkertest.Match{}), "the handshake failed: no request reached the server")
}

// BEHAVIOR (Security): a key with white space is refused at construction,
// around it as well as inside, from the option or the environment, before
// anything is sent and without the key in the error.
func TestAPIKeyWithSurroundingWhiteSpaceIsRefused(t *testing.T) {
	e := newEnv(t, nil)
	for name, opts := range map[string][]ServiceOption{
		"option, trailing newline": {WithAPIKey(keyA + "\n")},
		"option, leading space":    {WithAPIKey(" " + keyA)},
		"option, white space only": {WithAPIKey("  \t")},
	} {
		_, err := e.rt.NewServiceClient(ctxT(t), append(opts, WithBaseURL(e.srv.URL()))...)
		require.ErrorIs(t, err, ErrValidation, name)
		assert.Contains(t, err.Error(), "white space", name)
		assert.NotContains(t, err.Error(), keyA[4:], name)
	}
	rt, err := Start(context.Background(), withGetenv(func(k string) string {
		if k == EnvAPIKey {
			return keyA + " "
		}
		return ""
	}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Stop(context.Background()) })
	_, err = rt.NewServiceClient(ctxT(t), WithBaseURL(e.srv.URL()))
	require.ErrorIs(t, err, ErrValidation, "from TINKER_API_KEY")
	assert.Zero(t, e.srv.Count(tinkertest.Match{}), "nothing was sent")
}
