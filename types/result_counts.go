package types

// A result the server completed successfully must still answer the request
// it belongs to: these checks turn a malformed result (an empty object,
// "sequences": null, missing loss outputs) into a KindValidation error
// carrying the future's request id, instead of a success with nothing in it.

// CheckAgainst returns a KindValidation error, with requestID, when r does
// not hold what req asked for: exactly req.NumSamples sequences, and prompt
// logprobs (one per prompt token, when the prompt's length is known) if
// req.PromptLogprobs was set.
func (r SampleResponse) CheckAgainst(req SampleRequest, requestID string) error {
	const op = "sample"
	if len(r.Sequences) != req.NumSamples {
		return resultError(op, requestID, "the server returned %d sequences for num_samples=%d", len(r.Sequences), req.NumSamples)
	}
	if req.PromptLogprobs {
		n, err := req.Prompt.Length()
		switch {
		case r.PromptLogprobs == nil:
			return resultError(op, requestID, "prompt logprobs were requested but the result has none")
		case err == nil && len(r.PromptLogprobs) != n:
			return resultError(op, requestID, "the result has %d prompt logprobs for a prompt of %d tokens", len(r.PromptLogprobs), n)
		}
	}
	return nil
}

// CheckCount returns a KindValidation error, with requestID, when o does
// not hold one loss function output per datum sent (n).
func (o ForwardBackwardOutput) CheckCount(op string, n int, requestID string) error {
	if len(o.LossFnOutputs) != n {
		return resultError(op, requestID, "the server returned %d loss function outputs for %d datums", len(o.LossFnOutputs), n)
	}
	return nil
}

func resultError(op, requestID, format string, args ...any) *Error {
	e := ValidationError(op, "malformed result: "+format, args...)
	e.RequestID = requestID
	return e
}
