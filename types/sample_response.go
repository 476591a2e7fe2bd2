package types

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
)

// StopReason says why a sequence ended.
type StopReason string

// The stop reasons on the wire (protobuf enum 0 and 1).
const (
	StopReasonStop   StopReason = "stop"   // a stop string or token was produced
	StopReasonLength StopReason = "length" // max_tokens was reached
)

// SampledSequence is one generated sequence. Logprobs is nil when the server
// sent none, else one value per token.
type SampledSequence struct {
	StopReason StopReason `json:"stop_reason"`
	Tokens     []int      `json:"tokens"`
	Logprobs   []float64  `json:"logprobs,omitempty"`
}

// NullableFloats is a list of floats in which NaN stands for a missing value
// (JSON null, protobuf NaN). Use At to read it without checking NaN by hand.
type NullableFloats []float64

// At returns element i and whether it is present (not NaN). It returns
// (0, false) when i is out of range.
func (f NullableFloats) At(i int) (float64, bool) {
	if i < 0 || i >= len(f) || math.IsNaN(f[i]) {
		return 0, false
	}
	return f[i], true
}

// MarshalJSON writes NaN (and ±Inf, which JSON cannot carry) as null.
func (f NullableFloats) MarshalJSON() ([]byte, error) {
	if f == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, v := range f {
		if i > 0 {
			b.WriteByte(',')
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b.WriteString("null")
			continue
		}
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// UnmarshalJSON reads null elements as NaN.
func (f *NullableFloats) UnmarshalJSON(b []byte) error {
	var raw []*float64
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*f = nil
		return nil
	}
	out := make(NullableFloats, len(raw))
	for i, p := range raw {
		if p == nil {
			out[i] = math.NaN()
		} else {
			out[i] = *p
		}
	}
	*f = out
	return nil
}

// TokenLogprob is one (token id, logprob) pair. JSON: [id, logprob].
type TokenLogprob struct {
	Token   int
	Logprob float64
}

// MarshalJSON writes [token, logprob].
func (t TokenLogprob) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]float64{float64(t.Token), t.Logprob})
}

// UnmarshalJSON reads [token, logprob].
func (t *TokenLogprob) UnmarshalJSON(b []byte) error {
	var pair []json.Number
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return ValidationError("sample", "top-k entry must be [token, logprob], got %d elements", len(pair))
	}
	tok, err := parseJSONInt(json.RawMessage(pair[0]))
	if err != nil || tok < math.MinInt32 || tok > math.MaxInt32 {
		return ValidationError("sample", "top-k token %s is not a token id", pair[0])
	}
	lp, err := pair[1].Float64()
	if err != nil {
		return ValidationError("sample", "top-k logprob %s is not a finite number", pair[1])
	}
	*t = TokenLogprob{Token: int(tok), Logprob: lp}
	return nil
}

// SampleResponse is the result of a sample future.
//
// PromptLogprobs is nil unless prompt logprobs were requested; then it has
// one entry per prompt token and NaN marks a missing value (the first token
// has none). TopkPromptLogprobs is nil unless top-k prompt logprobs were
// requested; then it has one row per prompt token, a nil row meaning the
// row is missing. PromptCacheHitTokens counts once per prompt, not per sample.
type SampleResponse struct {
	Sequences            []SampledSequence `json:"sequences"`
	Type                 string            `json:"type,omitempty"`
	PromptLogprobs       NullableFloats    `json:"prompt_logprobs,omitempty"`
	TopkPromptLogprobs   [][]TokenLogprob  `json:"topk_prompt_logprobs,omitempty"`
	PromptCacheHitTokens int               `json:"prompt_cache_hit_tokens"`
}

// PromptLogprob returns the logprob of prompt token i and whether it exists.
func (r SampleResponse) PromptLogprob(i int) (float64, bool) { return r.PromptLogprobs.At(i) }

// Validate returns a KindValidation error when a sequence has an unknown stop
// reason or a logprobs list whose length differs from its tokens.
func (r SampleResponse) Validate() error {
	for i, s := range r.Sequences {
		if s.StopReason != StopReasonStop && s.StopReason != StopReasonLength {
			return ValidationError("sample", "sequence %d has unknown stop_reason %q", i, s.StopReason)
		}
		if s.Logprobs != nil && len(s.Logprobs) != len(s.Tokens) {
			return ValidationError("sample", "sequence %d has %d tokens but %d logprobs", i, len(s.Tokens), len(s.Logprobs))
		}
	}
	return nil
}
