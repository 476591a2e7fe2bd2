package types

// OptimStepResponse is the future result of optim_step.
type OptimStepResponse struct {
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// SaveWeightsResponse is the future result of save_weights:
// Path is "tinker://<model_id>/weights/<name>".
type SaveWeightsResponse struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"`
}

// SaveWeightsForSamplerResponse is the future result of
// save_weights_for_sampler. A named save has Path
// ("tinker://<model_id>/sampler_weights/<name>"); an unnamed save has
// SamplingSessionID.
type SaveWeightsForSamplerResponse struct {
	Path              string `json:"path,omitempty"`
	SamplingSessionID string `json:"sampling_session_id,omitempty"`
	Type              string `json:"type,omitempty"`
}

// LoadWeightsResponse is the future result of load_weights. ModelID is set
// by create-via-load.
type LoadWeightsResponse struct {
	Path    string `json:"path,omitempty"`
	ModelID string `json:"model_id,omitempty"`
	Type    string `json:"type,omitempty"`
}
