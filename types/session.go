package types

import (
	"encoding/json"
	"time"
)

// CreateSessionRequest is the body of POST /api/v1/create_session; set
// SDKVersion to ProtocolVersion. Tags and
// UserMetadata are always sent ([] and {} when nil); ProjectID is omitted
// when empty.
type CreateSessionRequest struct {
	Tags         []string       `json:"tags"`
	UserMetadata map[string]any `json:"user_metadata"`
	SDKVersion   string         `json:"sdk_version"`
	ProjectID    string         `json:"project_id,omitempty"`
}

// MarshalJSON adds "type":"create_session".
func (r CreateSessionRequest) MarshalJSON() ([]byte, error) {
	type wire CreateSessionRequest
	w := wire(r)
	w.Tags = nonNil(w.Tags)
	if w.UserMetadata == nil {
		w.UserMetadata = map[string]any{}
	}
	return marshalWithType(w, "create_session")
}

// CreateSessionResponse is the reply to create_session. The messages, when
// present, are for the user (info, warning and error level).
type CreateSessionResponse struct {
	SessionID      string `json:"session_id"`
	Type           string `json:"type,omitempty"`
	InfoMessage    string `json:"info_message,omitempty"`
	WarningMessage string `json:"warning_message,omitempty"`
	ErrorMessage   string `json:"error_message,omitempty"`
}

// Validate returns a KindValidation error when the required session_id is
// missing.
func (r CreateSessionResponse) Validate() error {
	if r.SessionID == "" {
		return ValidationError("create_session", "response has no session_id")
	}
	return nil
}

// SessionHeartbeatRequest is the body of POST /api/v1/session_heartbeat.
type SessionHeartbeatRequest struct {
	SessionID string `json:"session_id"`
}

// MarshalJSON adds "type":"session_heartbeat".
func (r SessionHeartbeatRequest) MarshalJSON() ([]byte, error) {
	type wire SessionHeartbeatRequest
	return marshalWithType(wire(r), "session_heartbeat")
}

// SessionHeartbeatResponse is the reply to session_heartbeat:
// {"type":"session_heartbeat"}.
type SessionHeartbeatResponse struct {
	Type string `json:"type,omitempty"`
}

// ClientConfigRequest is the body of POST /api/v1/client/config; SDKVersion
// is ProtocolVersion.
type ClientConfigRequest struct {
	SDKVersion string `json:"sdk_version"`
}

// DynamicConfigRequest is the body of POST /api/v1/client/dynamic_config;
// SDKVersion is ProtocolVersion.
type DynamicConfigRequest struct {
	SDKVersion string `json:"sdk_version"`
}

// AuthTokenRequest is the (empty) body of POST /api/v1/auth/token: {}.
type AuthTokenRequest struct{}

// AuthTokenResponse is the reply to auth/token.
type AuthTokenResponse struct {
	JWT string `json:"jwt"`
}

// ClientConfigResponse is the server-driven client configuration. Every field
// is optional on the wire; decoding applies DefaultClientConfig for absent
// fields and ignores unknown ones.
type ClientConfigResponse struct {
	PJWTAuthEnabled                     bool   `json:"pjwt_auth_enabled"`
	CredentialDefaultSource             string `json:"credential_default_source"`
	SampleDispatchBytesSemaphoreSize    int64  `json:"sample_dispatch_bytes_semaphore_size"`
	InflightResponseBytesSemaphoreSize  int64  `json:"inflight_response_bytes_semaphore_size"`
	ParallelFwdBwdChunks                bool   `json:"parallel_fwdbwd_chunks"`
	ProtoCompressFwdBwd                 bool   `json:"proto_compress_fwdbwd"`
	FwdBwdMaxChunkLen                   int    `json:"fwdbwd_max_chunk_len"`
	FwdBwdMaxChunkBytesCount            int    `json:"fwdbwd_max_chunk_bytes_count"`
	FwdBwdDispatchBytesSemaphoreSize    int64  `json:"fwdbwd_dispatch_bytes_semaphore_size"`
	BillingExceptionMaxPauseDurationSec int64  `json:"billing_exception_max_pause_duration_sec"`
	SampleNoRetries                     bool   `json:"sample_no_retries"`
	SampleEnableStuckDetection          bool   `json:"sample_enable_stuck_detection"`
	SampleMaxConcurrentRequests         int    `json:"sample_max_concurrent_requests"`
	UsePyqwestTransport                 bool   `json:"use_pyqwest_transport"`
	CreateModelViaLoadWeights           bool   `json:"create_model_via_load_weights"`
}

// Credential sources named by ClientConfigResponse.CredentialDefaultSource.
const (
	CredentialSourceAPIKey        = "api_key"
	CredentialSourceCredentialCmd = "credential_cmd"
)

// DefaultClientConfig returns the values the SDK uses for fields the server
// does not send (reference §6.2).
func DefaultClientConfig() ClientConfigResponse {
	return ClientConfigResponse{
		CredentialDefaultSource:             CredentialSourceAPIKey,
		SampleDispatchBytesSemaphoreSize:    10 * 1024 * 1024,
		InflightResponseBytesSemaphoreSize:  50 * 1024 * 1024,
		ParallelFwdBwdChunks:                true,
		FwdBwdMaxChunkLen:                   1024,
		FwdBwdMaxChunkBytesCount:            5_000_000,
		FwdBwdDispatchBytesSemaphoreSize:    50_000_000,
		BillingExceptionMaxPauseDurationSec: 3600,
		SampleEnableStuckDetection:          true,
		SampleMaxConcurrentRequests:         2000,
		UsePyqwestTransport:                 true,
	}
}

// UnmarshalJSON starts from DefaultClientConfig, so absent fields (and
// explicit nulls) keep their defaults.
func (c *ClientConfigResponse) UnmarshalJSON(b []byte) error {
	type wire ClientConfigResponse
	w := wire(DefaultClientConfig())
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = ClientConfigResponse(w)
	return nil
}

// BillingPauseWindow is BillingExceptionMaxPauseDurationSec as a duration.
func (c ClientConfigResponse) BillingPauseWindow() time.Duration {
	return time.Duration(c.BillingExceptionMaxPauseDurationSec) * time.Second
}

// DefaultRefreshIntervalSec is the dynamic-config refresh interval used when
// the server sends none (or answers 404).
const DefaultRefreshIntervalSec = 300

// MinRefreshInterval is the shortest dynamic-config refresh interval honoured.
const MinRefreshInterval = 10 * time.Second

// DynamicConfigResponse is the reply to client/dynamic_config.
type DynamicConfigResponse struct {
	RefreshIntervalSec int `json:"refresh_interval_sec"`
}

// DefaultDynamicConfig returns the config used when the endpoint is missing.
func DefaultDynamicConfig() DynamicConfigResponse {
	return DynamicConfigResponse{RefreshIntervalSec: DefaultRefreshIntervalSec}
}

// UnmarshalJSON applies DefaultDynamicConfig for absent fields.
func (c *DynamicConfigResponse) UnmarshalJSON(b []byte) error {
	type wire DynamicConfigResponse
	w := wire(DefaultDynamicConfig())
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = DynamicConfigResponse(w)
	return nil
}

// RefreshInterval is the time between refreshes: RefreshIntervalSec seconds,
// but never less than MinRefreshInterval.
func (c DynamicConfigResponse) RefreshInterval() time.Duration {
	d := time.Duration(c.RefreshIntervalSec) * time.Second
	if d < MinRefreshInterval {
		return MinRefreshInterval
	}
	return d
}
