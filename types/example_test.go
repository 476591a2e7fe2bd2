package types_test

import (
	"encoding/json"
	"fmt"

	"github.com/tinkex-go/tinkex/types"
)

// Build a training datum from plain slices: target_tokens becomes int64 and
// weights float32, following types.LossFnInputDTypes.
func ExampleNewDatum() {
	d, err := types.NewDatum(types.ModelInputFromInts([]int{101, 102, 103}), map[string]any{
		"target_tokens": []int{102, 103, 104},
		"weights":       []float64{0, 1, 1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	req := types.ForwardBackwardRequest{ModelID: "sess:train:0", SeqID: 1, LossFn: types.LossCrossEntropy, Data: []types.Datum{d}}
	fmt.Println(req.Validate())
	b, _ := json.Marshal(d.LossFnInputs["weights"])
	fmt.Println(string(b))
	// Output:
	// <nil>
	// {"data":[0,1,1],"dtype":"float32","shape":[3]}
}

// Build and check a sample request; its JSON carries the "type" literal.
func ExampleSampleRequest() {
	params := types.DefaultSamplingParams()
	maxTokens := 32
	params.MaxTokens = &maxTokens
	params.Stop = types.StopStrings("\n\n")
	req := types.SampleRequest{
		SamplingSessionID: "sess:sample:0",
		NumSamples:        4,
		Prompt:            types.ModelInputFromInts([]int{1, 2, 3}),
		SamplingParams:    params,
	}
	if err := req.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.Marshal(req)
	fmt.Println(string(b))

	req.SamplingParams.TopP = 0
	fmt.Println(req.Validate())
	// Output:
	// {"sampling_session_id":"sess:sample:0","seq_id":0,"num_samples":4,"prompt":{"chunks":[{"type":"encoded_text","tokens":[1,2,3]}]},"sampling_params":{"max_tokens":32,"stop":["\n\n"],"temperature":1.0,"top_k":-1,"top_p":1.0},"prompt_logprobs":false,"topk_prompt_logprobs":0,"type":"sample"}
	// tinkex: sampling_params: validation error: top_p must be in (0, 1], got 0
}
