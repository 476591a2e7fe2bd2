package types

import (
	"encoding/json"
	"fmt"
)

// MaxNumSamples is the largest NumSamples SampleRequest.Validate accepts.
// The service documents no limit; this one catches runaway values before
// they cost anything.
const MaxNumSamples = 1024

// SampleRequest is the body of POST /api/v1/asample. The SamplingClient sets
// SamplingSessionID; BaseModel and ModelPath exist on the wire type but the
// SDK never sends them (they are omitted when empty).
//
// JSON: {"sampling_session_id","seq_id","num_samples","prompt",
// "sampling_params","prompt_logprobs","topk_prompt_logprobs","type":"sample"}.
type SampleRequest struct {
	SamplingSessionID  string         `json:"sampling_session_id,omitempty"`
	SeqID              int64          `json:"seq_id"`
	NumSamples         int            `json:"num_samples"`
	Prompt             ModelInput     `json:"prompt"`
	SamplingParams     SamplingParams `json:"sampling_params"`
	PromptLogprobs     bool           `json:"prompt_logprobs"`
	TopkPromptLogprobs int            `json:"topk_prompt_logprobs"`
	BaseModel          string         `json:"base_model,omitempty"`
	ModelPath          string         `json:"model_path,omitempty"`
}

// MarshalJSON adds "type":"sample".
func (r SampleRequest) MarshalJSON() ([]byte, error) {
	type wire SampleRequest
	return marshalWithType(wire(r), "sample")
}

// UnmarshalJSON reads the wire form. Absent num_samples means 1 and absent
// sampling_params means DefaultSamplingParams, as in the SDK.
func (r *SampleRequest) UnmarshalJSON(b []byte) error {
	type wire SampleRequest
	w := wire{NumSamples: 1, SamplingParams: DefaultSamplingParams()}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = SampleRequest(w)
	return nil
}

// Validate returns a KindValidation error for: no sampler address (neither
// SamplingSessionID nor BaseModel/ModelPath), a negative seq_id, NumSamples
// outside [1, MaxNumSamples], a nil or empty prompt, a prompt chunk whose
// length is unknown (an image without expected_tokens) or otherwise invalid,
// a negative TopkPromptLogprobs, or invalid SamplingParams.
func (r SampleRequest) Validate() error {
	const op = "sample"
	if r.SamplingSessionID == "" && r.BaseModel == "" && r.ModelPath == "" {
		return ValidationError(op, "no sampling_session_id, base_model or model_path")
	}
	if r.SeqID < 0 {
		return ValidationError(op, "seq_id must not be negative, got %d", r.SeqID)
	}
	if r.NumSamples < 1 || r.NumSamples > MaxNumSamples {
		return ValidationError(op, "num_samples must be in [1, %d], got %d", MaxNumSamples, r.NumSamples)
	}
	if err := r.Prompt.Validate(); err != nil {
		return fmt.Errorf("prompt: %w", err)
	}
	if n, err := r.Prompt.Length(); err != nil {
		return fmt.Errorf("prompt: %w", err)
	} else if n == 0 {
		return ValidationError(op, "prompt is empty")
	}
	if r.TopkPromptLogprobs < 0 {
		return ValidationError(op, "topk_prompt_logprobs must not be negative, got %d", r.TopkPromptLogprobs)
	}
	return r.SamplingParams.Validate()
}

// CreateSamplingSessionRequest is the body of POST
// /api/v1/create_sampling_session; set BaseModel or ModelPath.
type CreateSamplingSessionRequest struct {
	SessionID            string `json:"session_id"`
	SamplingSessionSeqID int64  `json:"sampling_session_seq_id"`
	BaseModel            string `json:"base_model,omitempty"`
	ModelPath            string `json:"model_path,omitempty"`
}

// MarshalJSON adds "type":"create_sampling_session".
func (r CreateSamplingSessionRequest) MarshalJSON() ([]byte, error) {
	type wire CreateSamplingSessionRequest
	return marshalWithType(wire(r), "create_sampling_session")
}

// CreateSamplingSessionResponse is the reply to create_sampling_session.
// Sampler ids look like "<session>:sample:<n>".
type CreateSamplingSessionResponse struct {
	SamplingSessionID string `json:"sampling_session_id"`
	Type              string `json:"type,omitempty"`
}

// GetSamplerResponse is the reply to GET /api/v1/samplers/{id}.
type GetSamplerResponse struct {
	SamplerID string `json:"sampler_id"`
	BaseModel string `json:"base_model"`
	ModelPath string `json:"model_path,omitempty"`
}
