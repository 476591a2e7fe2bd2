package tinkertest

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// The fake model. It is a pure function of its inputs, so a test can compute
// the result the server will give with the exported Expected* functions
// instead of hard-coding numbers.
//
// Tokens: the vocabulary is [0, VocabSize). A token "decodes" to its decimal
// string, so a stop string matches a generated token whose decimal form
// equals it (stop string "42" stops at token 42). The stop token (or the
// token matching a stop string) is included as the last token, with
// stop_reason "stop"; a sequence that reaches max_tokens ends with "length".
//
// Log-probabilities: the log-probability of token t at input position p
// after input token c is tokenLogprob(c, t, p), in (-5.001, -0.001]. The
// same function gives forward/backward logprobs (target at position p, input
// token at p) and sampling prompt logprobs (prompt[j] after prompt[j-1] at
// position j-1), so compute_logprobs and forward agree, as they would on a
// real model.

// VocabSize is the size of the fake vocabulary.
const VocabSize = 32000

// DefaultMaxTokens is the number of tokens sampled when a request does not
// set max_tokens.
const DefaultMaxTokens = 16

// topkSentinel fills top-k rows that have no value (the first prompt
// position), as the real server does: token 0 with logprob -99999.
const topkSentinel = -99999.0

func mix(h, x uint64) uint64 {
	z := h ^ (x + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2))
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func hashBytes(b []byte) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, c := range b {
		h ^= uint64(c)
		h *= 0x100000001b3
	}
	return h
}

func hashInts(xs []int64) uint64 {
	h := uint64(len(xs))
	for _, x := range xs {
		h = mix(h, uint64(x))
	}
	return h
}

func unit(h uint64) float64 { return float64(h>>11) / float64(1<<53) }

// tokenLogprob is the fake model's log-probability of target after input
// token ctx at position pos.
func tokenLogprob(ctx, target int64, pos int) float32 {
	h := mix(mix(mix(0x5eed, uint64(ctx)), uint64(target)), uint64(pos))
	return float32(-(0.001 + 5*unit(h)))
}

// SampleRequest is what the fake sampler reads from an asample request.
type SampleRequest struct {
	Prompt     []int64 // flattened prompt (text tokens; image/dmel placeholders)
	NumSamples int
	// MaxTokens 0 means DefaultMaxTokens.
	MaxTokens          int
	Seed               int64 // 0 when the request has no seed
	StopStrings        []string
	StopTokens         []int64
	Temperature        float64
	TopK               int
	TopP               float64
	PromptLogprobs     bool
	TopKPromptLogprobs int
}

// SampledSequence is one sampled continuation.
type SampledSequence struct {
	StopReason string // "stop" or "length"
	Tokens     []int64
	Logprobs   []float32
}

// TopkEntry is one (token, logprob) cell of a top-k prompt logprob row.
type TopkEntry struct {
	Token   int64
	Logprob float32
}

// SampleResult is the fake sampler's answer.
type SampleResult struct {
	Sequences []SampledSequence
	// PromptLogprobs is nil unless asked for; entry 0 is nil (no context).
	PromptLogprobs []*float32
	// TopkPromptLogprobs is nil unless asked for; row 0 is nil.
	TopkPromptLogprobs   [][]TopkEntry
	PromptCacheHitTokens int
	topK                 int
}

// ExpectedSample returns exactly what the fake server answers to a sample
// request with these inputs. Tokens depend on the prompt, the seed, the
// sample index and the sampling parameters; with temperature 0 every sample
// is the same (greedy). With 0 < top_k < VocabSize tokens are drawn from
// [0, top_k).
func ExpectedSample(req SampleRequest) *SampleResult {
	maxTokens := req.MaxTokens
	if maxTokens <= 0 {
		maxTokens = DefaultMaxTokens
	}
	vocab := uint64(VocabSize)
	if req.TopK > 0 && req.TopK < VocabSize {
		vocab = uint64(req.TopK)
	}
	base := mix(hashInts(req.Prompt), uint64(req.Seed))
	base = mix(base, math.Float64bits(req.Temperature))
	base = mix(base, math.Float64bits(req.TopP))
	base = mix(base, uint64(int64(req.TopK)))
	res := &SampleResult{}
	for i := 0; i < req.NumSamples; i++ {
		idx := uint64(i)
		if req.Temperature == 0 {
			idx = 0
		}
		h := mix(base, idx)
		seq := SampledSequence{StopReason: "length"}
		prev := int64(-1)
		if n := len(req.Prompt); n > 0 {
			prev = req.Prompt[n-1]
		}
		for j := 0; j < maxTokens; j++ {
			tok := int64(mix(h, uint64(j)) % vocab)
			seq.Tokens = append(seq.Tokens, tok)
			seq.Logprobs = append(seq.Logprobs, tokenLogprob(prev, tok, len(req.Prompt)+j-1))
			prev = tok
			if slices.Contains(req.StopTokens, tok) || slices.Contains(req.StopStrings, strconv.FormatInt(tok, 10)) {
				seq.StopReason = "stop"
				break
			}
		}
		res.Sequences = append(res.Sequences, seq)
	}
	if req.PromptLogprobs {
		res.PromptLogprobs = make([]*float32, len(req.Prompt))
		for j := 1; j < len(req.Prompt); j++ {
			lp := tokenLogprob(req.Prompt[j-1], req.Prompt[j], j-1)
			res.PromptLogprobs[j] = &lp
		}
	}
	if k := req.TopKPromptLogprobs; k > 0 {
		res.topK = k
		res.TopkPromptLogprobs = make([][]TopkEntry, len(req.Prompt))
		for j := 1; j < len(req.Prompt); j++ {
			row := make([]TopkEntry, k)
			for m := range row {
				h := mix(mix(uint64(req.Prompt[j-1]), uint64(j)), uint64(m))
				row[m] = TopkEntry{Token: int64(h % VocabSize), Logprob: float32(-0.01*float64(m+1) - 0.5*unit(mix(h, 1))/float64(k))}
			}
			res.TopkPromptLogprobs[j] = row
		}
	}
	return res
}

// FwdBwdResult is the fake model's forward/backward output.
type FwdBwdResult struct {
	LossFnOutputType string
	// LossFnOutputs holds, per datum, "logprobs" (float32, the shape of
	// target_tokens).
	LossFnOutputs []map[string]Tensor
	// Metrics holds "loss:sum" and "loss:mean" (loss:sum / number of
	// datums, so chunk results combine by datum-weighted mean exactly).
	Metrics map[string]float64
}

// lossInputs lists, per loss function, the required loss_fn_inputs.
var lossInputs = map[string][]string{
	"cross_entropy":       {"target_tokens", "weights"},
	"importance_sampling": {"target_tokens", "logprobs", "advantages"},
	"ppo":                 {"target_tokens", "logprobs", "advantages"},
	"cispo":               {"target_tokens", "logprobs", "advantages"},
	"dro":                 {"target_tokens", "logprobs", "advantages"},
}

var floatInputs = map[string]bool{"weights": true, "advantages": true, "logprobs": true, "clip_low_threshold": true, "clip_high_threshold": true}

// ExpectedForwardBackward returns exactly what the fake server computes for
// one forward_backward (or forward) request, or the user error the future
// fails with. Per datum, logprobs[k] = tokenLogprob(input token at the
// target's position, target, position). Losses (summed over positions and
// data):
//
//	cross_entropy:        -lp·w
//	importance_sampling:  -exp(lp-old)·A
//	ppo:                  -min(r·A, clip(r, lo, hi)·A), lo/hi from loss_fn_config
//	                      clip_low_threshold/clip_high_threshold (default 0.8/1.2)
//	cispo:                -clip(r, lo, hi)·A·lp (default 0/4)
//	dro:                  -A·lp + 0.05·(lp-old)²
func ExpectedForwardBackward(data []Datum, lossFn string, config map[string]float64) (*FwdBwdResult, error) {
	need, ok := lossInputs[lossFn]
	if !ok {
		return nil, fmt.Errorf("unknown loss_fn %q", lossFn)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("no data")
	}
	res := &FwdBwdResult{LossFnOutputType: "ArrayRecord", Metrics: map[string]float64{}}
	total := 0.0
	for i, d := range data {
		for _, k := range need {
			if _, ok := d.Inputs[k]; !ok {
				return nil, fmt.Errorf("data[%d]: loss_fn %s needs loss_fn_inputs[%q]", i, lossFn, k)
			}
		}
		tt := d.Inputs["target_tokens"]
		for k, t := range d.Inputs {
			want := "int64"
			if floatInputs[k] {
				want = "float32"
			} else if k != "target_tokens" {
				return nil, fmt.Errorf("data[%d]: unknown loss_fn_inputs key %q", i, k)
			}
			if t.Dtype != want {
				return nil, fmt.Errorf("data[%d]: loss_fn_inputs[%q] must be %s, got %s", i, k, want, t.Dtype)
			}
			if !slices.Equal(t.Shape, tt.Shape) {
				return nil, fmt.Errorf("data[%d]: loss_fn_inputs[%q] shape %v differs from target_tokens shape %v", i, k, t.Shape, tt.Shape)
			}
		}
		if len(tt.Shape) == 0 || len(tt.Shape) > 2 || tt.Shape[0] != int64(len(d.Tokens)) {
			return nil, fmt.Errorf("data[%d]: target_tokens shape %v must start with the model input length %d", i, tt.Shape, len(d.Tokens))
		}
		per := 1
		if len(tt.Shape) == 2 {
			per = int(tt.Shape[1])
		}
		lps := make([]float32, tt.Len())
		for k := range lps {
			pos := k / per
			lp := tokenLogprob(d.Tokens[pos], tt.Ints[k], pos)
			lps[k] = lp
			total += datumLoss(lossFn, config, d, k, float64(lp))
		}
		res.LossFnOutputs = append(res.LossFnOutputs, map[string]Tensor{
			"logprobs": {Dtype: "float32", Shape: slices.Clone(tt.Shape), Floats: lps},
		})
	}
	res.Metrics["loss:sum"] = total
	res.Metrics["loss:mean"] = total / float64(len(data))
	return res, nil
}

func cfgOr(c map[string]float64, k string, def float64) float64 {
	if v, ok := c[k]; ok {
		return v
	}
	return def
}

func datumLoss(lossFn string, cfg map[string]float64, d Datum, k int, lp float64) float64 {
	if lossFn == "cross_entropy" {
		return -lp * d.Inputs["weights"].Float(k)
	}
	old := d.Inputs["logprobs"].Float(k)
	adv := d.Inputs["advantages"].Float(k)
	r := math.Exp(lp - old)
	switch lossFn {
	case "ppo":
		lo, hi := cfgOr(cfg, "clip_low_threshold", 0.8), cfgOr(cfg, "clip_high_threshold", 1.2)
		return -math.Min(r*adv, math.Min(math.Max(r, lo), hi)*adv)
	case "cispo":
		lo, hi := cfgOr(cfg, "clip_low_threshold", 0), cfgOr(cfg, "clip_high_threshold", 4)
		return -math.Min(math.Max(r, lo), hi) * adv * lp
	case "dro":
		return -adv*lp + 0.05*(lp-old)*(lp-old)
	default: // importance_sampling
		return -r * adv
	}
}

// AdamParams are the optimizer settings of an optim_step request.
type AdamParams struct {
	LearningRate, Beta1, Beta2, Eps, WeightDecay, GradClipNorm float64
}

// ExpectedOptimStep returns the metrics the fake server reports for the
// model's step-th optim_step (1-based), given the sum of |loss:sum| of the
// backward passes (forward_only=false) accumulated since the previous step:
//
//	step:max           = step
//	learning_rate:mean = LearningRate
//	grad_norm:mean     = sqrt(accumulated) (0 with no backward pass),
//	                     capped at GradClipNorm when that is > 0
func ExpectedOptimStep(step int, p AdamParams, accumulated float64) map[string]float64 {
	norm := math.Sqrt(accumulated)
	if p.GradClipNorm > 0 && norm > p.GradClipNorm {
		norm = p.GradClipNorm
	}
	return map[string]float64{
		"step:max":           float64(step),
		"learning_rate:mean": p.LearningRate,
		"grad_norm:mean":     norm,
	}
}
