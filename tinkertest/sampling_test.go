package tinkertest

import (
	"math"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSampleJSONResultAndSeqIDs(t *testing.T) {
	srv := newServer(t)
	c := client(t, srv, keyA)
	sid := c.session()
	smp := c.sampler(sid, 0)
	assert.Equal(t, sid+":sample:0", smp)

	for seq := range 3 {
		r := c.ok(EndpointAsample, sampleBody(smp, seq, []int{1, 2, 3}, 4))
		assert.Equal(t, smp+":"+strconv.Itoa(seq), r["request_id"])
	}
	info, ok := srv.Sampler(smp)
	require.True(t, ok)
	assert.Equal(t, []int64{0, 1, 2}, info.SeqIDs)

	// Accept: application/json gets the ≤0.24 JSON encoding.
	res := c.result(smp + ":0")
	want := ExpectedSample(SampleRequest{Prompt: []int64{1, 2, 3}, NumSamples: 1, MaxTokens: 4, Temperature: 1, TopK: -1, TopP: 1})
	seqs := res["sequences"].([]any)
	require.Len(t, seqs, 1)
	s0 := seqs[0].(map[string]any)
	assert.Equal(t, "length", s0["stop_reason"])
	var toks []int64
	for _, x := range s0["tokens"].([]any) {
		toks = append(toks, int64(x.(float64)))
	}
	assert.Equal(t, want.Sequences[0].Tokens, toks)
	assert.Equal(t, "sample", res["type"])
}

func TestSampleModel(t *testing.T) {
	base := SampleRequest{Prompt: []int64{10, 20, 30}, NumSamples: 3, MaxTokens: 8, Temperature: 1, TopK: -1, TopP: 1, Seed: 7}
	a, b := ExpectedSample(base), ExpectedSample(base)
	assert.Equal(t, a, b, "deterministic")
	require.Len(t, a.Sequences, 3)
	assert.NotEqual(t, a.Sequences[0].Tokens, a.Sequences[1].Tokens, "samples differ at temperature 1")
	for _, s := range a.Sequences {
		assert.Len(t, s.Tokens, 8)
		assert.Len(t, s.Logprobs, 8)
		assert.Equal(t, "length", s.StopReason)
		for _, lp := range s.Logprobs {
			assert.Less(t, lp, float32(0))
		}
	}

	other := base
	other.Seed = 8
	assert.NotEqual(t, a.Sequences[0].Tokens, ExpectedSample(other).Sequences[0].Tokens, "the seed matters")

	greedy := base
	greedy.Temperature = 0
	g := ExpectedSample(greedy)
	assert.Equal(t, g.Sequences[0].Tokens, g.Sequences[2].Tokens, "temperature 0 is greedy")

	// Stop token: the sequence ends at (and includes) its first occurrence.
	stopAt := a.Sequences[0].Tokens[3]
	withStop := base
	withStop.StopTokens = []int64{stopAt}
	st := ExpectedSample(withStop).Sequences[0]
	assert.Equal(t, "stop", st.StopReason)
	assert.Equal(t, stopAt, st.Tokens[len(st.Tokens)-1])
	assert.LessOrEqual(t, len(st.Tokens), 4)
	withStr := base
	withStr.StopStrings = []string{strconv.FormatInt(stopAt, 10)}
	assert.Equal(t, st, ExpectedSample(withStr).Sequences[0], "a stop string is a token's decimal form")

	topk := base
	topk.TopK = 5
	for _, tok := range ExpectedSample(topk).Sequences[0].Tokens {
		assert.Less(t, tok, int64(5))
	}

	pl := base
	pl.PromptLogprobs = true
	pl.TopKPromptLogprobs = 2
	r := ExpectedSample(pl)
	require.Len(t, r.PromptLogprobs, 3)
	assert.Nil(t, r.PromptLogprobs[0])
	assert.NotNil(t, r.PromptLogprobs[1])
	require.Len(t, r.TopkPromptLogprobs, 3)
	assert.Nil(t, r.TopkPromptLogprobs[0])
	assert.Len(t, r.TopkPromptLogprobs[2], 2)
	assert.False(t, math.IsNaN(float64(*r.PromptLogprobs[2])))
}

func TestSampleErrors(t *testing.T) {
	srv := newServer(t, WithModels(BaseModel{Name: "meta-llama/Llama-3.2-1B", MaxContextLength: 10}))
	c := client(t, srv, keyA)
	sid := c.session()
	smp := c.sampler(sid, 0)

	assert.Equal(t, http.StatusNotFound, c.post(EndpointAsample, sampleBody(sid+":sample:9", 0, []int{1}, 1)).status)
	assert.Equal(t, http.StatusNotFound, client(t, srv, keyB).post(EndpointAsample, sampleBody(smp, 0, []int{1}, 1)).status, "another key's sampler")

	bad := sampleBody(smp, 0, []int{1}, 1)
	bad["sampling_params"].(map[string]any)["top_p"] = 0
	assert.Equal(t, http.StatusBadRequest, c.post(EndpointAsample, bad).status)
	missing := sampleBody(smp, 0, []int{1}, 1)
	delete(missing, "prompt_logprobs")
	assert.Equal(t, http.StatusBadRequest, c.post(EndpointAsample, missing).status, "the SDK always sends default-valued fields")

	// Too long for the context: accepted, the future fails with category user.
	r := c.ok(EndpointAsample, sampleBody(smp, 1, []int{1, 2, 3, 4, 5, 6, 7, 8}, 5))
	res := c.result(r["request_id"].(string))
	assert.Equal(t, "user", res["category"])
	assert.Contains(t, res["error"], "context length")

	// A base model that is not served.
	r2 := c.post(EndpointCreateSamplingSession, map[string]any{"session_id": sid, "sampling_session_seq_id": 1, "base_model": "nope/nope", "type": "create_sampling_session"})
	assert.Equal(t, http.StatusBadRequest, r2.status)
	r2 = c.post(EndpointCreateSamplingSession, map[string]any{"session_id": sid, "sampling_session_seq_id": 1,
		"model_path": "tinker://" + sid + ":train:0/sampler_weights/none", "type": "create_sampling_session"})
	assert.Equal(t, http.StatusNotFound, r2.status)
	assert.Equal(t, http.StatusNotFound, c.get("samplers/"+sid+":sample:77").status)
}

func TestSampleDedupe(t *testing.T) {
	srv := newServer(t)
	srv.PauseProcessing()
	c := client(t, srv, keyA)
	smp := c.sampler(c.session(), 0)
	first := c.ok(EndpointAsample, sampleBody(smp, 5, []int{1}, 2))
	again := c.ok(EndpointAsample, sampleBody(smp, 5, []int{1}, 2))
	assert.Equal(t, first["request_id"], again["request_id"])
	assert.Equal(t, 1, srv.Duplicates())
	info, _ := srv.Sampler(smp)
	assert.Equal(t, []int64{5}, info.SeqIDs, "the duplicate is not recorded twice")
	assert.Len(t, srv.Requests(Match{Endpoint: EndpointAsample, SeqID: SeqID(5)}), 2)
	dups := 0
	for _, e := range srv.Requests(Match{Endpoint: EndpointAsample}) {
		if e.Duplicate {
			dups++
		}
	}
	assert.Equal(t, 1, dups)
	srv.ResumeProcessing()
	assert.Contains(t, c.result(first["request_id"].(string)), "sequences")
}
