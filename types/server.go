package types

// HealthzResponse is the reply to GET /api/v1/healthz: {"status":"ok"}.
type HealthzResponse struct {
	Status string `json:"status"`
}

// SupportedModel is one entry of ServerCapabilities.
type SupportedModel struct {
	ModelName        string `json:"model_name,omitempty"`
	MaxContextLength *int   `json:"max_context_length,omitempty"`
}

// ServerCapabilities is the reply to GET /api/v1/get_server_capabilities.
type ServerCapabilities struct {
	SupportedModels []SupportedModel `json:"supported_models"`
}
