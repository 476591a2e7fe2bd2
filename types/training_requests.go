package types

import (
	"fmt"
	"math"
)

// Request bodies of the training endpoints. Each MarshalJSON adds the
// endpoint's "type" literal; decoding ignores it.

// OptimStepRequest is the body of POST /api/v1/optim_step.
// JSON: {"adam_params","model_id","seq_id","type":"optim_step"}.
type OptimStepRequest struct {
	AdamParams AdamParams `json:"adam_params"`
	ModelID    string     `json:"model_id"`
	SeqID      int64      `json:"seq_id"`
}

// MarshalJSON adds "type":"optim_step".
func (r OptimStepRequest) MarshalJSON() ([]byte, error) {
	type wire OptimStepRequest
	return marshalWithType(wire(r), "optim_step")
}

// SaveWeightsRequest is the body of POST /api/v1/save_weights (save_state).
// Path is the checkpoint name; TTLSeconds is omitted when nil.
type SaveWeightsRequest struct {
	ModelID    string `json:"model_id"`
	Path       string `json:"path"`
	SeqID      int64  `json:"seq_id"`
	TTLSeconds *int64 `json:"ttl_seconds,omitempty"`
	Overwrite  bool   `json:"overwrite"`
}

// MarshalJSON adds "type":"save_weights".
func (r SaveWeightsRequest) MarshalJSON() ([]byte, error) {
	type wire SaveWeightsRequest
	return marshalWithType(wire(r), "save_weights")
}

// SaveWeightsForSamplerRequest is the body of POST
// /api/v1/save_weights_for_sampler. A named save sets Path; an unnamed
// (ephemeral) save leaves Path empty and sets SamplingSessionSeqID instead.
type SaveWeightsForSamplerRequest struct {
	ModelID              string `json:"model_id"`
	Path                 string `json:"path,omitempty"`
	SamplingSessionSeqID *int64 `json:"sampling_session_seq_id,omitempty"`
	SeqID                int64  `json:"seq_id"`
	TTLSeconds           *int64 `json:"ttl_seconds,omitempty"`
}

// MarshalJSON adds "type":"save_weights_for_sampler".
func (r SaveWeightsForSamplerRequest) MarshalJSON() ([]byte, error) {
	type wire SaveWeightsForSamplerRequest
	return marshalWithType(wire(r), "save_weights_for_sampler")
}

// LoadWeightsRequest is the body of POST /api/v1/load_weights addressed to an
// existing model (load_state / load_state_with_optimizer).
type LoadWeightsRequest struct {
	ModelID            string `json:"model_id"`
	SeqID              int64  `json:"seq_id"`
	Path               string `json:"path"`
	Optimizer          bool   `json:"optimizer"`
	WeightsAccessToken string `json:"weights_access_token,omitempty"`
}

// MarshalJSON adds "type":"load_weights".
func (r LoadWeightsRequest) MarshalJSON() ([]byte, error) {
	type wire LoadWeightsRequest
	return marshalWithType(wire(r), "load_weights")
}

// CreateModelFromWeightsRequest is the create-via-load form of POST
// /api/v1/load_weights: it creates the model "<session>:train:<model_seq_id>"
// and loads the checkpoint in one request (no create_model). A server tells
// it from LoadWeightsRequest by the presence of "session_id".
type CreateModelFromWeightsRequest struct {
	SessionID          string         `json:"session_id"`
	ModelSeqID         int64          `json:"model_seq_id"`
	BaseModel          string         `json:"base_model,omitempty"`
	UserMetadata       map[string]any `json:"user_metadata,omitempty"`
	Path               string         `json:"path"`
	Optimizer          bool           `json:"optimizer"`
	WeightsAccessToken string         `json:"weights_access_token,omitempty"`
}

// MarshalJSON adds "type":"load_weights".
func (r CreateModelFromWeightsRequest) MarshalJSON() ([]byte, error) {
	type wire CreateModelFromWeightsRequest
	return marshalWithType(wire(r), "load_weights")
}

// ForwardBackwardRequest is one forward_backward (or forward, with
// ForwardOnly) submission. SDK 0.25 sends it as protobuf (see
// EncodeForwardBackwardRequest); servers for SDK <= 0.24 took the JSON forms
// LegacyForwardBackwardRequest and LegacyForwardRequest.
type ForwardBackwardRequest struct {
	ModelID      string
	SeqID        int64
	Data         []Datum
	LossFn       LossFnType
	LossFnConfig map[string]float64
	ForwardOnly  bool
}

// ForwardBackwardInput is the inner object of the <= 0.24 JSON bodies:
// {"data":[Datum...],"loss_fn","loss_fn_config"?}.
type ForwardBackwardInput struct {
	Data         []Datum            `json:"data"`
	LossFn       LossFnType         `json:"loss_fn"`
	LossFnConfig map[string]float64 `json:"loss_fn_config,omitempty"`
}

// LegacyForwardBackwardRequest is the <= 0.24 JSON body of POST
// /api/v1/forward_backward.
type LegacyForwardBackwardRequest struct {
	ForwardBackwardInput ForwardBackwardInput `json:"forward_backward_input"`
	ModelID              string               `json:"model_id"`
	SeqID                int64                `json:"seq_id"`
}

// LegacyForwardRequest is the <= 0.24 JSON body of POST /api/v1/forward.
type LegacyForwardRequest struct {
	ForwardInput ForwardBackwardInput `json:"forward_input"`
	ModelID      string               `json:"model_id"`
	SeqID        int64                `json:"seq_id"`
}

// Legacy returns the <= 0.24 JSON body for r: a LegacyForwardRequest (for
// /api/v1/forward) when r.ForwardOnly, else a LegacyForwardBackwardRequest.
func (r ForwardBackwardRequest) Legacy() any {
	in := ForwardBackwardInput{Data: nonNil(r.Data), LossFn: r.LossFn, LossFnConfig: r.LossFnConfig}
	if r.ForwardOnly {
		return LegacyForwardRequest{ForwardInput: in, ModelID: r.ModelID, SeqID: r.SeqID}
	}
	return LegacyForwardBackwardRequest{ForwardBackwardInput: in, ModelID: r.ModelID, SeqID: r.SeqID}
}

// Validate returns a KindValidation error for: no data ("no data provided"),
// an unknown loss function, a non-finite loss_fn_config value, or an invalid
// datum (see Datum.Validate), including an image pointer chunk, which
// forward_backward cannot carry. Errors name the datum index.
func (r ForwardBackwardRequest) Validate() error {
	const op = "forward_backward"
	if len(r.Data) == 0 {
		return ValidationError(op, "no data provided")
	}
	if err := r.LossFn.Validate(); err != nil {
		return err
	}
	for k, v := range r.LossFnConfig {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ValidationError(op, "loss_fn_config[%q] must be finite, got %v", k, v)
		}
	}
	for i, d := range r.Data {
		if err := d.Validate(); err != nil {
			return fmt.Errorf("datum %d: %w", i, err)
		}
		for j, c := range d.ModelInput.Chunks {
			if _, ok := derefChunk(c).(ImageAssetPointerChunk); ok {
				return ValidationError(op, "datum %d chunk %d: image_asset_pointer chunks cannot be sent in forward_backward", i, j)
			}
		}
	}
	return nil
}

// Validate checks the Adam parameters (see AdamParams.Validate).
func (r OptimStepRequest) Validate() error { return r.AdamParams.Validate() }

// Validate returns a KindValidation error for an empty checkpoint name or a
// non-positive TTL.
func (r SaveWeightsRequest) Validate() error {
	return validateSave("save_weights", r.Path, r.TTLSeconds, false)
}

// Validate returns a KindValidation error for a non-positive TTL, or when the
// request is neither named (Path) nor unnamed (SamplingSessionSeqID), or is
// both.
func (r SaveWeightsForSamplerRequest) Validate() error {
	if (r.Path == "") == (r.SamplingSessionSeqID == nil) {
		return ValidationError("save_weights_for_sampler", "set exactly one of path (named save) and sampling_session_seq_id (unnamed save)")
	}
	return validateSave("save_weights_for_sampler", r.Path, r.TTLSeconds, true)
}

func validateSave(op, path string, ttl *int64, pathOptional bool) error {
	if path == "" && !pathOptional {
		return ValidationError(op, "checkpoint name is empty")
	}
	if ttl != nil && *ttl <= 0 {
		return ValidationError(op, "ttl_seconds must be positive, got %d", *ttl)
	}
	return nil
}

// Validate returns a KindValidation error for an empty path.
func (r LoadWeightsRequest) Validate() error {
	if r.Path == "" {
		return ValidationError("load_weights", "path is empty")
	}
	return nil
}
