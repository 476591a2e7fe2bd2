package tinkex

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex/internal/inspect"
	"github.com/tinkex-go/tinkex/telemetry"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

func TestResolveConfig(t *testing.T) {
	env := map[string]string{
		EnvAPIKey: "tml-from-env", EnvBaseURL: "https://Env.Example/", EnvProjectID: "p-env",
		EnvTags: "b, a,,b", EnvTelemetry: "0",
	}
	getenv := func(k string) string { return env[k] }
	c, err := resolve(nil, getenvLookup(getenv))
	require.NoError(t, err)
	assert.Equal(t, "tml-from-env", c.apiKey)
	assert.Equal(t, "https://env.example", c.baseURL)
	assert.Equal(t, "p-env", c.projectID)
	assert.Equal(t, []string{"a", "b"}, c.tags)
	assert.False(t, c.telemetry)
	assert.Equal(t, 10, c.maxRetries)

	c, err = resolve([]ServiceOption{WithAPIKey("tml-explicit"), WithBaseURL("http://127.0.0.1:9/"), WithProjectID("p"),
		WithTags("x"), WithTelemetry(true), WithMaxRetries(0), WithName("svc.1")}, getenvLookup(getenv))
	require.NoError(t, err)
	assert.Equal(t, "tml-explicit", c.apiKey, "explicit options win")
	assert.Equal(t, "http://127.0.0.1:9", c.baseURL)
	assert.Equal(t, []string{"x"}, c.tags)
	assert.True(t, c.telemetry)
	assert.Equal(t, 0, c.maxRetries)
	assert.Equal(t, "svc.1", c.name)

	c, err = resolve([]ServiceOption{WithAPIKey("tml-k")}, getenvLookup(noEnv))
	require.NoError(t, err)
	assert.Equal(t, types.DefaultBaseURL, c.baseURL)
	assert.True(t, c.telemetry, "telemetry is on by default")

	for _, bad := range [][]ServiceOption{
		nil, // no key anywhere
		{WithAPIKey("sk-wrong")},
		{WithAPIKey("tml-k"), WithBaseURL("ftp://x")},
		{WithAPIKey("tml-k"), WithBaseURL("https://user:secretpw@x")},
		{WithAPIKey("tml-k"), WithMaxRetries(-1)},
		{WithAPIKey("tml-k"), WithCallRetryBudget(-time.Second)},
		{WithAPIKey("tml-k"), WithName("has/slash")},
		{WithAPIKey("tml-k"), WithUserMetadata(map[string]string{"": "v"})},
	} {
		_, err := resolve(bad, getenvLookup(noEnv))
		assert.ErrorIs(t, err, types.ErrValidation)
		if err != nil {
			assert.NotContains(t, err.Error(), "secretpw")
		}
	}
	assert.Contains(t, fmt.Sprintf("%v %+v %#v", c, c, c), c.fingerprint)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", c, c, c), "tml-k")
}

// TINKER_TELEMETRY as the SDK reads it (reference §5): telemetry is on
// while the variable is unset or 1/true/yes/on in any case; any other
// value, the empty string and padded values included, turns it off.
func TestTelemetryEnv(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		set, on     bool
	}{
		{"unset", "", false, true},
		{"1", "1", true, true},
		{"TRUE", "TRUE", true, true},
		{"Yes", "Yes", true, true},
		{"on", "on", true, true},
		{"empty", "", true, false},
		{"0", "0", true, false},
		{"false", "false", true, false},
		{"off", "off", true, false},
		{"padded 1", " 1", true, false},
		{"2", "2", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvTelemetry, tc.value)
			if !tc.set {
				require.NoError(t, os.Unsetenv(EnvTelemetry)) // t.Setenv restores it
			}
			c, err := resolve([]ServiceOption{WithAPIKey(keyA), WithBaseURL("https://example.com")}, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.on, c.telemetry)
			c, err = resolve([]ServiceOption{WithAPIKey(keyA), WithBaseURL("https://example.com"), WithTelemetry(!tc.on)}, nil)
			require.NoError(t, err)
			assert.Equal(t, !tc.on, c.telemetry, "WithTelemetry wins over the environment")
		})
	}
}

// A runtime that reads the process environment sends no telemetry batch,
// not even the SESSION_START/SESSION_END flushed on Close, when
// TINKER_TELEMETRY is set but empty; unset, it does.
func TestTelemetryEnvSetButEmptyTurnsItOff(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     bool
		batches bool
	}{{"unset", false, true}, {"set but empty", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvTelemetry, "")
			if !tc.set {
				require.NoError(t, os.Unsetenv(EnvTelemetry))
			}
			srv := tinkertest.NewServer()
			t.Cleanup(srv.Close)
			ctx := ctxT(t)
			rt, err := Start(ctx, WithLogger(slog.New(slog.DiscardHandler)))
			require.NoError(t, err)
			svc, err := rt.NewServiceClient(ctx, WithAPIKey(keyA), WithBaseURL(srv.URL()))
			require.NoError(t, err)
			require.NoError(t, svc.Close(ctx))
			require.NoError(t, rt.Stop(ctx))
			assert.Equal(t, tc.batches, len(srv.TelemetryBatches()) > 0)
		})
	}
}

func TestSessionStartupHeartbeatsAndTelemetry(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithoutDynamicConfig()}, WithHeartbeatInterval(5*time.Millisecond))
	svc := e.service(t, WithTags("t1", "t2"), WithProjectID("proj"), WithUserMetadata(map[string]string{"team": "x"}), WithTelemetry(true))
	sessions := e.srv.Sessions()
	require.Len(t, sessions, 1)
	s := sessions[0]
	assert.Equal(t, svc.SessionID(), s.ID)
	assert.Equal(t, []string{"t1", "t2"}, s.Tags)
	assert.Equal(t, "proj", s.ProjectID)
	assert.Equal(t, map[string]any{"team": "x"}, s.UserMetadata)
	assert.Equal(t, types.ProtocolVersion, s.SDKVersion)
	assert.Equal(t, 404, e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointDynamicConfig})[0].Status,
		"dynamic_config 404 means defaults; startup goes on")

	require.Eventually(t, func() bool { return e.srv.Heartbeats(svc.SessionID()) >= 2 }, 20*time.Second, time.Millisecond)
	ok, _ := svc.HeartbeatStats()
	assert.GreaterOrEqual(t, ok, int64(1))

	require.NoError(t, svc.Close(context.Background()))
	batches := e.srv.TelemetryBatches()
	require.NotEmpty(t, batches, "SESSION_START is flushed by Close")
	var names []string
	for _, b := range batches {
		for _, ev := range b.Events {
			names = append(names, fmt.Sprint(ev["event"]))
		}
		assert.Equal(t, svc.SessionID(), b.SessionID)
	}
	assert.Contains(t, names, "SESSION_START")
}

func TestTelemetryOffSendsNoBatches(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t, WithTelemetry(false))
	require.NoError(t, svc.Close(context.Background()))
	assert.Equal(t, 0, e.srv.CountEndpoint(tinkertest.EndpointTelemetry))
}

func TestSessionFailureIsReturned(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithKeys(keyB)})
	_, err := e.rt.NewServiceClient(ctxT(t), WithAPIKey(keyA), WithBaseURL(e.srv.URL()))
	assert.ErrorIs(t, err, types.ErrUser)
	assert.NotContains(t, err.Error(), keyA)
	assert.Empty(t, e.rt.Services(), "a failed client leaves nothing behind")
}

func TestNamesAreUnique(t *testing.T) {
	e := newEnv(t, nil)
	e.service(t, WithName("same"))
	_, err := e.rt.NewServiceClient(ctxT(t), WithAPIKey(keyA), WithBaseURL(e.srv.URL()), WithName("same"))
	assert.ErrorIs(t, err, types.ErrValidation)
}

// Pipelining: optim_step is submitted before forward_backward's result
// exists (the server holds all work until resumed).
func TestPipelinedSubmission(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	e.srv.PauseProcessing()
	fb := tc.ForwardBackward(ctx, []types.Datum{datum(t, 1, 2)}, types.LossCrossEntropy)
	opt := tc.OptimStep(ctx, types.DefaultAdamParams())
	require.Eventually(t, func() bool { return e.srv.CountEndpoint(tinkertest.EndpointOptimStep) == 1 }, 20*time.Second, time.Millisecond)
	select {
	case <-fb.Done():
		t.Fatal("forward_backward finished while the server was paused")
	default:
	}
	e.srv.ResumeProcessing()
	_, err := fb.Result(ctx)
	require.NoError(t, err)
	_, err = opt.Result(ctx)
	require.NoError(t, err)
}

// Operations called from many goroutines get gapless, unique seq_ids.
func TestConcurrentOpsGetGaplessSeqIDs(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	reqs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointOptimStep})
	require.Len(t, reqs, 20)
	for i, r := range reqs {
		assert.Equal(t, int64(i+1), r.SeqID, "arrival order is seq order")
	}
	assert.Equal(t, int64(21), tc.NextSeqID())
}

func TestBadInputIsRejectedBeforeSending(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	sc := sampler(t, e, svc)
	before := len(e.srv.Requests(tinkertest.Match{}))

	nan := types.DefaultAdamParams()
	nan.LearningRate = math.NaN()
	bigN := 1 << 20
	badStop := types.DefaultSamplingParams()
	badStop.Stop = types.StopStrings("ok", string([]byte{0xff, 0xfe}))
	ragged, err := types.NewDatum(types.ModelInputFromInts([]int{1, 2}), map[string]any{"target_tokens": []int64{1, 2}})
	require.NoError(t, err)
	ragged.LossFnInputs["weights"] = types.TensorData{DType: types.DTypeFloat32, Float32s: []float32{1, 2, 3}, Shape: []int64{2}}
	neg := -1
	negMax := types.DefaultSamplingParams()
	negMax.MaxTokens = &neg

	cases := map[string]error{}
	_, cases["nan learning rate"] = tc.OptimStep(ctx, nan).Result(ctx)
	_, cases["no data"] = tc.ForwardBackward(ctx, nil, types.LossCrossEntropy).Result(ctx)
	_, cases["unknown loss"] = tc.ForwardBackward(ctx, []types.Datum{datum(t, 1)}, "nope").Result(ctx)
	_, cases["mismatched tensor"] = tc.ForwardBackward(ctx, []types.Datum{ragged}, types.LossCrossEntropy).Result(ctx)
	_, cases["nan loss config"] = tc.ForwardBackward(ctx, []types.Datum{datum(t, 1)}, types.LossPPO, WithLossFnConfig(map[string]float64{"clip_low_threshold": math.Inf(1)})).Result(ctx)
	_, cases["empty save name"] = tc.SaveState(ctx, "").Result(ctx)
	_, cases["bad load path"] = tc.LoadState(ctx, "s3://x").Result(ctx)
	_, cases["empty prompt"] = sc.Sample(ctx, types.ModelInput{}, 1, types.DefaultSamplingParams())
	_, cases["huge num_samples"] = sc.Sample(ctx, prompt, bigN, types.DefaultSamplingParams())
	_, cases["zero num_samples"] = sc.Sample(ctx, prompt, 0, types.DefaultSamplingParams())
	_, cases["invalid utf8 stop"] = sc.Sample(ctx, prompt, 1, badStop)
	_, cases["negative max_tokens"] = sc.Sample(ctx, prompt, 1, negMax)
	_, cases["no model"] = svc.CreateLoRATrainingClient(ctx, "")
	_, cases["rank 0"] = svc.CreateLoRATrainingClient(ctx, "m", WithRank(0))
	_, cases["nothing trained"] = svc.CreateLoRATrainingClient(ctx, "m", WithTrainMLP(false), WithTrainAttn(false), WithTrainUnembed(false))
	_, cases["no sampling target"] = svc.CreateSamplingClient(ctx)
	_, cases["bad model path"] = svc.CreateSamplingClient(ctx, WithModelPath("http://x"))
	for name, err := range cases {
		assert.ErrorIs(t, err, types.ErrValidation, name)
	}
	assert.Equal(t, before, len(e.srv.Requests(tinkertest.Match{})), "nothing was sent")
}

func TestSamplingFeatures(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	sc := sampler(t, e, svc)
	lps, err := sc.ComputeLogprobs(ctx, prompt)
	require.NoError(t, err)
	require.Len(t, lps, 5)
	_, ok := lps.At(0)
	assert.False(t, ok, "the first prompt token has no logprob")
	_, ok = lps.At(1)
	assert.True(t, ok)

	futs := make([]*Future[*types.SampleResponse], 10)
	for i := range futs {
		futs[i] = sc.SampleAsync(ctx, prompt, 1, types.DefaultSamplingParams(), WithTopkPromptLogprobs(2), WithPromptLogprobs())
	}
	for _, f := range futs {
		r, err := f.Result(ctx)
		require.NoError(t, err)
		assert.Len(t, r.TopkPromptLogprobs, 5)
		again, err := f.Result(ctx)
		require.NoError(t, err)
		assert.Same(t, r, again, "a future can be awaited again")
	}
	seqs := map[int64]bool{}
	for _, r := range e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointAsample}) {
		assert.False(t, seqs[r.SeqID], "seq_id %d repeated", r.SeqID)
		seqs[r.SeqID] = true
	}
	assert.Len(t, seqs, 11)
	asyncLP, err := sc.ComputeLogprobsAsync(ctx, prompt).Result(ctx)
	require.NoError(t, err)
	assert.Len(t, asyncLP, 5)
}

func TestCheckpointFlows(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc, err := svc.CreateLoRATrainingClient(ctx, "meta-llama/Llama-3.2-1B", WithRank(4))
	require.NoError(t, err)
	st, err := tc.SaveState(ctx, "ckpt", WithTTL(time.Hour)).Result(ctx)
	require.NoError(t, err)
	assert.Equal(t, "tinker://"+tc.ModelID()+"/weights/ckpt", st.Path)
	_, err = tc.LoadStateWithOptimizer(ctx, st.Path).Result(ctx)
	require.NoError(t, err)

	tc2, err := svc.CreateTrainingClientFromState(ctx, st.Path)
	require.NoError(t, err)
	assert.NotEqual(t, tc.ModelID(), tc2.ModelID())
	loads := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointLoadWeights, ModelID: tc2.ModelID()})
	require.Len(t, loads, 1)
	assert.Equal(t, int64(1), loads[0].SeqID)

	sc, err := tc.SaveWeightsAndGetSamplingClient(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, e.srv.CountEndpoint(tinkertest.EndpointCreateSamplingSession), "no create_sampling_session")
	_, err = sc.Sample(ctx, prompt, 1, types.DefaultSamplingParams())
	require.NoError(t, err)

	info, err := tc.GetInfo(ctx)
	require.NoError(t, err)
	assert.Equal(t, tc.ModelID(), info.ModelID)
	caps, err := svc.GetServerCapabilities(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, caps.SupportedModels)
	runs, err := svc.Rest().ListTrainingRuns(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(runs.TrainingRuns), 2)
	cks, err := svc.Rest().ListCheckpoints(ctx, tc.ModelID())
	require.NoError(t, err)
	assert.NotEmpty(t, cks.Checkpoints)
	wi, err := svc.Rest().GetWeightsInfo(ctx, st.Path)
	require.NoError(t, err)
	assert.Equal(t, "meta-llama/Llama-3.2-1B", wi.BaseModel)
	smp, err := svc.Rest().GetSampler(ctx, sc.SamplerID())
	require.NoError(t, err)
	assert.Equal(t, sc.SamplerID(), smp.SamplerID)
	_, err = tc.Unload(ctx)
	require.NoError(t, err)
}

func TestCreateViaLoadWeights(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithClientConfig(map[string]any{"create_model_via_load_weights": true})})
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	st, err := tc.SaveState(ctx, "c").Result(ctx)
	require.NoError(t, err)
	tc2, err := svc.CreateTrainingClientFromStateWithOptimizer(ctx, st.Path)
	require.NoError(t, err)
	assert.Equal(t, svc.SessionID()+":train:1", tc2.ModelID())
	assert.Equal(t, 1, e.srv.CountEndpoint(tinkertest.EndpointCreateModel), "no create_model for the restore")
	assert.Zero(t, e.srv.CountEndpoint(tinkertest.EndpointWeightsInfo), "one load_weights and nothing before it, as the SDK")
	loads := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointLoadWeights})
	require.Len(t, loads, 1)
	assert.NotContains(t, loads[0].Body.(map[string]any), "base_model", "the SDK's base_model=None is omitted")
	_, err = tc2.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.NoError(t, err)
}

func TestLoggerAndKeysNeverPrinted(t *testing.T) {
	logger, logged := captureLogs(slog.LevelDebug)
	e := newEnv(t, nil, WithLogger(logger))
	svc := e.service(t)
	sc := sampler(t, e, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointAsample, Status: 500, Times: 1})
	_, _ = sc.Sample(ctxT(t), prompt, 1, types.DefaultSamplingParams())
	e.rt.system.Root.Send(sc.pid.Load(), &inspect.Crash{Reason: "boom"})
	tree, err := e.rt.Tree(ctxT(t))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return strings.Contains(logged(), "Recovering")
	}, 10*time.Second, time.Millisecond, "protoactor's panic log reaches the runtime logger")
	out := logged()
	for _, s := range []string{out, tree.String(), fmt.Sprintf("%v %+v %#v", svc, svc, svc), svc.String()} {
		assert.NotContains(t, s, keyA)
		assert.NotContains(t, s, keyA[:8])
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Public types print a short description, never the key, and never race
// with the actors by reflecting over their fields.
func TestPublicTypesFormatWithoutKeys(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	sc := sampler(t, e, svc)
	f := tc.OptimStep(ctx, types.DefaultAdamParams()) // formatted while in flight
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	for _, v := range []any{e.rt, svc, tc, sc, svc.Rest(), f} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, keyA)
			assert.Contains(t, out, "tinkex.", verb)
		}
		logger.Info("value", "v", v)
	}
	assert.NotContains(t, logs.String(), keyA)
	assert.Contains(t, fmt.Sprint(tc), tc.ModelID())
	assert.Contains(t, fmt.Sprint(sc), sc.SamplerID())
	_, err := f.Result(ctx)
	require.NoError(t, err)
	assert.Contains(t, fmt.Sprint(f), "state=done")
}

// Every fmt verb prints the description: %d, %t, %o or %x would make fmt
// print the fields (the ServiceClient holds its resolvedConfig, key
// included, by value, and every client points to a ServiceClient, which a
// bad verb prints in full).
func TestNoFormatVerbPrintsTheKey(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t)
	tc := trainer(t, svc)
	sc := sampler(t, e, svc)
	f := tc.OptimStep(ctx, types.DefaultAdamParams())
	cfg, err := resolve([]ServiceOption{WithAPIKey(keyA), WithBaseURL("https://example.com")}, getenvLookup(noEnv))
	require.NoError(t, err)
	for name, v := range map[string]any{"*Runtime": e.rt, "*ServiceClient": svc, "*TrainingClient": tc, "*SamplingClient": sc,
		"*RestClient": svc.Rest(), "*Future": f, "resolvedConfig": cfg} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%t", "%o", "%x", "%q"} {
			out := fmt.Sprintf(verb, v)
			assert.NotContains(t, out, keyA, "%s %s: %.200s", name, verb, out)
			assert.NotContains(t, out, fmt.Sprintf("%x", keyA), "%s %s hex-encodes the key", name, verb)
		}
	}
	_, err = f.Result(ctx)
	require.NoError(t, err)
}

func TestTreeShowsTheWholeRuntime(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	a := e.service(t, WithName("a"))
	e.service(t, WithName("b"), WithAPIKey(keyB))
	tc := trainer(t, a)
	sc := sampler(t, e, a)
	tree, err := e.rt.Tree(ctx)
	require.NoError(t, err)
	out := tree.String()
	for _, want := range []string{"tinkex", "registry", "limiter:" + a.Fingerprint(), "limiter:" + e.rt.Services()[1].Fingerprint(),
		"clients", "service:a", "service:b", "session", "training:" + tc.ModelID(), "sampling:" + sc.SamplerID()} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, keyA)
	assert.NotContains(t, out, keyB)
}

// A ServiceClient's server telemetry reports the failures of its own config
// (one telemetry.Router per runtime routes them), not another's.
func TestServerTelemetryReportsItsOwnConfigsFailures(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	a := e.service(t, WithName("a"), WithTelemetry(true))
	b := e.service(t, WithName("b"), WithAPIKey(keyB), WithTelemetry(true))
	e.srv.Inject(tinkertest.Fault{Key: keyA, Endpoint: tinkertest.EndpointTrainingRuns, Status: 422, Body: `{"detail":"bad page"}`})
	_, err := a.Rest().ListTrainingRuns(ctx)
	require.Error(t, err)
	_, err = b.Rest().ListTrainingRuns(ctx)
	require.NoError(t, err)
	require.NoError(t, a.Close(ctx))
	require.NoError(t, b.Close(ctx))

	events := serverEventNames(e.srv)
	assert.Contains(t, events[a.SessionID()], "user_error", "a's 422 is reported in a's session")
	assert.NotContains(t, events[b.SessionID()], "user_error", "b saw no failure")
	assert.Contains(t, events[b.SessionID()], "SESSION_START")
}

// serverEventNames returns the names of the server telemetry events the
// fake received, by session: a GENERIC_EVENT's event_name, else its type.
func serverEventNames(srv *tinkertest.Server) map[string][]string {
	names := map[string][]string{}
	for _, batch := range srv.TelemetryBatches() {
		for _, ev := range batch.Events {
			names[batch.SessionID] = append(names[batch.SessionID], serverEventName(ev))
		}
	}
	return names
}

func serverEventName(ev map[string]any) string {
	if n, ok := ev["event_name"]; ok {
		return fmt.Sprint(n)
	}
	return fmt.Sprint(ev["event"])
}

// Two ServiceClients of one config: each session's server telemetry holds
// its own requests' and operations' events and none of the other's (the
// SDK has one Telemetry per session holder).
func TestServerTelemetryStaysInItsSession(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	a := e.service(t, WithName("a"), WithTelemetry(true))
	b := e.service(t, WithName("b"), WithTelemetry(true))
	tc := trainer(t, a)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, FutureError: "boom", Category: types.CategoryServer, Times: 1})
	_, err := tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.Error(t, err)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointTrainingRuns, Status: 422, Body: `{"detail":"bad page"}`, Times: 1})
	_, err = a.Rest().ListTrainingRuns(ctx)
	require.Error(t, err)
	require.NoError(t, a.Close(context.Background()))
	require.NoError(t, b.Close(context.Background()))

	names := serverEventNames(e.srv)
	for _, batch := range e.srv.TelemetryBatches() {
		for _, ev := range batch.Events {
			data, _ := ev["event_data"].(map[string]any)
			if sid, ok := data[telemetry.KeySessionID]; ok {
				assert.Equal(t, batch.SessionID, sid, "%s went to another session's batch", serverEventName(ev))
			}
		}
	}
	assert.Contains(t, names[a.SessionID()], "user_error", "a's 422")
	assert.NotContains(t, names[b.SessionID()], "user_error")
	assert.NotContains(t, names[b.SessionID()], "UNHANDLED_EXCEPTION", "a's failed optim_step is not b's")
	assert.Contains(t, names[b.SessionID()], "SESSION_START")
}

// A call on a closed client puts none of its counters back in the registry:
// Close dropped them, and the next client of the same name starts afresh.
func TestNoCounterOutlivesClose(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t, WithName("x"))
	tc := trainer(t, svc)
	require.NoError(t, svc.Close(ctxT(t)))
	_, err := tc.SaveWeightsAndGetSamplingClient(ctxT(t)) // takes a sampling_session_seq_id first
	require.Error(t, err)
	_, err = svc.CreateSamplingClient(ctxT(t), WithBaseModel("meta-llama/Llama-3.2-1B"))
	require.Error(t, err)
	for name := range e.rt.registry.Counters() {
		assert.False(t, strings.HasPrefix(name, "service:x/"), "counter %s outlives Close", name)
	}
	svc2 := e.service(t, WithName("x"))
	assert.Equal(t, int64(0), svc2.nextSamplingSeq(), "the new client's sequence starts afresh")
}

// create_model carries the metadata given for that model only, as the
// SDK's create_lora_training_client(user_metadata=…): the ServiceClient's
// user metadata is the session's (create_session), and a model given none
// sends no user_metadata at all.
func TestCreateModelSendsOnlyItsOwnMetadata(t *testing.T) {
	e := newEnv(t, nil)
	svc := e.service(t, WithUserMetadata(map[string]string{"team": "x"}))
	_, err := svc.CreateLoRATrainingClient(ctxT(t), "Qwen/Qwen3-8B")
	require.NoError(t, err)
	_, err = svc.CreateLoRATrainingClient(ctxT(t), "Qwen/Qwen3-8B", WithModelMetadata(map[string]string{"run": "r1"}))
	require.NoError(t, err)
	reqs := e.srv.Requests(tinkertest.Match{Endpoint: tinkertest.EndpointCreateModel})
	require.Len(t, reqs, 2)
	first := reqs[0].Body.(map[string]any)
	assert.NotContains(t, first, "user_metadata", "no metadata of its own: omitted, as the SDK omits None")
	assert.Equal(t, map[string]any{"run": "r1"}, reqs[1].Body.(map[string]any)["user_metadata"])
	assert.Equal(t, map[string]any{"team": "x"}, e.srv.Sessions()[0].UserMetadata, "the session's metadata went to create_session")
}

// The server's client config sizes the ServiceClient's own budgets and its
// billing pause window (reference §4.4, §4.6); absent fields keep the SDK's
// defaults.
func TestServerConfigSizesTheBudgetsAndTheBillingWindow(t *testing.T) {
	e := newEnv(t, []tinkertest.Option{tinkertest.WithClientConfig(map[string]any{
		"inflight_response_bytes_semaphore_size":   1234,
		"fwdbwd_dispatch_bytes_semaphore_size":     5678,
		"billing_exception_max_pause_duration_sec": 7,
	})})
	svc := e.service(t)
	assert.Equal(t, int64(1234), svc.inflight.Size())
	assert.Equal(t, int64(5678), svc.fwdbwdBytes.Size())
	assert.Equal(t, 7*time.Second, svc.http.BillingWindow())

	d := newEnv(t, nil).service(t)
	assert.Equal(t, int64(50<<20), d.inflight.Size())
	assert.Equal(t, int64(50_000_000), d.fwdbwdBytes.Size())
	assert.Equal(t, time.Hour, d.http.BillingWindow())
}

// Server telemetry reports user errors as user_error (WARNING), never as an
// ERROR event: a future failed with category user, a REST 404 (the
// reference: user_error replaces UNHANDLED_EXCEPTION for user errors).
func TestUserErrorsReachServerTelemetryAsWarnings(t *testing.T) {
	e := newEnv(t, nil)
	ctx := ctxT(t)
	svc := e.service(t, WithTelemetry(true))
	tc := trainer(t, svc)
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointOptimStep, FutureError: "bad lr", Category: types.CategoryUser, Times: 1})
	_, err := tc.OptimStep(ctx, types.DefaultAdamParams()).Result(ctx)
	require.True(t, types.IsUserError(err))
	e.srv.Inject(tinkertest.Fault{Endpoint: tinkertest.EndpointTrainingRuns, Status: 404, Times: 1})
	_, err = svc.Rest().ListTrainingRuns(ctx)
	require.True(t, types.IsUserError(err))
	require.NoError(t, svc.Close(context.Background()))
	users := 0
	for _, b := range e.srv.TelemetryBatches() {
		for _, ev := range b.Events {
			assert.NotEqual(t, "ERROR", fmt.Sprint(ev["severity"]), "%v", ev["event_name"])
			if ev["event_name"] == telemetry.UserErrorEvent {
				users++
			}
		}
	}
	assert.GreaterOrEqual(t, users, 2, "the failed future, the training op and the 404 are user_errors")
}

// A ServiceClient's supervision events carry its config and session, so its
// session's server telemetry reports its restarts (GENERIC_EVENT WARNING)
// and its subtree giving up (ERROR), as docs/telemetry.md's table says.
func TestSupervisorEventsReachTheirSessionsServerTelemetry(t *testing.T) {
	e := newEnv(t, nil, WithServiceIntensity(1, time.Hour))
	rec := recordEvents(t, e.rt.bus)
	svc := e.service(t, WithName("a"), WithTelemetry(true))
	other := e.service(t, WithName("b"), WithTelemetry(true))
	tc := trainer(t, svc)
	e.rt.system.Root.Send(tc.pid.Load(), &inspect.Crash{Reason: "boom"})
	require.Eventually(t, func() bool { return len(rec.named(telemetry.SupervisorChildRestarted)) >= 1 }, 10*time.Second, time.Millisecond)
	e.rt.system.Root.Send(tc.pid.Load(), &inspect.Crash{Reason: "boom2"})
	require.Eventually(t, func() bool { return len(rec.named(telemetry.SupervisorIntensityExceeded)) >= 1 }, 10*time.Second, time.Millisecond)
	restarted := rec.named(telemetry.SupervisorChildRestarted)[0]
	assert.Equal(t, svc.Fingerprint(), restarted.Metadata[telemetry.KeyConfig])
	assert.Equal(t, svc.SessionID(), restarted.Metadata[telemetry.KeySessionID])
	require.NoError(t, svc.Close(context.Background()))
	require.NoError(t, other.Close(context.Background()))

	names := serverEventNames(e.srv)
	assert.Contains(t, names[svc.SessionID()], telemetry.SupervisorChildRestarted)
	assert.Contains(t, names[svc.SessionID()], telemetry.SupervisorIntensityExceeded)
	assert.NotContains(t, names[other.SessionID()], telemetry.SupervisorChildRestarted, "a's restarts are a's")
}
