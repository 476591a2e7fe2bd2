package tests

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tinkex-go/tinkex"
	"github.com/tinkex-go/tinkex/tinkertest"
	"github.com/tinkex-go/tinkex/types"
)

// The load of scenario 1: per party, trainingSteps × (forward_backward →
// optim_step) and samplesPerClient concurrent samples.
const (
	trainingSteps    = 5
	samplesPerClient = 100
)

// batch is the party's training data of one step: two datums whose tokens
// depend on the party's salt and the step.
func (p *party) batch(t *testing.T, step int) []tinkex.Datum {
	t.Helper()
	var out []tinkex.Datum
	for d := 0; d < 2; d++ {
		n := 3 + d
		tokens := make([]int, n)
		targets := make([]int64, n)
		weights := make([]float32, n)
		for i := range tokens {
			tokens[i] = 100*p.salt + 10*step + 3*d + i
			targets[i] = int64(tokens[i] + 1)
			weights[i] = 1
		}
		dt, err := tinkex.NewDatum(tinkex.ModelInputFromInts(tokens), map[string]any{"target_tokens": targets, "weights": weights})
		require.NoError(t, err)
		out = append(out, dt)
	}
	return out
}

// prompt is the party's i-th sampling prompt.
func (p *party) prompt(i int) tinkex.ModelInput {
	return tinkex.ModelInputFromInts([]int{1000*p.salt + i, 7, p.salt})
}

func sampleParams() tinkex.SamplingParams {
	params := tinkex.DefaultSamplingParams()
	maxTokens, seed := 4, int64(11)
	params.MaxTokens, params.Seed = &maxTokens, &seed
	return params
}

// stepResult is what one training step returned.
type stepResult struct {
	data   []tinkex.Datum
	fb     *tinkex.ForwardBackwardOutput
	fbErr  error
	opt    *tinkex.OptimStepResponse
	optErr error
}

// train runs steps × (forward_backward → optim_step): both operations of a
// step are queued at once (the client pipelines them) and awaited before
// the next step. onStep is called after each step (may be nil).
func (p *party) train(ctx context.Context, t *testing.T, steps int, onStep func(i int)) []stepResult {
	out := make([]stepResult, steps)
	for i := range out {
		out[i].data = p.batch(t, i)
		fb := p.tc.ForwardBackward(ctx, out[i].data, tinkex.LossCrossEntropy)
		opt := p.tc.OptimStep(ctx, tinkex.DefaultAdamParams())
		out[i].fb, out[i].fbErr = fb.Result(ctx)
		out[i].opt, out[i].optErr = opt.Result(ctx)
		if onStep != nil {
			onStep(i)
		}
	}
	return out
}

// sampleResult is what one Sample call returned.
type sampleResult struct {
	prompt tinkex.ModelInput
	res    *tinkex.SampleResponse
	err    error
}

// sample runs n Sample calls concurrently; onDone is called after each
// (may be nil).
func (p *party) sample(ctx context.Context, n int, onDone func()) []sampleResult {
	out := make([]sampleResult, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i].prompt = p.prompt(i)
			out[i].res, out[i].err = p.sc.Sample(ctx, out[i].prompt, 1, sampleParams())
			if onDone != nil {
				onDone()
			}
		}()
	}
	wg.Wait()
	return out
}

// load is one party's results of the scenario-1 load.
type load struct {
	steps   []stepResult
	samples []sampleResult
}

// runLoad runs the training and the sampling load of every party in
// parallel and returns when all of it has ended.
func runLoad(ctx context.Context, t *testing.T, parties []*party) map[*party]*load {
	out := map[*party]*load{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, p := range parties {
		l := &load{}
		out[p] = l
		wg.Add(2)
		go func() {
			defer wg.Done()
			steps := p.train(ctx, t, trainingSteps, nil)
			mu.Lock()
			l.steps = steps
			mu.Unlock()
		}()
		go func() {
			defer wg.Done()
			samples := p.sample(ctx, samplesPerClient, nil)
			mu.Lock()
			l.samples = samples
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// assertTrainingCorrect checks every step succeeded with the fake model's
// exact answer for the party's own data: the loss of its batch, and an
// optim_step numbered by the step whose grad norm is the batch's.
func assertTrainingCorrect(t *testing.T, p *party, steps []stepResult) {
	t.Helper()
	require.Len(t, steps, trainingSteps)
	for i, s := range steps {
		require.NoError(t, s.fbErr, "%s step %d forward_backward", p.name, i)
		require.NoError(t, s.optErr, "%s step %d optim_step", p.name, i)
		want, err := tinkertest.ExpectedForwardBackwardOutput(types.ForwardBackwardRequest{
			ModelID: p.tc.ModelID(), Data: s.data, LossFn: types.LossCrossEntropy})
		require.NoError(t, err)
		assert.Equal(t, want.LossFnOutputs, s.fb.LossFnOutputs, "%s step %d: logprobs of its own data", p.name, i)
		assert.InDelta(t, want.Metrics["loss:sum"], s.fb.Metrics["loss:sum"], 1e-9, "%s step %d loss", p.name, i)
		assert.InDelta(t, float64(i+1), s.opt.Metrics["step:max"], 0, "%s optim_step number", p.name)
		assert.InDelta(t, math.Sqrt(math.Abs(want.Metrics["loss:sum"])), s.opt.Metrics["grad_norm:mean"], 1e-6,
			"%s step %d: the gradient applied is its own batch's", p.name, i)
	}
}

// assertSamplesCorrect checks every sample succeeded with the fake
// model's answer for its prompt.
func assertSamplesCorrect(t *testing.T, p *party, samples []sampleResult) {
	t.Helper()
	require.Len(t, samples, samplesPerClient)
	for i, s := range samples {
		require.NoError(t, s.err, "%s sample %d", p.name, i)
		want, err := tinkertest.ExpectedSampleResponse(types.SampleRequest{SamplingSessionID: p.sc.SamplerID(),
			NumSamples: 1, Prompt: s.prompt, SamplingParams: sampleParams()})
		require.NoError(t, err)
		assert.Equal(t, want.Sequences, s.res.Sequences, "%s sample %d", p.name, i)
	}
}

// trainingSeqs returns the seq_ids of the model's training submits in the
// order the server received them (a retried submit appears twice).
func trainingSeqs(p *party) []int64 {
	var seqs []int64
	for _, r := range p.srv.Requests(tinkertest.Match{ModelID: p.tc.ModelID()}) {
		switch r.Endpoint {
		case tinkertest.EndpointForwardBackward, tinkertest.EndpointForward, tinkertest.EndpointOptimStep,
			tinkertest.EndpointSaveWeights, tinkertest.EndpointLoadWeights, tinkertest.EndpointSaveWeightsForSampler:
			if r.HasSeqID {
				seqs = append(seqs, r.SeqID)
			}
		}
	}
	return seqs
}

// seqRange is [from, from+1, ..., to].
func seqRange(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// assertSamplingSeqs checks the sampler's seq_ids as the server recorded
// them are 0..n-1, each exactly once.
func assertSamplingSeqs(t *testing.T, p *party, n int) {
	t.Helper()
	info, ok := p.srv.Sampler(p.sc.SamplerID())
	require.True(t, ok)
	got := slices.Clone(info.SeqIDs)
	slices.Sort(got)
	assert.Equal(t, seqRange(0, int64(n-1)), got, "%s sampling seq_ids: gapless, no repeat", p.name)
}
