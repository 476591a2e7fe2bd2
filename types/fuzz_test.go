package types

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
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

// sameNaN reports whether a and b hold the same data: NaN equals NaN, a
// pointer is compared by what it points at (not by address), and a nil slice
// or map equals an empty one, since neither wire form can tell them apart.
func sameNaN(a, b any) bool { return sameValue(reflect.ValueOf(a), reflect.ValueOf(b)) }

func sameValue(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || (math.IsNaN(x) && math.IsNaN(y))
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for _, k := range a.MapKeys() {
			v := b.MapIndex(k)
			if !v.IsValid() || !sameValue(a.MapIndex(k), v) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.String:
		return a.String() == b.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	default:
		return fmt.Sprint(a) == fmt.Sprint(b)
	}
}

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
	// An image chunk: its ExpectedTokens is a pointer, which a comparison by
	// printed form once compared by address (CI's finding 209f9c1b8d766673).
	n := 3
	img := validFwdBwd()
	img.Data[0].ModelInput = ModelInput{Chunks: []Chunk{ImageChunk{Data: []byte{1, 2}, Format: "png", ExpectedTokens: &n}}}
	if b, err = EncodeForwardBackwardRequest(img); err != nil {
		f.Fatal(err)
	}
	f.Add(b)
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

// TestSameNaN pins the fuzzers' comparison: it sees through pointers and NaN
// but still tells different data apart.
func TestSameNaN(t *testing.T) {
	three, three2, four := 3, 3, 4
	nan := math.NaN()
	cases := []struct {
		name string
		a, b any
		want bool
	}{
		{"pointers to equal ints", ImageChunk{ExpectedTokens: &three}, ImageChunk{ExpectedTokens: &three2}, true},
		{"pointers to different ints", ImageChunk{ExpectedTokens: &three}, ImageChunk{ExpectedTokens: &four}, false},
		{"nil and set pointer", ImageChunk{}, ImageChunk{ExpectedTokens: &three}, false},
		{"NaN and NaN", []float64{nan, 1}, []float64{nan, 1}, true},
		{"NaN and a number", []float64{nan}, []float64{1}, false},
		{"nil and empty slice", ImageChunk{Data: nil}, ImageChunk{Data: []byte{}}, true},
		{"different bytes", ImageChunk{Data: []byte{1}}, ImageChunk{Data: []byte{2}}, false},
		{"chunks behind an interface", ModelInput{Chunks: []Chunk{ImageChunk{ExpectedTokens: &three}}}, ModelInput{Chunks: []Chunk{ImageChunk{ExpectedTokens: &three2}}}, true},
		{"different chunk types", ModelInput{Chunks: []Chunk{ImageChunk{}}}, ModelInput{Chunks: []Chunk{EncodedTextChunk{}}}, false},
		{"maps differing in a value", map[string]float64{"a": 1}, map[string]float64{"a": 2}, false},
		{"maps differing in a key", map[string]float64{"a": 1}, map[string]float64{"b": 1}, false},
	}
	for _, c := range cases {
		if got := sameNaN(c.a, c.b); got != c.want {
			t.Errorf("%s: sameNaN = %v, want %v", c.name, got, c.want)
		}
	}
}
