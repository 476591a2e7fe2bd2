package types

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"
)

// requireValidationKind fails unless err is a KindValidation *Error.
func requireValidationKind(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindValidation {
		t.Fatalf("error is not a KindValidation *Error: %v", err)
	}
}

// sameNaN compares values whose floats may be NaN (NaN != NaN defeats ==).
func sameNaN(a, b any) bool { return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b) }

func sampleResponseSeeds(f *testing.F) {
	f.Helper()
	seeds := []SampleResponse{
		{},
		{Sequences: []SampledSequence{{StopReason: StopReasonStop, Tokens: []int{1, 2}, Logprobs: []float64{-1, -2}}}, PromptCacheHitTokens: 3},
		{Sequences: []SampledSequence{{StopReason: StopReasonLength, Tokens: []int{7}}},
			PromptLogprobs: NullableFloats{math.NaN(), -1}, TopkPromptLogprobs: [][]TokenLogprob{nil, {{Token: 3, Logprob: -0.5}}}},
	}
	for _, s := range seeds {
		b, err := EncodeSampleResponse(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDecodeSampleResponseProto(f *testing.F) {
	sampleResponseSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeSampleResponse(b)
		if err != nil {
			requireValidationKind(t, err)
			return
		}
		again, err := EncodeSampleResponse(r)
		if err != nil {
			t.Fatalf("re-encoding a decoded response failed: %v", err)
		}
		r2, err := DecodeSampleResponse(again)
		if err != nil {
			t.Fatalf("decoding re-encoded response failed: %v", err)
		}
		if !sameNaN(r, r2) {
			t.Fatalf("round trip changed the response:\n%+v\n%+v", r, r2)
		}
	})
}

func FuzzDecodeForwardBackwardOutputProto(f *testing.F) {
	for _, o := range []ForwardBackwardOutput{
		{},
		{LossFnOutputType: "x:ArrayRecord", LossFnOutputs: []LossFnOutput{{"logprobs": Float32Tensor([]float32{-1, -2}, 2), "ids": Int64Tensor([]int64{1, 2}, 1, 2)}}, Metrics: map[string]float64{"loss:sum": 1}},
	} {
		b, err := EncodeForwardBackwardOutput(o)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeForwardBackwardOutput(b)
		if err != nil {
			requireValidationKind(t, err)
			return
		}
		again, err := EncodeForwardBackwardOutput(o)
		if err != nil {
			return // records with differing keys or dtypes have no single-record form
		}
		o2, err := DecodeForwardBackwardOutput(again)
		if err != nil {
			t.Fatalf("decoding re-encoded output failed: %v", err)
		}
		if !sameNaN(o.LossFnOutputs, o2.LossFnOutputs) || len(o.Metrics) != len(o2.Metrics) {
			t.Fatalf("round trip changed the output:\n%+v\n%+v", o, o2)
		}
	})
}

func FuzzDecodeForwardBackwardRequestProto(f *testing.F) {
	b, err := EncodeForwardBackwardRequest(validFwdBwd())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeForwardBackwardRequest(b)
		if err != nil {
			requireValidationKind(t, err)
			return
		}
		again, err := EncodeForwardBackwardRequest(r)
		if err != nil {
			requireValidationKind(t, err)
			return
		}
		r2, err := DecodeForwardBackwardRequest(again)
		if err != nil {
			t.Fatalf("decoding re-encoded request failed: %v", err)
		}
		if !sameNaN(r, r2) {
			t.Fatalf("round trip changed the request:\n%+v\n%+v", r, r2)
		}
	})
}

func FuzzParseFutureBody(f *testing.F) {
	for _, s := range []string{
		`{"type":"try_again","request_id":"r","queue_state":"active"}`,
		`{"status":"complete_metadata","response_payload_size":10}`,
		`{"error":"x","category":"server"}`,
		`{"model_id":"m"}`,
		`[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		body, err := ParseFutureBody(b)
		if err != nil {
			requireValidationKind(t, err)
			return
		}
		set := 0
		for _, p := range []bool{body.TryAgain != nil, body.Metadata != nil, body.Error != nil, body.Result != nil} {
			if p {
				set++
			}
		}
		if set != 1 {
			t.Fatalf("kind %v with %d payloads set", body.Kind, set)
		}
		if body.Kind == FutureResult && !json.Valid(body.Result) {
			t.Fatalf("result is not valid JSON: %q", body.Result)
		}
	})
}

func FuzzSampleResponseJSON(f *testing.F) {
	for _, s := range []string{
		`{"sequences":[{"stop_reason":"stop","tokens":[1,2],"logprobs":[-1,-2]}],"type":"sample","prompt_logprobs":[null,-1.5],"topk_prompt_logprobs":[null,[[3,-0.5]]],"prompt_cache_hit_tokens":0}`,
		`{"sequences":[]}`,
		`{"topk_prompt_logprobs":[[[1e3,-1e300]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r SampleResponse
		if err := json.Unmarshal(b, &r); err != nil {
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("re-marshal of a decoded response failed: %v", err)
		}
		var r2 SampleResponse
		if err := json.Unmarshal(out, &r2); err != nil {
			t.Fatalf("decoding re-marshalled response failed: %v\n%s", err, out)
		}
		if !sameNaN(r, r2) {
			t.Fatalf("round trip changed the response:\n%+v\n%+v", r, r2)
		}
	})
}
