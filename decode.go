package tinkex

import (
	"encoding/json"

	"github.com/tinkex-go/tinkex/httpclient"
	"github.com/tinkex-go/tinkex/types"
)

// Decode errors are about server data and may quote it (a field name, a
// dtype, a timestamp): each decoder passes them through types.RedactError,
// so nothing shaped like a credential reaches the error.

// decodeSampleResponse decodes a sample result by its Content-Type:
// protobuf (the current protocol) or JSON (servers for SDK <= 0.24).
func decodeSampleResponse(contentType string, body []byte) (*SampleResponse, error) {
	r, err := decodeSampleResponseRaw(contentType, body)
	return r, types.RedactError(err)
}

func decodeSampleResponseRaw(contentType string, body []byte) (*SampleResponse, error) {
	var r SampleResponse
	if httpclient.IsProtobuf(contentType) {
		var err error
		if r, err = types.DecodeSampleResponse(body); err != nil {
			return nil, err
		}
	} else if err := json.Unmarshal(body, &r); err != nil {
		return nil, &Error{Kind: types.KindValidation, Op: "sample", Message: "malformed JSON sample result", Err: err}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// decodeForwardBackwardOutput decodes a forward/forward_backward result by
// its Content-Type.
func decodeForwardBackwardOutput(contentType string, body []byte) (*ForwardBackwardOutput, error) {
	r, err := decodeForwardBackwardOutputRaw(contentType, body)
	return r, types.RedactError(err)
}

func decodeForwardBackwardOutputRaw(contentType string, body []byte) (*ForwardBackwardOutput, error) {
	if httpclient.IsProtobuf(contentType) {
		r, err := types.DecodeForwardBackwardOutput(body)
		if err != nil {
			return nil, err
		}
		return &r, nil
	}
	var r ForwardBackwardOutput
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &Error{Kind: types.KindValidation, Op: "forward_backward", Message: "malformed JSON forward_backward result", Err: err}
	}
	return &r, nil
}

// decodeJSON decodes a JSON result of type T.
func decodeJSON[T any](op, contentType string, body []byte) (*T, error) {
	if httpclient.IsProtobuf(contentType) {
		return nil, types.ValidationError(op, "server sent a protobuf result for an operation whose result is JSON")
	}
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, types.RedactError(&Error{Kind: types.KindValidation, Op: op, Message: "malformed JSON result", Err: err})
	}
	return &v, nil
}

// futureInto decodes a submit's answer into f: types.DecodeUntypedAPIFuture,
// json.Unmarshal's result read in one pass.
func futureInto(f *types.UntypedAPIFuture) httpclient.Decoder {
	return httpclient.DecoderFunc(func(_ string, body []byte) error {
		v, err := types.DecodeUntypedAPIFuture(body)
		*f = v
		return err
	})
}
