package tinkertest

import (
	"encoding/json"
	"fmt"

	"github.com/tinkex-go/tinkex/types"
)

// ExpectedSampleResponse is what a client decodes from the server's answer
// to r: r is read exactly as the asample handler reads it, the fake model
// runs, and the protobuf result is decoded with types.DecodeSampleResponse.
// It fails when r would be rejected (400) or its future would fail.
func ExpectedSampleResponse(r types.SampleRequest) (types.SampleResponse, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return types.SampleResponse{}, err
	}
	o, err := parseObject("", b)
	if err != nil {
		return types.SampleResponse{}, err
	}
	req, _, _, err := parseSample(o)
	if err != nil {
		return types.SampleResponse{}, err
	}
	if len(req.Prompt) == 0 || req.NumSamples < 1 {
		return types.SampleResponse{}, fmt.Errorf("the sample would fail: empty prompt or num_samples < 1")
	}
	return types.DecodeSampleResponse(encodeSampleResponse(ExpectedSample(req)))
}

// ExpectedForwardBackwardOutput is what a client decodes from the server's
// answer to one forward_backward (or forward) request: r is encoded with
// types.EncodeForwardBackwardRequest, read by the server's decoder, run
// through the fake model, and the protobuf result decoded with
// types.DecodeForwardBackwardOutput. For a chunked call, combine the
// per-chunk results as the client does; loss:sum adds up and loss:mean is
// the datum-weighted mean.
func ExpectedForwardBackwardOutput(r types.ForwardBackwardRequest) (types.ForwardBackwardOutput, error) {
	b, err := types.EncodeForwardBackwardRequest(r)
	if err != nil {
		return types.ForwardBackwardOutput{}, err
	}
	req, err := decodeFwdBwdProto(b)
	if err != nil {
		return types.ForwardBackwardOutput{}, err
	}
	res, err := ExpectedForwardBackward(req.Data, req.LossFn, req.LossFnConfig)
	if err != nil {
		return types.ForwardBackwardOutput{}, err
	}
	return types.DecodeForwardBackwardOutput(encodeFwdBwdOutput(res))
}
