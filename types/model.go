package types

import "strings"

// CreateModelRequest is the body of POST /api/v1/create_model. The new
// model's id is "<session_id>:train:<model_seq_id>". UserMetadata is omitted
// when nil.
type CreateModelRequest struct {
	SessionID    string         `json:"session_id"`
	ModelSeqID   int64          `json:"model_seq_id"`
	BaseModel    string         `json:"base_model"`
	UserMetadata map[string]any `json:"user_metadata,omitempty"`
	LoraConfig   LoraConfig     `json:"lora_config"`
}

// MarshalJSON adds "type":"create_model".
func (r CreateModelRequest) MarshalJSON() ([]byte, error) {
	type wire CreateModelRequest
	return marshalWithType(wire(r), "create_model")
}

// CreateModelResponse is the future result of create_model.
type CreateModelResponse struct {
	ModelID string `json:"model_id"`
	Type    string `json:"type,omitempty"`
}

// GetInfoRequest is the body of POST /api/v1/get_info.
type GetInfoRequest struct {
	ModelID string `json:"model_id"`
}

// MarshalJSON adds "type":"get_info".
func (r GetInfoRequest) MarshalJSON() ([]byte, error) {
	type wire GetInfoRequest
	return marshalWithType(wire(r), "get_info")
}

// ModelData describes the architecture behind a model.
type ModelData struct {
	Arch        string `json:"arch,omitempty"`
	ModelName   string `json:"model_name,omitempty"`
	TokenizerID string `json:"tokenizer_id,omitempty"`
}

// Tokenizer returns TokenizerID cut at its first ':' (the SDK loads that
// name; anything after the colon is a server-side qualifier).
func (d ModelData) Tokenizer() string {
	name, _, _ := strings.Cut(d.TokenizerID, ":")
	return name
}

// GetInfoResponse is the reply to get_info.
type GetInfoResponse struct {
	ModelID   string    `json:"model_id"`
	ModelData ModelData `json:"model_data"`
	IsLoRA    *bool     `json:"is_lora,omitempty"`
	LoRARank  *int      `json:"lora_rank,omitempty"`
	ModelName string    `json:"model_name,omitempty"`
	Type      string    `json:"type,omitempty"`
}

// UnloadModelRequest is the body of POST /api/v1/unload_model.
type UnloadModelRequest struct {
	ModelID string `json:"model_id"`
}

// MarshalJSON adds "type":"unload_model".
func (r UnloadModelRequest) MarshalJSON() ([]byte, error) {
	type wire UnloadModelRequest
	return marshalWithType(wire(r), "unload_model")
}

// UnloadModelResponse is the future result of unload_model.
type UnloadModelResponse struct {
	ModelID string `json:"model_id"`
	Type    string `json:"type,omitempty"`
}

// WeightsInfoRequest is the body of POST /api/v1/weights_info.
type WeightsInfoRequest struct {
	TinkerPath string `json:"tinker_path"`
}

// WeightsInfoResponse describes a stored checkpoint.
type WeightsInfoResponse struct {
	BaseModel    string `json:"base_model"`
	IsLoRA       bool   `json:"is_lora"`
	LoRARank     *int   `json:"lora_rank,omitempty"`
	TrainUnembed *bool  `json:"train_unembed,omitempty"`
	TrainMLP     *bool  `json:"train_mlp,omitempty"`
	TrainAttn    *bool  `json:"train_attn,omitempty"`
}

// Validate returns a KindValidation error for an empty or white-space-only
// base model or an invalid LoRA config (see LoraConfig.Validate).
func (r CreateModelRequest) Validate() error {
	if strings.TrimSpace(r.BaseModel) == "" {
		return ValidationError("create_model", "base_model is empty")
	}
	return r.LoraConfig.Validate()
}
